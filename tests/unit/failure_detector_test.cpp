// The GCS's failure detector: phi accrual, suspicion and its grace, the
// node that never suspects itself, and the stall rule.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "gcs/failure_detector.hpp"

using namespace std::chrono_literals;
using lumen::detail::failure_detector;
using lumen::detail::failure_detector_config;
using lumen::detail::phi_of;

namespace {

using clock_type = failure_detector::clock;

failure_detector_config config() {
  failure_detector_config cfg;
  cfg.heartbeat_interval = 500ms;
  cfg.phi_threshold = 8;
  cfg.min_deviation = 100ms;
  cfg.acceptable_pause = 1000ms;
  cfg.grace = 2000ms;
  cfg.stall_gap = 1500ms;
  return cfg;
}

/// Ticks every 100 ms from `from` to `to` (exclusive), with `id` beating
/// every 500 ms if `beats`; returns the nodes declared dead on the way and
/// when the first was.
struct run_result {
  std::vector<std::string> dead;
  clock_type::time_point first{};
};

run_result run(failure_detector& d, clock_type::time_point from,
               clock_type::time_point to,
               const std::vector<std::string>& beat) {
  run_result out;
  int step = 0;
  for (auto t = from; t < to; t += 100ms, ++step) {
    if (step % 5 == 0)
      for (auto& id : beat)
        d.heartbeat(id, t);
    for (auto& id : d.tick(t).dead) {
      if (out.dead.empty())
        out.first = t;
      out.dead.push_back(id);
      d.forget(id);
    }
  }
  return out;
}

} // namespace

TEST_CASE("failure detector: phi follows the normal distribution's tail",
          "[gcs][failure]") {
  // At the mean, half the heartbeats are later: phi = -log10(0.5).
  CHECK(phi_of(1000, 1000, 100) == Approx(std::log10(2.0)).margin(1e-9));
  // One deviation above the mean: P(later) ~ 0.1587, phi ~ 0.80.
  CHECK(phi_of(1100, 1000, 100) == Approx(0.80).margin(0.01));
  // Two: ~0.0228, phi ~ 1.64; three: ~0.00135, phi ~ 2.87 (the logistic
  // approximation is within 0.05 of it).
  CHECK(phi_of(1200, 1000, 100) == Approx(1.64).margin(0.02));
  CHECK(phi_of(1300, 1000, 100) == Approx(2.87).margin(0.05));
  // Far below the mean it is ~0, and it only grows with the silence.
  CHECK(phi_of(0, 1000, 100) < 1e-6);
  double last = -1;
  for (double t = 0; t <= 2000; t += 50) {
    auto p = phi_of(t, 1000, 100);
    CHECK(p >= last);
    last = p;
  }
  // A wider distribution suspects later.
  CHECK(phi_of(1500, 1000, 300) < phi_of(1500, 1000, 100));
}

TEST_CASE("failure detector: a node that beats stays alive, one that stops "
          "is suspected, then dead after the grace",
          "[gcs][failure]") {
  failure_detector d{config()};
  auto t0 = clock_type::time_point{} + 1h;
  d.watch("a", t0);
  d.watch("b", t0);
  // Both beat for 10 s: nobody is suspected.
  auto r = run(d, t0, t0 + 10s, {"a", "b"});
  CHECK(r.dead.empty());
  CHECK_FALSE(d.suspected("a"));
  auto t1 = t0 + 10s;
  // b stops (its last beat was at t1 - 500 ms).
  bool suspected = false;
  clock_type::time_point suspected_at{};
  std::vector<std::string> dead;
  clock_type::time_point dead_at{};
  int step = 0;
  for (auto t = t1; t < t1 + 20s && dead.empty(); t += 100ms, ++step) {
    if (step % 5 == 0)
      d.heartbeat("a", t);
    auto v = d.tick(t);
    for (auto& id : v.suspected) {
      CHECK(id == "b");
      suspected = true;
      suspected_at = t;
    }
    if (!v.dead.empty()) {
      dead = v.dead;
      dead_at = t;
    }
  }
  REQUIRE(suspected);
  CHECK(dead == std::vector<std::string>{"b"});
  // Suspected after the mean (500 ms) + the pause (1 s) and a few
  // deviations of its steady history (floored at 100 ms)...
  auto silent = suspected_at - (t1 - 500ms);
  CHECK(silent > 1500ms);
  CHECK(silent < 3000ms);
  // ... and dead one grace later.
  CHECK(dead_at - suspected_at >= 2000ms);
  CHECK(dead_at - suspected_at < 2200ms);
  CHECK_FALSE(d.suspected("a"));
}

TEST_CASE("failure detector: a heartbeat takes a suspicion back",
          "[gcs][failure]") {
  failure_detector d{config()};
  auto t0 = clock_type::time_point{} + 1h;
  d.watch("a", t0);
  run(d, t0, t0 + 5s, {"a"});
  auto t = t0 + 5s;
  // Silent until suspected, but not for the grace.
  bool suspected = false;
  for (; !suspected; t += 100ms) {
    auto v = d.tick(t);
    CHECK(v.dead.empty());
    suspected = !v.suspected.empty();
  }
  CHECK(d.suspected("a"));
  d.heartbeat("a", t);
  CHECK_FALSE(d.suspected("a"));
  CHECK(run(d, t, t + 10s, {"a"}).dead.empty());
}

TEST_CASE("failure detector: a lost connection is a suspicion with the "
          "connection grace",
          "[gcs][failure]") {
  auto cfg = config();
  cfg.connection_grace = 2000ms;
  failure_detector d{cfg};
  auto t0 = clock_type::time_point{} + 1h;
  d.watch("a", t0);
  d.watch("b", t0);
  run(d, t0, t0 + 3s, {"a", "b"});
  auto t1 = t0 + 3s;
  CHECK_FALSE(d.connection_lost("a", t1));
  CHECK_FALSE(d.connection_lost("b", t1));
  CHECK(d.suspected("a"));
  CHECK(d.suspected("b"));
  CHECK(run(d, t1, t1 + 1s, {}).dead.empty());
  // a registers again (a fresh history) within the grace; b does not.
  d.watch("a", t1 + 1s);
  CHECK_FALSE(d.suspected("a"));
  auto r = run(d, t1 + 1s, t1 + 6s, {"a"});
  CHECK(r.dead == std::vector<std::string>{"b"});
  CHECK(r.first - t1 >= 2000ms);
  CHECK(r.first - t1 < 2200ms);
}

TEST_CASE("failure detector: the node it runs on is never suspected",
          "[gcs][failure]") {
  failure_detector d{config()};
  auto t0 = clock_type::time_point{} + 1h;
  d.watch("me", t0, true);
  d.connection_lost("me", t0 + 100ms);
  CHECK_FALSE(d.suspected("me"));
  // Never a heartbeat, ticking steadily for a minute.
  CHECK(run(d, t0, t0 + 60s, {}).dead.empty());
  CHECK(d.phi("me", t0 + 60s) == 0);
}

TEST_CASE("failure detector: after a stall of its own process it measures "
          "afresh and declares nobody dead within the grace",
          "[gcs][failure]") {
  for (auto stall : {6s, 15s, 60s}) {
    failure_detector d{config()};
    auto t0 = clock_type::time_point{} + 1h;
    d.watch("me", t0, true);
    d.watch("a", t0);
    d.watch("b", t0);
    run(d, t0, t0 + 5s, {"me", "a", "b"});
    // The process stops: no tick, no heartbeat, for `stall`.
    auto resumed = t0 + 5s + stall;
    auto v = d.tick(resumed);
    CHECK(v.dead.empty());
    CHECK(v.suspected.empty());
    auto gap = d.take_stall();
    REQUIRE(gap.has_value());
    CHECK(*gap >= stall);
    CHECK_FALSE(d.take_stall().has_value());
    // Both connections turn out to have dropped meanwhile; a re-registers
    // a second later, b is really gone.
    d.connection_lost("a", resumed + 100ms);
    d.connection_lost("b", resumed + 100ms);
    CHECK(run(d, resumed + 200ms, resumed + 1s, {}).dead.empty());
    d.watch("a", resumed + 1s);
    auto r = run(d, resumed + 1s, resumed + 20s, {"a"});
    CHECK(r.dead == std::vector<std::string>{"b"});
    CHECK(r.first - resumed >= 2000ms);
    CHECK(r.first - resumed < 2300ms);
  }
}

TEST_CASE("failure detector: a stall of its process clears suspicions it "
          "had before",
          "[gcs][failure]") {
  failure_detector d{config()};
  auto t0 = clock_type::time_point{} + 1h;
  d.watch("a", t0);
  run(d, t0, t0 + 3s, {"a"});
  auto t = t0 + 3s;
  while (!d.suspected("a")) {
    d.tick(t);
    t += 100ms;
  }
  // Stopped for 8 s just after suspecting a: a is not dead on resume, and
  // its heartbeats, flushed from the socket at once, keep it alive.
  auto resumed = t + 8s;
  CHECK(d.tick(resumed).dead.empty());
  CHECK(d.may_declare(resumed) == false);
  CHECK_FALSE(d.suspected("a"));
  for (int i = 0; i < 16; ++i)
    d.heartbeat("a", resumed + std::chrono::milliseconds{i});
  CHECK(run(d, resumed, resumed + 20s, {"a"}).dead.empty());
  CHECK(d.may_declare(resumed + 3s));
}

TEST_CASE("failure detector: irregular heartbeats widen the tolerance",
          "[gcs][failure]") {
  auto cfg = config();
  cfg.acceptable_pause = 0ms;
  failure_detector steady{cfg};
  failure_detector jittery{cfg};
  auto t0 = clock_type::time_point{} + 1h;
  steady.watch("a", t0);
  jittery.watch("a", t0);
  // Every 500 ms, or alternately after 100 and 900 ms: the same mean.
  auto t = t0;
  auto u = t0;
  for (int i = 0; i < 100; ++i) {
    t += 500ms;
    u += i % 2 == 0 ? 100ms : 900ms;
    steady.heartbeat("a", t);
    jittery.heartbeat("a", u);
  }
  REQUIRE(t == u);
  auto later = t + 1200ms;
  CHECK(steady.phi("a", later) > jittery.phi("a", later));
  CHECK(steady.phi("a", later) >= 8);
  CHECK(jittery.phi("a", later) < 8);
}

TEST_CASE("failure detector: without a connection grace a lost connection "
          "is death at once, except within the grace after a stall",
          "[gcs][failure]") {
  auto cfg = config();
  cfg.connection_grace = 0ms;
  failure_detector d{cfg};
  auto t0 = clock_type::time_point{} + 1h;
  d.watch("a", t0);
  d.watch("b", t0);
  run(d, t0, t0 + 3s, {"a", "b"});
  CHECK(d.connection_lost("a", t0 + 3s));
  d.forget("a");
  // After a stall the same is a suspicion, dead once the grace is over
  // unless it registers again.
  auto resumed = t0 + 3s + 10s;
  CHECK_FALSE(d.connection_lost("b", resumed));
  CHECK(d.suspected("b"));
  auto r = run(d, resumed, resumed + 5s, {});
  CHECK(r.dead == std::vector<std::string>{"b"});
  CHECK(r.first - resumed >= 2000ms);
  CHECK(r.first - resumed < 2200ms);
}

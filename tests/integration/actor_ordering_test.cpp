// Integration tests: the order and concurrency of actor calls (issue 3,
// point 7): one caller's calls run in submission order, several callers
// each keep their own order, max_concurrency(n) runs up to n calls at once
// and 1 runs them one at a time.

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "lumen/lumen.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using lumen_it::patience;

namespace {

/// Callers meeting inside ao_Par::meet.
std::atomic<int> ao_latch{0};
/// Calls inside ao_Par's methods.
lumen_it::occupancy ao_inside;
lumen_it::gate ao_gate;

/// Hands out sequence numbers and checks each caller's order.
struct ao_Seq {
  static ao_Seq* create() {
    return new ao_Seq;
  }

  int next() {
    return ++n;
  }

  /// Records call `seq` of `caller`; counts calls out of that caller's
  /// order. Returns the global sequence number.
  int record(int caller, int seq) {
    auto& last = last_seen[caller];
    if (seq != last + 1)
      ++out_of_order;
    last = seq;
    return ++n;
  }

  int disorder() const {
    return out_of_order;
  }

  /// Like next, but with an argument that may arrive late.
  int next_with(int x) {
    return ++n + x * 0;
  }

  int n = 0;
  int out_of_order = 0;
  std::map<int, int> last_seen;
};

/// Calls that wait for each other, or that are counted while inside.
struct ao_Par {
  static ao_Par* create() {
    return new ao_Par;
  }

  /// Enters, then waits until three calls have entered (or `wait_ms`).
  bool meet(int wait_ms) {
    ++ao_latch;
    return lumen_it::eventually(
      [] {
        return ao_latch.load() >= 3;
      },
      std::chrono::milliseconds(wait_ms));
  }

  /// Stays inside for a moment, counted by ao_inside.
  int stay(int i) {
    ao_inside.enter();
    std::this_thread::sleep_for(2ms);
    ao_inside.leave();
    return i;
  }

  /// Stays inside until the gate opens.
  int stay_gated(int i) {
    ao_inside.enter();
    ao_gate.wait();
    ao_inside.leave();
    return i;
  }
};

int ao_gated_value(int x) {
  ao_gate.wait();
  return x;
}

/// Runs `body(t)` on `n` threads and joins them; counts failures (Catch2
/// v2 assertions are not thread-safe).
template <class Body>
int run_threads(int n, Body body) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t)
    threads.emplace_back([&, t] {
      try {
        if (!body(t))
          ++failures;
      } catch (...) {
        ++failures;
      }
    });
  for (auto& th : threads)
    th.join();
  return failures.load();
}

} // namespace

LUMEN_REMOTE(ao_Seq::create, &ao_Seq::next, &ao_Seq::record, &ao_Seq::disorder,
             &ao_Seq::next_with);
LUMEN_REMOTE(ao_Par::create, &ao_Par::meet, &ao_Par::stay, &ao_Par::stay_gated);
LUMEN_REMOTE(ao_gated_value);

TEST_CASE("actor ordering: 1000 calls from one caller run in submission "
          "order",
          "[actors][ordering]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto s = lumen::actor(ao_Seq::create).remote();
  std::vector<lumen::object_ref<int>> refs;
  for (int i = 0; i < 1000; ++i)
    refs.push_back(s.task(&ao_Seq::next).remote());
  auto values = lumen::get(refs, patience);
  std::vector<int> expected(1000);
  for (int i = 0; i < 1000; ++i)
    expected[static_cast<std::size_t>(i)] = i + 1;
  CHECK(std::is_sorted(values.begin(), values.end()));
  CHECK(values == expected);
}

TEST_CASE("actor ordering: a call waiting for its argument holds back later "
          "calls of the same caller",
          "[actors][ordering]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  ao_gate.close();
  auto s = lumen::actor(ao_Seq::create).remote();
  REQUIRE(lumen::get(s.task(&ao_Seq::next).remote(), patience) == 1);
  auto late = lumen::task(ao_gated_value).remote(0);
  auto first = s.task(&ao_Seq::next_with).remote(late);
  std::vector<lumen::object_ref<int>> after;
  for (int i = 0; i < 5; ++i)
    after.push_back(s.task(&ao_Seq::next).remote());
  // Nothing behind the waiting call runs before it.
  CHECK_THROWS_AS(lumen::get(after.front(), 200ms), lumen::timeout_error);
  ao_gate.open();
  CHECK(lumen::get(first, patience) == 2);
  CHECK(lumen::get(after, patience) == std::vector<int>{3, 4, 5, 6, 7});
}

TEST_CASE("actor ordering: calls from four threads each run in their "
          "thread's order",
          "[actors][ordering][concurrency]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto s = lumen::actor(ao_Seq::create).remote();
  constexpr int per_thread = 250;
  std::vector<std::vector<int>> seen(4);
  auto failures = run_threads(4, [&](int t) {
    std::vector<lumen::object_ref<int>> refs;
    for (int i = 1; i <= per_thread; ++i)
      refs.push_back(s.task(&ao_Seq::record).remote(t, i));
    seen[static_cast<std::size_t>(t)] = lumen::get(refs, patience);
    return true;
  });
  REQUIRE(failures == 0);
  // Each thread's calls got increasing global sequence numbers...
  std::vector<int> all;
  for (auto& v : seen) {
    CHECK(v.size() == per_thread);
    CHECK(std::is_sorted(v.begin(), v.end()));
    all.insert(all.end(), v.begin(), v.end());
  }
  // ...and every call ran exactly once.
  std::sort(all.begin(), all.end());
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
  CHECK(all.size() == 4 * per_thread);
  CHECK(all.back() == 4 * per_thread);
  // The actor saw each caller's calls in that caller's order.
  CHECK(lumen::get(s.task(&ao_Seq::disorder).remote(), patience) == 0);
}

TEST_CASE("actor ordering: with max_concurrency(3) three calls that wait for "
          "each other all complete",
          "[actors][concurrency]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  ao_latch = 0;
  auto p = lumen::actor(ao_Par::create).max_concurrency(3).remote();
  std::vector<lumen::object_ref<bool>> refs;
  for (int i = 0; i < 3; ++i)
    refs.push_back(p.task(&ao_Par::meet).remote(30000));
  auto met = lumen::get(refs, patience + 5s);
  CHECK(met == std::vector<bool>{true, true, true});
  CHECK(ao_latch == 3);
}

TEST_CASE("actor ordering: max_concurrency(3) runs at most three calls at "
          "once",
          "[actors][concurrency]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  ao_inside.reset();
  ao_gate.close();
  auto p = lumen::actor(ao_Par::create).max_concurrency(3).remote();
  std::vector<lumen::object_ref<int>> refs;
  for (int i = 0; i < 6; ++i)
    refs.push_back(p.task(&ao_Par::stay_gated).remote(i));
  REQUIRE(lumen_it::await_entered(ao_inside, 3));
  // A fourth does not enter while three are inside.
  CHECK_FALSE(lumen_it::await_entered(ao_inside, 4, 300ms));
  CHECK(ao_inside.current() == 3);
  ao_gate.open();
  auto values = lumen::get(refs, patience);
  std::sort(values.begin(), values.end());
  CHECK(values == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK(ao_inside.peak() == 3);
  CHECK(ao_inside.entered() == 6);
}

TEST_CASE("actor ordering: with max_concurrency 1 calls never overlap",
          "[actors][concurrency]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  ao_inside.reset();
  auto p = lumen::actor(ao_Par::create).remote(); // max_concurrency 1
  std::vector<lumen::object_ref<int>> refs;
  for (int i = 0; i < 20; ++i)
    refs.push_back(p.task(&ao_Par::stay).remote(i));
  auto values = lumen::get(refs, patience);
  std::vector<int> expected(20);
  for (int i = 0; i < 20; ++i)
    expected[static_cast<std::size_t>(i)] = i;
  CHECK(values == expected);
  CHECK(ao_inside.peak() == 1);
  CHECK(ao_inside.entered() == 20);
  // The latch of three cannot meet: each call waits alone, briefly.
  ao_latch = 0;
  std::vector<lumen::object_ref<bool>> meets;
  for (int i = 0; i < 3; ++i)
    meets.push_back(p.task(&ao_Par::meet).remote(100));
  CHECK(lumen::get(meets, patience) == std::vector<bool>{false, false, true});
}

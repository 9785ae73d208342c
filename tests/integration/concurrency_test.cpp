// Integration tests: many driver threads using one node at once (issue 2,
// "Thread safety" of the API: every function may be called from any
// thread).

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "lumen/lumen.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using lumen_it::patience;

namespace {

lumen_it::gate cc_gate;

int cc_mul(int a, int b) {
  return a * b;
}

int cc_gated(int x) {
  cc_gate.wait();
  return x;
}

int cc_id(int x) {
  return x;
}

int cc_sum4(int a, int b, int c, int d) {
  return a + b + c + d;
}

// Submits children from inside a task while other threads do the same.
int cc_fan_out(int n) {
  std::vector<lumen::object_ref<int>> kids;
  for (int i = 0; i < n; ++i)
    kids.push_back(lumen::task(cc_mul).remote(i, 2));
  int sum = 0;
  for (int v : lumen::get(kids, patience))
    sum += v;
  return sum;
}

/// Runs `body(t)` on `n` threads and joins them; counts failures instead
/// of asserting off the main thread (Catch2 v2 is not thread-safe).
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

LUMEN_REMOTE(cc_mul, cc_gated, cc_id, cc_sum4, cc_fan_out);

TEST_CASE("concurrency: threads put and get and submit at once",
          "[concurrency]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto baseline = lumen_it::object_count();
  auto failures = run_threads(8, [](int t) {
    for (int i = 0; i < 300; ++i) {
      auto v = lumen::put(std::to_string(t) + ":" + std::to_string(i));
      if (lumen::get(v, patience) !=
          std::to_string(t) + ":" + std::to_string(i))
        return false;
      auto n = lumen::put(i);
      auto r = lumen::task(cc_mul).remote(n, t + 1);
      if (lumen::get(r, patience) != i * (t + 1))
        return false;
    }
    std::vector<lumen::object_ref<int>> batch;
    for (int i = 0; i < 100; ++i)
      batch.push_back(lumen::task(cc_mul).remote(i, t));
    auto values = lumen::get(batch, patience);
    for (int i = 0; i < 100; ++i)
      if (values[static_cast<std::size_t>(i)] != i * t)
        return false;
    return true;
  });
  CHECK(failures == 0);
  REQUIRE(lumen_it::await_idle());
  CHECK(lumen_it::await_object_count(baseline) == baseline);
}

TEST_CASE("concurrency: refs made on one thread are used on others",
          "[concurrency]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto baseline = lumen_it::object_count();
  {
    std::vector<lumen::object_ref<int>> refs;
    for (int i = 0; i < 64; ++i)
      refs.push_back(i % 2 == 0 ? lumen::put(i)
                                : lumen::task(cc_mul).remote(i, 1));
    // Every thread copies, drops, reads and passes on every ref.
    auto failures = run_threads(8, [&refs](int t) {
      for (int round = 0; round < 200; ++round) {
        auto mine = refs; // copies: counted refs across threads
        auto k = static_cast<std::size_t>((round * 7 + t) % 64);
        if (lumen::get(mine[k], patience) != static_cast<int>(k))
          return false;
        auto doubled = lumen::task(cc_mul).remote(mine[k], 2);
        mine.clear();
        if (lumen::get(doubled, patience) != 2 * static_cast<int>(k))
          return false;
      }
      return true;
    });
    CHECK(failures == 0);
    CHECK(lumen::get(refs, patience).size() == 64);
  }
  REQUIRE(lumen_it::await_idle());
  CHECK(lumen_it::await_object_count(baseline) == baseline);
}

TEST_CASE("concurrency: many threads block on one pending object",
          "[concurrency]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  cc_gate.close();
  auto slow = lumen::task(cc_gated).remote(77);
  std::atomic<int> waiting{0};
  std::vector<std::thread> threads;
  std::vector<int> got(8, 0);
  std::vector<int> waited(8, 0);
  for (std::size_t t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      ++waiting;
      try {
        if (t % 2 == 0) {
          got[t] = lumen::get(slow, patience);
        } else {
          auto w =
            lumen::wait(std::vector<lumen::object_ref<int>>{slow}, 1, patience);
          waited[t] = static_cast<int>(w.ready.size());
          got[t] = lumen::get(slow, 0ms);
        }
      } catch (...) {
        got[t] = -1;
      }
    });
  REQUIRE(lumen_it::eventually([&] {
    return waiting == 8;
  }));
  std::this_thread::sleep_for(20ms);
  cc_gate.open();
  for (auto& th : threads)
    th.join();
  for (std::size_t t = 0; t < 8; ++t) {
    CHECK(got[t] == 77);
    if (t % 2 == 1)
      CHECK(waited[t] == 1);
  }
}

TEST_CASE("concurrency: nested fan-out from several driver threads",
          "[concurrency][nested]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto failures = run_threads(4, [](int t) {
    for (int round = 0; round < 5; ++round) {
      auto n = 10 + t + round;
      auto r = lumen::task(cc_fan_out).remote(n);
      if (lumen::get(r, patience) != n * (n - 1))
        return false;
    }
    return true;
  });
  CHECK(failures == 0);
  REQUIRE(lumen_it::await_idle());
  auto s = lumen_it::snapshot();
  CHECK(s.available == s.total);
}

// Regression test: the scheduler's submit handler (then node_manager's) used to
// count the missing arguments in one loop and register `when_ready` callbacks
// in a second, calling `try_get` afresh in each; an argument that became ready
// between the two loops was counted but never called back, and the task waited
// forever (in `waiting`, with all its arguments ready).
TEST_CASE("concurrency: tasks whose arguments finish while they are "
          "submitted",
          "[concurrency][scheduling]") {
  // Each consumer is submitted while its producers are finishing on the
  // worker threads, so the scheduler often finds an argument becoming
  // ready while it registers for the others. Every consumer must run.
  lumen::init_guard guard{lumen::config{.num_cpus = 4}};
  std::atomic<int> stuck{0};
  std::atomic<int> stuck_with_ready_args{0};
  auto failures = run_threads(2, [&](int t) {
    for (int i = 0; i < 3000; ++i) {
      auto a = lumen::task(cc_id).remote(i);
      auto b = lumen::task(cc_id).remote(t);
      auto c = lumen::task(cc_id).remote(1);
      auto d = lumen::task(cc_id).remote(2);
      auto sum = lumen::task(cc_sum4).remote(a, b, c, d);
      try {
        if (lumen::get(sum, 10s) != i + t + 3)
          return false;
      } catch (const lumen::timeout_error&) {
        ++stuck;
        auto w =
          lumen::wait(std::vector<lumen::object_ref<int>>{a, b, c, d}, 4, 0ms);
        if (w.ready.size() == 4)
          ++stuck_with_ready_args;
        return false;
      }
    }
    return true;
  });
  INFO("consumers that never ran: " << stuck.load() << ", of which with all "
                                    << "arguments ready: "
                                    << stuck_with_ready_args.load());
  CHECK(stuck == 0);
  CHECK(failures == 0);
}

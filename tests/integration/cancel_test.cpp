// lumen::cancel on one node: queued, pipelined, running, forced, recursive
// and finished tasks, and actor calls (docs/cancel.md).
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "lumen/cancel.hpp"
#include "lumen/lumen.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using lumen_it::eventually;
using lumen_it::patience;

namespace {

lumen_it::gate cx_gate;
std::atomic<int> cx_runs{0};
std::atomic<int> cx_saw_cancel{0};
std::atomic<int> cx_started{0};

/// Waits for the gate (bounded); ignores cancels.
int cx_block(int x) {
  ++cx_started;
  cx_gate.wait();
  return x;
}

/// Counts its runs.
int cx_count(int x) {
  ++cx_runs;
  return x;
}

/// Loops until cancelled (or the gate opens, or patience runs out).
int cx_spin(int x) {
  ++cx_started;
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (!lumen::cancelled() && !cx_gate.is_open() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  if (lumen::cancelled())
    ++cx_saw_cancel;
  return x;
}

/// Submits `n` spinning children, then spins itself.
int cx_parent(int n) {
  std::vector<lumen::object_ref<int>> kids;
  for (int i = 0; i < n; ++i)
    kids.push_back(lumen::task(cx_spin).num_cpus(0).remote(i));
  return cx_spin(-1);
}

struct CxActor {
  static CxActor* create() {
    return new CxActor;
  }

  int spin(int x) {
    return cx_spin(x);
  }

  int add(int x) {
    total += x;
    return total;
  }

  int total = 0;
};

void reset() {
  cx_gate.close();
  cx_runs = 0;
  cx_saw_cancel = 0;
  cx_started = 0;
}

} // namespace

LUMEN_REMOTE(cx_block, cx_count, cx_spin, cx_parent);
LUMEN_REMOTE(CxActor::create, &CxActor::spin, &CxActor::add);

TEST_CASE("cancel: a queued task is removed and its ref fails at once",
          "[cancel]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 1}};
  reset();
  auto blocker = lumen::task(cx_block).remote(1);
  REQUIRE(eventually([] {
    return cx_started.load() == 1;
  }));
  auto queued = lumen::task(cx_count).remote(2);
  lumen::cancel(queued);
  auto t0 = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(lumen::get(queued, patience), lumen::task_cancelled_error);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s); // not after the blocker
  cx_gate.open();
  CHECK(lumen::get(blocker, patience) == 1);
  CHECK(lumen_it::await_idle());
  CHECK(cx_runs == 0);
}

TEST_CASE("cancel: 10,000 queued tasks all fail and none runs", "[cancel]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 1}};
  reset();
  auto blocker = lumen::task(cx_block).remote(1);
  REQUIRE(eventually([] {
    return cx_started.load() == 1;
  }));
  std::vector<lumen::object_ref<int>> refs;
  for (int i = 0; i < 10'000; ++i)
    refs.push_back(lumen::task(cx_count).remote(i));
  for (auto& r : refs)
    lumen::cancel(r);
  int cancelled = 0;
  for (auto& r : refs) {
    try {
      lumen::get(r, patience);
    } catch (const lumen::task_cancelled_error&) {
      ++cancelled;
    }
  }
  CHECK(cancelled == 10'000);
  cx_gate.open();
  CHECK(lumen::get(blocker, patience) == 1);
  CHECK(lumen_it::await_idle());
  CHECK(cx_runs == 0);
  auto s = lumen_it::snapshot();
  CHECK(s.available == s.total);
}

TEST_CASE("cancel: a running task sees cancelled() and its ref fails",
          "[cancel]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  reset();
  auto r = lumen::task(cx_spin).remote(7);
  REQUIRE(eventually([] {
    return cx_started.load() == 1;
  }));
  lumen::cancel(r);
  CHECK_THROWS_AS(lumen::get(r, patience), lumen::task_cancelled_error);
  CHECK(cx_saw_cancel == 1);
  CHECK(lumen_it::await_idle());
  auto s = lumen_it::snapshot();
  CHECK(s.available == s.total);
  // The node runs tasks as before.
  CHECK(lumen::get(lumen::task(cx_count).remote(3), patience) == 3);
}

TEST_CASE("cancel: force fails the ref at once and drops the late result",
          "[cancel]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  reset();
  auto r = lumen::task(cx_block).remote(5);
  REQUIRE(eventually([] {
    return cx_started.load() == 1;
  }));
  lumen::cancel(r, {.force = true});
  CHECK_THROWS_AS(lumen::get(r, 5s), lumen::task_cancelled_error);
  // Still running: the user thread is not killed, its CPU stays taken.
  CHECK(lumen_it::snapshot().running == 1);
  cx_gate.open();
  CHECK(lumen_it::await_idle());
  CHECK_THROWS_AS(lumen::get(r, patience), lumen::task_cancelled_error);
}

TEST_CASE("cancel: recursive cancels the tasks it submitted", "[cancel]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  reset();
  auto r = lumen::task(cx_parent).num_cpus(0).remote(3);
  REQUIRE(eventually([] {
    return cx_started.load() == 4;
  }));
  lumen::cancel(r);
  CHECK_THROWS_AS(lumen::get(r, patience), lumen::task_cancelled_error);
  CHECK(eventually([] {
    return cx_saw_cancel.load() == 4;
  }));
  CHECK(lumen_it::await_idle());
}

TEST_CASE("cancel: without recursive the children go on", "[cancel]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  reset();
  auto r = lumen::task(cx_parent).num_cpus(0).remote(2);
  REQUIRE(eventually([] {
    return cx_started.load() == 3;
  }));
  lumen::cancel(r, {.recursive = false});
  CHECK_THROWS_AS(lumen::get(r, patience), lumen::task_cancelled_error);
  CHECK(cx_saw_cancel == 1);
  std::this_thread::sleep_for(200ms);
  CHECK(cx_saw_cancel == 1); // the children still run
  cx_gate.open();
  CHECK(lumen_it::await_idle());
  CHECK(cx_saw_cancel == 1);
}

TEST_CASE("cancel: cancelling a finished task changes nothing", "[cancel]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 1}};
  reset();
  auto r = lumen::task(cx_count).remote(9);
  CHECK(lumen::get(r, patience) == 9);
  lumen::cancel(r);
  lumen::cancel(r, {.force = true});
  CHECK(lumen::get(r, patience) == 9);
  CHECK_THROWS_AS(lumen::cancel(lumen::object_ref<int>{}), lumen::error);
}

TEST_CASE("cancel: actor calls, queued dropped and running flagged",
          "[cancel]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  reset();
  auto a = lumen::actor(CxActor::create).remote();
  auto running = a.task(&CxActor::spin).remote(1);
  auto queued = a.task(&CxActor::add).remote(10);
  REQUIRE(eventually([] {
    return cx_started.load() == 1;
  }));
  lumen::cancel(queued);
  CHECK_THROWS_AS(lumen::get(queued, patience), lumen::task_cancelled_error);
  lumen::cancel(running);
  CHECK_THROWS_AS(lumen::get(running, patience), lumen::task_cancelled_error);
  CHECK(cx_saw_cancel == 1);
  // The dropped call never ran; the actor takes calls as before.
  CHECK(lumen::get(a.task(&CxActor::add).remote(5), patience) == 5);
}

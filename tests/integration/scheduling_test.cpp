// Integration tests: resources, queueing, fractional amounts, and nested
// tasks that block in get (issue 2, "Runtime").
//
// Tasks count themselves in an `occupancy` while they hold their resources.
// Where a test needs several tasks at once it makes them wait for each other
// (with a deadline), so the test checks what the scheduler allows, not how
// fast it is.

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

lumen_it::occupancy sc_busy;
lumen_it::occupancy sc_slot_busy;
lumen_it::gate sc_gate;
std::atomic<int> sc_quorum{0};

// Enters sc_busy, waits until `quorum` tasks are inside (or 10 s pass),
// stays a little longer, leaves. Returns whether it saw the quorum.
bool sc_hold(int quorum) {
  sc_busy.enter();
  bool met = lumen_it::eventually(
    [quorum] {
      return sc_busy.entered() >= quorum;
    },
    10s);
  std::this_thread::sleep_for(20ms);
  sc_busy.leave();
  return met;
}

// Holds the "slot" resource until sc_gate opens.
int sc_slot_gated(int x) {
  sc_slot_busy.enter();
  sc_gate.wait();
  sc_slot_busy.leave();
  return x;
}

int sc_slot_quick(int x) {
  sc_slot_busy.enter();
  std::this_thread::sleep_for(5ms);
  sc_slot_busy.leave();
  return x;
}

int sc_plain(int x) {
  return x * 3;
}

long sc_fib(int n) {
  if (n < 2)
    return n;
  auto a = lumen::task(sc_fib).remote(n - 1);
  auto b = lumen::task(sc_fib).remote(n - 2);
  return lumen::get(a, std::chrono::seconds(120)) +
         lumen::get(b, std::chrono::seconds(120));
}

int sc_child(int x) {
  return x + 100;
}

// Blocks in get while its child needs the only CPU.
int sc_parent_get(int x) {
  return lumen::get(lumen::task(sc_child).remote(x), patience) + 1;
}

int sc_parent_wait(int x) {
  std::vector<lumen::object_ref<int>> kids{lumen::task(sc_child).remote(x),
                                           lumen::task(sc_child).remote(x)};
  auto w = lumen::wait(kids, 2, patience);
  if (w.ready.size() != 2)
    return -1;
  auto values = lumen::get(kids, patience);
  return values[0] + values[1];
}

int sc_grandparent(int x) {
  return lumen::get(lumen::task(sc_parent_get).remote(x), patience) + 1000;
}

} // namespace

LUMEN_REMOTE(sc_hold, sc_slot_gated, sc_slot_quick, sc_plain, sc_fib, sc_child,
             sc_parent_get, sc_parent_wait, sc_grandparent);

TEST_CASE("scheduling: tasks never exceed the node's CPUs and all complete",
          "[scheduling]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  sc_busy.reset();
  std::vector<lumen::object_ref<bool>> refs;
  for (int i = 0; i < 12; ++i)
    refs.push_back(lumen::task(sc_hold).remote(2));
  // While the first two hold both CPUs, the rest queue.
  REQUIRE(lumen_it::await_entered(sc_busy, 1));
  auto values = lumen::get(refs, patience);
  for (bool met : values)
    CHECK(met); // two did run side by side
  CHECK(sc_busy.peak() == 2);
  CHECK(sc_busy.entered() == 12);
  REQUIRE(lumen_it::await_idle());
  auto s = lumen_it::snapshot();
  CHECK(s.available == s.total);
}

TEST_CASE("scheduling: queued tasks wait for resources and not for threads",
          "[scheduling]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 1}};
  sc_slot_busy.reset();
  sc_gate.close();
  auto first = lumen::task(sc_slot_gated).remote(1);
  std::vector<lumen::object_ref<int>> rest;
  for (int i = 0; i < 5; ++i)
    rest.push_back(lumen::task(sc_plain).remote(i));
  REQUIRE(lumen_it::await_entered(sc_slot_busy, 1));
  // The one CPU is taken: the others are queued, none has run.
  REQUIRE(lumen_it::eventually([] {
    auto s = lumen_it::snapshot();
    return s.queued == 5 && s.running == 1;
  }));
  // Zero is zero: the key is there, at 0.
  CHECK(lumen_it::snapshot().available.at("CPU") == 0);
  auto w = lumen::wait(rest, 1, 30ms);
  CHECK(w.ready.empty());
  sc_gate.open();
  CHECK(lumen::get(first, patience) == 1);
  CHECK(lumen::get(rest, patience) == std::vector<int>{0, 3, 6, 9, 12});
}

TEST_CASE("scheduling: a custom resource serializes its tasks while others "
          "proceed",
          "[scheduling]") {
  lumen::init_guard guard{
    lumen::config{.num_cpus = 4, .resources = {{"slot", 1}}}};
  sc_slot_busy.reset();
  sc_gate.close();
  auto holder = lumen::task(sc_slot_gated).resources({{"slot", 1}}).remote(0);
  std::vector<lumen::object_ref<int>> slot_tasks;
  for (int i = 1; i <= 4; ++i)
    slot_tasks.push_back(
      lumen::task(sc_slot_quick).resources({{"slot", 1}}).remote(i));
  REQUIRE(lumen_it::await_entered(sc_slot_busy, 1));
  // Tasks that need no slot run while the slot is held.
  std::vector<lumen::object_ref<int>> others;
  for (int i = 0; i < 8; ++i)
    others.push_back(lumen::task(sc_plain).remote(i));
  auto values = lumen::get(others, patience);
  for (int i = 0; i < 8; ++i)
    CHECK(values[static_cast<std::size_t>(i)] == 3 * i);
  // The slot tasks are still queued behind the holder.
  CHECK(sc_slot_busy.entered() == 1);
  CHECK(lumen_it::snapshot().queued == 4);
  sc_gate.open();
  CHECK(lumen::get(holder, patience) == 0);
  CHECK(lumen::get(slot_tasks, patience) == std::vector<int>{1, 2, 3, 4});
  CHECK(sc_slot_busy.peak() == 1);
  CHECK(sc_slot_busy.entered() == 5);
}

TEST_CASE("scheduling: fractional CPUs let four tasks share two CPUs",
          "[scheduling]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  sc_busy.reset();
  std::vector<lumen::object_ref<bool>> refs;
  for (int i = 0; i < 8; ++i)
    refs.push_back(lumen::task(sc_hold).num_cpus(0.5).remote(4));
  auto met = lumen::get(refs, patience);
  for (bool m : met)
    CHECK(m);
  CHECK(sc_busy.peak() == 4);
  CHECK(sc_busy.entered() == 8);
}

TEST_CASE("scheduling: fractional custom resources add up exactly",
          "[scheduling]") {
  lumen::init_guard guard{
    lumen::config{.num_cpus = 16, .resources = {{"slot", 1}}}};
  sc_busy.reset();
  // Ten tenths fit into one slot, an eleventh does not.
  std::vector<lumen::object_ref<bool>> refs;
  for (int i = 0; i < 11; ++i)
    refs.push_back(lumen::task(sc_hold).resources({{"slot", 0.1}}).remote(10));
  auto met = lumen::get(refs, patience);
  for (std::size_t i = 0; i < 10; ++i)
    CHECK(met[i]);
  CHECK(sc_busy.peak() == 10);
  CHECK(sc_busy.entered() == 11);
  REQUIRE(lumen_it::await_idle());
  auto s = lumen_it::snapshot();
  CHECK(s.available == s.total);
}

TEST_CASE("scheduling: user code runs beside the system actors",
          "[scheduling]") {
  // More tasks at once than CAF has scheduler threads (at most 4): if they
  // ran on those threads, they could not all be inside together, and the
  // scheduler could not answer while they block.
  lumen::init_guard guard{lumen::config{.num_cpus = 8}};
  sc_busy.reset();
  std::vector<lumen::object_ref<bool>> refs;
  for (int i = 0; i < 8; ++i)
    refs.push_back(lumen::task(sc_hold).remote(8));
  REQUIRE(lumen_it::await_entered(sc_busy, 8));
  CHECK(lumen_it::snapshot().running == 8);
  for (bool m : lumen::get(refs, patience))
    CHECK(m);
  CHECK(sc_busy.peak() == 8);
}

TEST_CASE("scheduling: a task blocked in get gives its only CPU to its child",
          "[scheduling][nested]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 1}};
  CHECK(lumen::get(lumen::task(sc_parent_get).remote(1), patience) == 102);
  CHECK(lumen::get(lumen::task(sc_parent_wait).remote(1), patience) == 202);
  CHECK(lumen::get(lumen::task(sc_grandparent).remote(2), patience) == 1103);
  // Several parents at once on one CPU.
  std::vector<lumen::object_ref<int>> refs;
  for (int i = 0; i < 6; ++i)
    refs.push_back(lumen::task(sc_parent_get).remote(i));
  auto values = lumen::get(refs, patience);
  for (int i = 0; i < 6; ++i)
    CHECK(values[static_cast<std::size_t>(i)] == i + 101);
  REQUIRE(lumen_it::await_idle());
  auto s = lumen_it::snapshot();
  CHECK(s.available == s.total);
  CHECK(s.blocked == 0);
}

TEST_CASE("scheduling: recursive Fibonacci(20) as tasks on 2 CPUs",
          "[scheduling][nested]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto ref = lumen::task(sc_fib).remote(20);
  CHECK(lumen::get(ref, std::chrono::seconds(240)) == 6765);
  REQUIRE(lumen_it::await_idle());
  auto s = lumen_it::snapshot();
  CHECK(s.available == s.total);
  CHECK(s.blocked == 0);
}

TEST_CASE("scheduling: worker threads are reused and not made per task",
          "[scheduling]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  for (int round = 0; round < 10; ++round) {
    std::vector<lumen::object_ref<int>> refs;
    for (int i = 0; i < 50; ++i)
      refs.push_back(lumen::task(sc_plain).remote(i));
    REQUIRE(lumen::get(refs, patience).size() == 50);
  }
  // No task ever blocked: one thread per CPU, plus the one spare that
  // the scheduler's dispatch makes when it takes a worker before it finds
  // that no queued task fits. 500 tasks did not add threads.
  CHECK(lumen_it::snapshot().worker_threads <= 3);
}

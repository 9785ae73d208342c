// Unit tests of the node's scheduling policy
// (src/scheduling/local_scheduler.hpp): deeper tasks first, then submission
// order; resource fitting; infeasible tasks; release and force_acquire.
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lumen/error.hpp"
#include "scheduling/local_scheduler.hpp"
#include "scheduling/resources.hpp"
#include "wire/task_spec.hpp"

using namespace lumen;
using namespace lumen::detail;

namespace {

task_ptr make_task(std::string name, std::uint32_t depth = 0,
                   double num_cpus = 1,
                   std::map<std::string, double> resources = {}) {
  auto t = std::make_shared<task_spec>();
  t->depth = depth;
  t->function = "f";
  t->options.name = std::move(name);
  t->options.num_cpus = num_cpus;
  t->options.resources = std::move(resources);
  return t;
}

resource_set node(double cpus, std::map<std::string, double> more = {}) {
  auto result = resource_set::from_doubles(more);
  result.set(cpu_resource, cpus);
  return result;
}

/// Names of the tasks `next` hands out until it returns nullptr.
std::vector<std::string> drain(local_scheduler& s) {
  std::vector<std::string> result;
  while (auto t = s.next())
    result.push_back(t->options.name);
  return result;
}

} // namespace

TEST_CASE("local_scheduler: request_of combines num_cpus and resources",
          "[runtime][local_scheduler]") {
  auto plain = make_task("a");
  CHECK(local_scheduler::request_of(*plain) == node(1));
  auto no_cpu = make_task("b", 0, 0);
  CHECK(local_scheduler::request_of(*no_cpu).empty());
  auto gpu = make_task("c", 0, 0.5, {{"GPU", 1}});
  CHECK(local_scheduler::request_of(*gpu) == node(0.5, {{"GPU", 1}}));
  auto bad = make_task("d", 0, 1, {{"GPU", -1}});
  CHECK_THROWS_AS(local_scheduler::request_of(*bad), lumen::error);
}

TEST_CASE("local_scheduler: deeper tasks first, then submission order",
          "[runtime][local_scheduler]") {
  local_scheduler s{node(100)};
  REQUIRE(s.enqueue(make_task("a0", 0)));
  REQUIRE(s.enqueue(make_task("b0", 0)));
  REQUIRE(s.enqueue(make_task("c2", 2)));
  REQUIRE(s.enqueue(make_task("d1", 1)));
  REQUIRE(s.enqueue(make_task("e2", 2)));
  REQUIRE(s.enqueue(make_task("f0", 0)));
  REQUIRE(s.enqueue(make_task("g1", 1)));
  CHECK(s.queued() == 7);
  CHECK(drain(s) ==
        std::vector<std::string>{"c2", "e2", "d1", "g1", "a0", "b0", "f0"});
  CHECK(s.queued() == 0);
  CHECK(s.available() == node(93));
}

TEST_CASE("local_scheduler: a task enqueued later at a greater depth runs "
          "next",
          "[runtime][local_scheduler]") {
  local_scheduler s{node(100)};
  s.enqueue(make_task("first", 0));
  s.enqueue(make_task("second", 0));
  auto t = s.next();
  REQUIRE(t);
  CHECK(t->options.name == "first");
  s.enqueue(make_task("nested", 1));
  t = s.next();
  REQUIRE(t);
  CHECK(t->options.name == "nested");
  t = s.next();
  REQUIRE(t);
  CHECK(t->options.name == "second");
  CHECK_FALSE(s.next());
}

TEST_CASE("local_scheduler: next hands out only tasks that fit",
          "[runtime][local_scheduler]") {
  local_scheduler s{node(2)};
  s.enqueue(make_task("two", 0, 2));
  s.enqueue(make_task("one_a", 0, 1));
  s.enqueue(make_task("one_b", 0, 1));
  auto t = s.next();
  REQUIRE(t);
  CHECK(t->options.name == "two");
  CHECK(s.available().get(cpu_resource) == 0.0);
  CHECK_FALSE(s.next()); // nothing fits now
  CHECK(s.queued() == 2);

  s.release(local_scheduler::request_of(*t));
  CHECK(s.available() == s.total());
  CHECK(drain(s) == std::vector<std::string>{"one_a", "one_b"});
  CHECK(s.available().empty());
  CHECK(s.total() == node(2));
}

TEST_CASE("local_scheduler: a task that does not fit yet is passed over, "
          "not dropped",
          "[runtime][local_scheduler]") {
  local_scheduler s{node(4, {{"GPU", 1}})};
  s.enqueue(make_task("gpu_a", 0, 1, {{"GPU", 1}}));
  s.enqueue(make_task("gpu_b", 1, 1, {{"GPU", 1}})); // deeper: ahead of all
  s.enqueue(make_task("cpu", 0, 1));
  auto t = s.next();
  REQUIRE(t);
  CHECK(t->options.name == "gpu_b");
  t = s.next(); // gpu_a waits for the GPU; cpu overtakes it
  REQUIRE(t);
  CHECK(t->options.name == "cpu");
  CHECK_FALSE(s.next());
  CHECK(s.queued() == 1);
  s.release(node(1, {{"GPU", 1}}));
  t = s.next();
  REQUIRE(t);
  CHECK(t->options.name == "gpu_a");
}

TEST_CASE("local_scheduler: max_scan bounds the tasks passed over",
          "[runtime][local_scheduler]") {
  local_scheduler s{node(2)};
  for (int i = 0; i < 3; ++i)
    s.enqueue(make_task("big" + std::to_string(i), 0, 2));
  s.enqueue(make_task("small", 0, 1));
  s.force_acquire(node(1)); // one CPU left: no "big" fits
  CHECK_FALSE(s.next(nullptr, 2));
  CHECK(s.queued() == 4);
  auto t = s.next(nullptr, 4);
  REQUIRE(t);
  CHECK(t->options.name == "small");
  CHECK(s.queued() == 3);
}

TEST_CASE("local_scheduler: next reports what it acquired, shape by shape",
          "[runtime][local_scheduler]") {
  local_scheduler s{node(2)};
  s.enqueue(make_task("half", 0, 0.5));
  s.enqueue(make_task("one", 0, 1));
  s.enqueue(make_task("half2", 0, 0.5));
  lumen::detail::resource_set got;
  auto t = s.next(&got);
  REQUIRE(t);
  CHECK(t->options.name == "half");
  CHECK(got.get("CPU") == 0.5);
  t = s.next(&got);
  REQUIRE(t);
  CHECK(t->options.name == "one");
  CHECK(got.get("CPU") == 1);
  // A task holding half a CPU takes the next one like it without acquiring.
  t = s.next_like(got);
  CHECK_FALSE(t); // none asks for exactly one CPU now
  lumen::detail::resource_set half;
  half.set("CPU", 0.5);
  t = s.next_like(half);
  REQUIRE(t);
  CHECK(t->options.name == "half2");
  CHECK(s.queued() == 0);
  CHECK(s.available().get("CPU") == 0.5);
  // Shapes whose tasks are gone are reused; a full node answers at once.
  for (int i = 0; i < 100; ++i)
    s.enqueue(make_task("w" + std::to_string(i), 0, 1));
  CHECK_FALSE(s.next(&got));
  CHECK(s.queued() == 100);
  s.release(half);
  t = s.next(&got);
  REQUIRE(t);
  CHECK(t->options.name == "w0");
}

TEST_CASE("local_scheduler: fractional requests fill a CPU exactly",
          "[runtime][local_scheduler]") {
  local_scheduler s{node(1)};
  for (int i = 0; i < 11; ++i)
    s.enqueue(make_task("t" + std::to_string(i), 0, 0.1));
  auto started = drain(s);
  CHECK(started.size() == 10);
  CHECK(s.queued() == 1);
  CHECK(s.available().empty());
  s.release(node(0.1));
  auto t = s.next();
  REQUIRE(t);
  CHECK(t->options.name == "t10");
}

TEST_CASE("local_scheduler: tasks needing more than the node has are "
          "infeasible",
          "[runtime][local_scheduler]") {
  local_scheduler s{node(2, {{"GPU", 1}})};
  auto too_many_cpus = make_task("cpus", 0, 3);
  auto unknown = make_task("tpu", 0, 1, {{"TPU", 1}});
  auto two_gpus = make_task("gpus", 0, 1, {{"GPU", 2}});
  CHECK_FALSE(s.enqueue(too_many_cpus));
  CHECK_FALSE(s.enqueue(unknown));
  CHECK_FALSE(s.enqueue(two_gpus));
  CHECK(s.queued() == 0);
  REQUIRE(s.infeasible().size() == 3);
  CHECK(s.infeasible()[0] == too_many_cpus);
  CHECK(s.infeasible()[1] == unknown);
  CHECK(s.infeasible()[2] == two_gpus);
  CHECK_FALSE(s.next());

  // Feasibility is judged against the total, not what is free right now.
  s.force_acquire(s.total());
  CHECK(s.enqueue(make_task("later", 0, 2, {{"GPU", 1}})));
  CHECK(s.queued() == 1);
  CHECK(s.infeasible().size() == 3);
}

TEST_CASE("local_scheduler: a task needing nothing always runs",
          "[runtime][local_scheduler]") {
  local_scheduler s{node(0)};
  CHECK(s.enqueue(make_task("free", 0, 0)));
  s.force_acquire(node(5));
  auto t = s.next();
  REQUIRE(t);
  CHECK(t->options.name == "free");
}

TEST_CASE("local_scheduler: force_acquire oversubscribes and release "
          "restores",
          "[runtime][local_scheduler]") {
  local_scheduler s{node(2)};
  s.enqueue(make_task("a", 0, 2));
  s.enqueue(make_task("b", 0, 1));
  auto a = s.next();
  REQUIRE(a);
  // `a` blocks (CPUs released), `b` runs, then `a` wakes up.
  s.release(node(2));
  auto b = s.next();
  REQUIRE(b);
  CHECK(s.available() == node(1));
  s.force_acquire(node(2));
  CHECK(s.available().get(cpu_resource) == -1.0);
  s.enqueue(make_task("c", 0, 0.5));
  CHECK_FALSE(s.next());
  s.release(node(1)); // b ends
  CHECK(s.available() == resource_set{});
  CHECK_FALSE(s.next());
  s.release(node(2)); // a ends
  CHECK(s.available() == s.total());
  auto c = s.next();
  REQUIRE(c);
  CHECK(c->options.name == "c");
  CHECK(s.total() == node(2));
}

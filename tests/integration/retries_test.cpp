// Retries of tasks whose code throws: only with retry_exceptions, and only
// within max_retries; each retry re-creates the same child ids.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "lumen/lumen.hpp"
#include "test_support.hpp"

using lumen_it::patience;

namespace {

std::atomic<int> rt_runs{0};

/// Throws until it has run `fail_first` times, then returns its run count.
int rt_flaky(int fail_first) {
  auto n = ++rt_runs;
  if (n <= fail_first)
    throw std::runtime_error("flaky run " + std::to_string(n));
  return n;
}

} // namespace

LUMEN_REMOTE(rt_flaky);

TEST_CASE("retries: an exception is final without retry_exceptions",
          "[retries]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  rt_runs = 0;
  auto r = lumen::task(rt_flaky).max_retries(5).remote(1);
  CHECK_THROWS_WITH(lumen::get(r, patience), Catch::Contains("flaky run 1"));
  CHECK(rt_runs == 1);
}

TEST_CASE("retries: retry_exceptions runs the task again within max_retries",
          "[retries]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  rt_runs = 0;
  auto ok = lumen::task(rt_flaky).retry_exceptions().max_retries(3).remote(2);
  CHECK(lumen::get(ok, patience) == 3); // two failures, then success
  rt_runs = 0;
  auto exhausted =
    lumen::task(rt_flaky).retry_exceptions().max_retries(2).remote(10);
  try {
    lumen::get(exhausted, patience);
    FAIL("a task failing more often than max_retries returned");
  } catch (const lumen::task_error& e) {
    CHECK(e.message() == "flaky run 3"); // the last attempt's error
  }
  CHECK(rt_runs == 3); // the first run and two retries
  rt_runs = 0;
  auto forever =
    lumen::task(rt_flaky).retry_exceptions().max_retries(-1).remote(20);
  CHECK(lumen::get(forever, patience) == 21);
}

namespace {

int rt_plus_one(int x) {
  return x + 1;
}

/// Submits a child and waits for it inside the task (a nested get).
int rt_nested(int x) {
  return lumen::get(lumen::task(rt_plus_one).remote(x)) * 2;
}

} // namespace

LUMEN_REMOTE(rt_plus_one);
LUMEN_REMOTE(rt_nested);

TEST_CASE("retries: each task execution has its own task actor, retries "
          "included",
          "[retries][tasks]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  // Through the public API: this node comes first in lumen::nodes().
  auto counts = [] {
    auto here = lumen::nodes().front();
    REQUIRE(here.id == lumen::node_id());
    return here;
  };
  auto before = counts();
  CHECK(before.task_actors_spawned == before.task_executions);
  rt_runs = 0;
  // Two failures, then success: three executions.
  auto flaky = lumen::task(rt_flaky).retry_exceptions().max_retries(3);
  CHECK(lumen::get(flaky.remote(2), patience) == 3);
  // Ten plain tasks and two nested ones (each with its child): 14.
  std::vector<lumen::object_ref<int>> refs;
  for (int i = 0; i < 10; ++i)
    refs.push_back(lumen::task(rt_plus_one).remote(i));
  refs.push_back(lumen::task(rt_nested).remote(1));
  refs.push_back(lumen::task(rt_nested).remote(2));
  auto values = lumen::get(refs, patience);
  CHECK(values.back() == 6);
  // Fails more often than max_retries allows: the first run and one retry.
  rt_runs = 0;
  auto exhausted = lumen::task(rt_flaky).retry_exceptions().max_retries(1);
  CHECK_THROWS_AS(lumen::get(exhausted.remote(10), patience),
                  lumen::task_error);
  CHECK(rt_runs == 2);
  const std::uint64_t expected = 3 + 14 + 2;
  lumen::node_info s;
  lumen_it::eventually(
    [&] {
      s = counts();
      return s.task_executions - before.task_executions >= expected;
    },
    patience);
  CHECK(s.task_executions - before.task_executions == expected);
  CHECK(s.task_actors_spawned - before.task_actors_spawned == expected);
}

// Retries of tasks whose code throws: only with retry_exceptions, and only
// within max_retries; each retry re-creates the same child ids.
#include <atomic>
#include <string>

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

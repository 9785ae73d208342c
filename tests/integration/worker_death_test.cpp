// A task whose worker thread ends inside the call (pthread_exit in user
// code): its task actor learns it, the task runs again within max_retries
// on a new actor, and the worker pool replaces the thread.
#include <atomic>
#include <cstdint>
#include <string>

#include <pthread.h>

#include <catch2/catch.hpp>

#include "lumen/lumen.hpp"
#include "test_support.hpp"

using lumen_it::patience;

namespace {

std::atomic<int> wd_runs{0};

/// Ends its worker thread on its first `exits` runs, then returns the
/// number of runs.
int wd_exit_thread(int exits) {
  auto n = ++wd_runs;
  if (n <= exits)
    pthread_exit(nullptr);
  return n;
}

int wd_seven() {
  return 7;
}

} // namespace

LUMEN_REMOTE(wd_exit_thread, wd_seven);

TEST_CASE("worker death: a task whose worker thread ends runs again on a new "
          "task actor and a new thread",
          "[tasks][retries]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 1}};
  auto counts = [] {
    return lumen::nodes().front();
  };
  auto before = counts();
  wd_runs = 0;
  CHECK(lumen::get(lumen::task(wd_exit_thread).remote(2), patience) == 3);
  CHECK(wd_runs == 3);
  // Three executions, each with its own task actor.
  lumen::node_info after;
  lumen_it::eventually(
    [&] {
      after = counts();
      return after.task_executions - before.task_executions >= 3;
    },
    patience);
  CHECK(after.task_executions - before.task_executions == 3);
  CHECK(after.task_actors_spawned - before.task_actors_spawned == 3);
  // The one CPU's worker has a thread again: later tasks run.
  for (int i = 0; i < 20; ++i)
    REQUIRE(lumen::get(lumen::task(wd_seven).remote(), patience) == 7);
}

TEST_CASE("worker death: with no retry left the task fails with a clear "
          "error and the node goes on",
          "[tasks][retries]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 1}};
  wd_runs = 0;
  auto r = lumen::task(wd_exit_thread).max_retries(0).remote(5);
  CHECK_THROWS_WITH(lumen::get(r, patience),
                    Catch::Contains("worker thread ended"));
  CHECK(wd_runs == 1);
  // retry_exceptions plays no part: a worker's death is not an exception.
  wd_runs = 0;
  auto twice = lumen::task(wd_exit_thread).max_retries(1).remote(5);
  CHECK_THROWS_WITH(lumen::get(twice, patience),
                    Catch::Contains("worker thread ended"));
  CHECK(wd_runs == 2);
  CHECK(lumen::get(lumen::task(wd_seven).remote(), patience) == 7);
}

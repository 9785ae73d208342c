// The cancel workload of `lumen microbenchmark`:
// cancel_10k_queued_tasks (/s). One task holds the node's whole custom
// resource, so 10,000 tasks asking for a unit of it queue behind it; once
// the scheduler holds them all, the clock runs from the first cancel call
// until all 10,000 refs are ready (failed as cancelled). Each is then
// checked to throw task_cancelled_error, the blocker is released, and the
// next round begins. Rounds repeat for the run's duration; the rate is
// 10,000 x rounds / the seconds the cancels took.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <lumen/cancel.hpp>
#include <lumen/lumen.hpp>

#include "bench/bench_workloads.hpp"
#include "node/embedded_runtime.hpp"

namespace lumen_bench {

namespace {

std::atomic<bool> cancel_release{false};
std::atomic<bool> cancel_blocking{false};

} // namespace

/// Holds its resources until released (at most a minute).
int cancel_blocker() {
  cancel_blocking = true;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!cancel_release.load() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  return 1;
}

int cancel_victim() {
  return 1;
}

} // namespace lumen_bench

LUMEN_REMOTE(lumen_bench::cancel_blocker, lumen_bench::cancel_victim);

namespace lumen::cli::bench {

namespace {

constexpr int cancel_batch = 10'000;

template <class Pred>
void await(Pred pred, const char* what) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!pred()) {
    check(std::chrono::steady_clock::now() < deadline, what);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

/// One round: returns the seconds from the first cancel until all refs are
/// ready.
double cancel_round() {
  using namespace lumen_bench;
  cancel_release = false;
  cancel_blocking = false;
  auto blocker = lumen::task(cancel_blocker)
                   .num_cpus(0)
                   .resources({{"custom", custom_resource_amount}})
                   .remote();
  await(
    [] {
      return cancel_blocking.load();
    },
    "cancel_10k_queued_tasks: the blocker did not start");
  std::vector<lumen::object_ref<int>> refs;
  refs.reserve(cancel_batch);
  for (int i = 0; i < cancel_batch; ++i)
    refs.push_back(lumen::task(cancel_victim)
                     .num_cpus(0)
                     .resources({{"custom", 1}})
                     .remote());
  auto* rt = lumen::detail::current_embedded_runtime();
  await(
    [rt] {
      return rt->snapshot().queued >= cancel_batch;
    },
    "cancel_10k_queued_tasks: the tasks did not queue");
  auto t0 = std::chrono::steady_clock::now();
  for (auto& r : refs)
    lumen::cancel(r);
  auto ready = lumen::wait(refs, refs.size(), std::chrono::minutes(1));
  auto seconds =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
  check_eq(ready.ready.size(), refs.size(), "cancel_10k_queued_tasks: ready");
  int cancelled = 0;
  for (auto& r : refs) {
    try {
      lumen::get(r);
    } catch (const lumen::task_cancelled_error&) {
      ++cancelled;
    }
  }
  check_eq(cancelled, cancel_batch, "cancel_10k_queued_tasks: cancelled");
  cancel_release = true;
  check_eq(lumen::get(blocker), 1, "cancel_10k_queued_tasks: blocker");
  return seconds;
}

} // namespace

std::vector<workload> cancel_workloads() {
  std::vector<workload> ws;
  ws.push_back(workload{{"cancel_10k_queued_tasks"}, [](const timing& t) {
                          cancel_round(); // warm-up
                          result r;
                          r.name = "cancel_10k_queued_tasks";
                          r.unit = "/s";
                          auto start = std::chrono::steady_clock::now();
                          do {
                            r.seconds += cancel_round();
                            ++r.steps;
                          } while (std::chrono::duration<double>(
                                     std::chrono::steady_clock::now() - start)
                                     .count() < t.duration_seconds);
                          r.value = cancel_batch *
                                    static_cast<double>(r.steps) / r.seconds;
                          return std::vector<result>{r};
                        }});
  return ws;
}

} // namespace lumen::cli::bench

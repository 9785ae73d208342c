// Async-actor workloads of `lumen microbenchmark` (lumen/async.hpp):
// 1_1_async_actor_calls_async, measured as 1_1_actor_calls_async is (1,000
// calls on one actor, then all got and summed), and
// async_actor_10k_concurrent_sleeps: 10,000 calls on one async actor, each
// awaiting a 10 ms timer, all in flight at once; the seconds until the
// last result is back, the threads that ran the calls' code (before and
// after each co_await), the most threads the process had meanwhile, and
// how many of those the workload added (the actor's worker and the async
// thread, at most).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <dirent.h>
#include <string>
#include <thread>
#include <vector>

#include <lumen/lumen.hpp>

#include "bench/bench_workloads.hpp"

namespace lumen_bench {

/// An async actor: its methods are coroutines.
struct bench_async_actor {
  static bench_async_actor* create() {
    return new bench_async_actor;
  }

  lumen::async<int> small_value() {
    co_return 1;
  }

  lumen::async<int> sleep_ms(int ms) {
    note_thread();
    co_await lumen::sleep_for(std::chrono::milliseconds(ms));
    note_thread();
    co_return 1;
  }

  /// The distinct threads that ran sleep_ms's code so far.
  int call_threads() {
    return static_cast<int>(threads.size());
  }

  /// Its calls run on one thread at a time (lumen/async.hpp): no lock.
  void note_thread() {
    auto me = std::this_thread::get_id();
    if (std::find(threads.begin(), threads.end(), me) == threads.end())
      threads.push_back(me);
  }

  std::vector<std::thread::id> threads;
};

} // namespace lumen_bench

LUMEN_REMOTE(lumen_bench::bench_async_actor::create,
             &lumen_bench::bench_async_actor::small_value,
             &lumen_bench::bench_async_actor::sleep_ms,
             &lumen_bench::bench_async_actor::call_threads);

namespace lumen::cli::bench {

namespace {

using lumen_bench::bench_async_actor;
using clock = std::chrono::steady_clock;

constexpr int concurrent_sleeps = 10'000;

/// Threads of this process now (/proc/self/task).
int thread_count() {
  int n = 0;
  if (auto* d = opendir("/proc/self/task")) {
    while (auto* e = readdir(d))
      if (e->d_name[0] != '.')
        ++n;
    closedir(d);
  }
  return n;
}

void check_sum(const std::vector<int>& values, int n, const char* what) {
  check_eq(values.size(), static_cast<std::size_t>(n), what);
  long long sum = 0;
  for (int v : values)
    sum += v;
  check_eq(sum, static_cast<long long>(n), what);
}

result measured(const std::string& name, const std::string& unit, double value,
                double seconds, std::size_t steps) {
  result r;
  r.name = name;
  r.unit = unit;
  r.value = value;
  r.steps = steps;
  r.seconds = seconds;
  return r;
}

/// One round: 10,000 calls, each sleeping 10 ms, all got and checked;
/// `peak` gets the most threads seen while they ran.
double sleeps_round(const lumen::actor_handle<bench_async_actor>& a,
                    int& peak) {
  auto start = clock::now();
  std::vector<lumen::object_ref<int>> refs;
  refs.reserve(concurrent_sleeps);
  for (int i = 0; i < concurrent_sleeps; ++i)
    refs.push_back(a.task(&bench_async_actor::sleep_ms).remote(10));
  peak = std::max(peak, thread_count());
  // Polled, so that the threads are counted while the calls are in flight.
  while (
    lumen::wait(refs, refs.size(), std::chrono::milliseconds(5)).ready.size() <
    refs.size())
    peak = std::max(peak, thread_count());
  check_sum(lumen::get(refs), concurrent_sleeps,
            "async_actor_10k_concurrent_sleeps");
  return std::chrono::duration<double>(clock::now() - start).count();
}

/// The rounds in the measured duration (at least 3): their mean time, the
/// most threads seen, and how many the workload added to those that ran
/// before the actor existed (CAF's scheduler, clock and I/O threads,
/// RocksDB's, idle workers of earlier workloads, the main thread).
std::vector<result> run_sleeps(const timing& t) {
  int before = thread_count();
  // The actor's default max_concurrency is 1,000: all 10,000 at once.
  auto a = lumen::actor(bench_async_actor::create)
             .max_concurrency(concurrent_sleeps)
             .remote();
  int peak = 0;
  sleeps_round(a, peak); // warm-up
  double total = 0;
  std::size_t rounds = 0;
  while (rounds < 3 || total < t.duration_seconds) {
    total += sleeps_round(a, peak);
    ++rounds;
  }
  auto call_threads =
    lumen::get(a.task(&bench_async_actor::call_threads).remote());
  return {measured("async_actor_10k_concurrent_sleeps", "s",
                   total / static_cast<double>(rounds), total, rounds),
          measured("async_actor_10k_concurrent_sleeps_call_threads", "threads",
                   call_threads, total, rounds),
          measured("async_actor_10k_concurrent_sleeps_threads", "threads", peak,
                   total, rounds),
          measured("async_actor_10k_concurrent_sleeps_threads_added", "threads",
                   std::max(0, peak - before), total, rounds)};
}

} // namespace

std::vector<workload> async_workloads() {
  std::vector<workload> ws;
  ws.push_back(workload{
    {"1_1_async_actor_calls_async"}, [](const timing& t) {
      auto a = lumen::actor(bench_async_actor::create).remote();
      return std::vector<result>{
        timeit("1_1_async_actor_calls_async", "/s", 1000, t, [a] {
          std::vector<lumen::object_ref<int>> refs;
          refs.reserve(1000);
          for (int i = 0; i < 1000; ++i)
            refs.push_back(a.task(&bench_async_actor::small_value).remote());
          check_sum(lumen::get(refs), 1000, "1_1_async_actor_calls_async");
        })};
    }});
  ws.push_back(workload{{"async_actor_10k_concurrent_sleeps",
                         "async_actor_10k_concurrent_sleeps_call_threads",
                         "async_actor_10k_concurrent_sleeps_threads",
                         "async_actor_10k_concurrent_sleeps_threads_added"},
                        run_sleeps});
  return ws;
}

} // namespace lumen::cli::bench

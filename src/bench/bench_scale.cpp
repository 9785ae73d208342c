// Scale workloads of `lumen microbenchmark` (the performance issue's
// single-node envelope, shaped after Ray's release test
// benchmarks/single_node/test_single_node.py): a million queued tasks and
// the memory they take, 10,000 actors, a task given 10,000 refs, and a get
// of 10,000 objects. Each runs once at its fixed size and reports seconds
// (the queued-task workload also bytes per queued task); --duration does
// not change them.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include <lumen/lumen.hpp>

#include "bench/bench_workloads.hpp"
#include "bench/process_memory.hpp"

namespace lumen_bench {

/// Holds the blockers of the queued-task workload on their CPUs until
/// opened, outside Lumen (a task blocked in lumen::get would give its CPU
/// back and let the queue drain).
class scale_gate {
 public:
  void close() {
    std::lock_guard guard{mtx_};
    open_ = false;
    arrived_ = 0;
  }

  /// Called by a blocker: counts it, then waits until opened.
  void pass() {
    std::unique_lock guard{mtx_};
    ++arrived_;
    cv_.notify_all();
    cv_.wait(guard, [this] {
      return open_;
    });
  }

  /// Waits until `n` blockers have arrived, at most `timeout`.
  bool arrived(int n, std::chrono::seconds timeout) {
    std::unique_lock guard{mtx_};
    return cv_.wait_for(guard, timeout, [&] {
      return arrived_ >= n;
    });
  }

  void open() {
    std::lock_guard guard{mtx_};
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool open_ = false;
  int arrived_ = 0;
};

scale_gate& gate() {
  static scale_gate g;
  return g;
}

/// A blocker: holds its CPU until the gate opens.
int scale_block() {
  gate().pass();
  return 1;
}

/// A queued task: returns its argument.
int scale_echo(int i) {
  return i;
}

/// The sum of the values of `refs` (the 10k-ref argument).
std::int64_t scale_sum_refs(std::vector<lumen::object_ref<int>> refs) {
  std::int64_t sum = 0;
  for (int v : lumen::get(refs))
    sum += v;
  return sum;
}

/// One of the 10,000 actors: knows its index.
struct scale_actor {
  static scale_actor* create(int i) {
    return new scale_actor{i};
  }

  int index() {
    return i;
  }

  int i = 0;
};

} // namespace lumen_bench

LUMEN_REMOTE(lumen_bench::scale_block, lumen_bench::scale_echo,
             lumen_bench::scale_sum_refs);
LUMEN_REMOTE(lumen_bench::scale_actor::create,
             &lumen_bench::scale_actor::index);

namespace lumen::cli::bench {

namespace {

using clock = std::chrono::steady_clock;

/// The sizes (the figures), before --scale.
constexpr int full_queued_tasks = 1'000'000;
constexpr int full_actors = 10'000;
constexpr int full_ref_args = 10'000;
constexpr int full_get_objects = 10'000;

/// `n` times `fraction`, at least 1; says so on stderr when not all of n.
int scaled(int n, double fraction, const char* what) {
  auto m = std::max(1, static_cast<int>(n * fraction));
  if (m != n)
    std::cerr << "lumen microbenchmark: " << what << " at --scale " << fraction
              << ": " << m << " instead of " << n << "\n";
  return m;
}

/// Elements of each object of the get workload: 1000 int64, 8 KB.
constexpr std::size_t get_object_elements = 1000;

/// How long a get of a whole workload may take before it counts as failed.
constexpr auto patience = std::chrono::minutes(10);

/// Opens the gate when it goes, so no blocker outlives a failed workload.
struct gate_opener {
  ~gate_opener() {
    lumen_bench::gate().open();
  }
};

double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

result measured(const std::string& name, const std::string& unit, double value,
                double seconds) {
  result r;
  r.name = name;
  r.unit = unit;
  r.value = value;
  r.steps = 1;
  r.seconds = seconds;
  return r;
}

int node_cpus() {
  auto nodes = lumen::nodes();
  check(!nodes.empty(), "no node");
  auto& total = nodes.front().resources_total;
  auto i = total.find("CPU");
  check(i != total.end() && i->second >= 1, "the node has no CPU");
  return static_cast<int>(i->second);
}

/// Ray's test_many_queued_tasks: every CPU held by a blocker, 1M tasks
/// submitted (they queue), memory read, blockers released, all results
/// got and checked. Seconds from the first submit to the last result;
/// resident and heap growth while queued, per task (the refs the caller
/// holds included).
std::vector<result> run_queued(int queued_tasks) {
  auto cpus = node_cpus();
  lumen_bench::gate().close();
  gate_opener opener;
  std::vector<lumen::object_ref<int>> blockers;
  for (int i = 0; i < cpus; ++i)
    blockers.push_back(lumen::task(lumen_bench::scale_block).remote());
  if (!lumen_bench::gate().arrived(cpus, std::chrono::seconds(60)))
    throw failure("the blockers did not start within 60 s");
  // Free pages go back first, so that the growth counts every page the
  // queue touches, not only those beyond what earlier workloads freed.
  return_free_pages();
  auto rss0 = resident_bytes();
  auto heap0 = heap_bytes();
  auto start = clock::now();
  std::vector<lumen::object_ref<int>> refs;
  refs.reserve(queued_tasks);
  for (int i = 0; i < queued_tasks; ++i)
    refs.push_back(lumen::task(lumen_bench::scale_echo).remote(i));
  auto rss1 = resident_bytes();
  auto heap1 = heap_bytes();
  // Nothing ran yet: the blockers hold every CPU.
  auto early = lumen::wait(std::vector{refs.front(), refs.back()}, 1,
                           std::chrono::milliseconds(0));
  lumen_bench::gate().open();
  check(early.ready.empty(), "a queued task ran while every CPU was held");
  for (int v : lumen::get(blockers, patience))
    check_eq(v, 1, "blocker");
  auto values = lumen::get(refs, patience);
  check_eq(values.size(), refs.size(), "queued task results");
  for (std::size_t i = 0; i < values.size(); ++i)
    if (values[i] != static_cast<int>(i))
      check_eq(values[i], static_cast<int>(i), "queued task result");
  auto secs = seconds_since(start);
  return {measured("scale_1m_queued_tasks", "s", secs, secs),
          measured("scale_1m_queued_tasks_rss_bytes_per_task", "B",
                   (rss1 - rss0) / queued_tasks, secs),
          measured("scale_1m_queued_tasks_heap_bytes_per_task", "B",
                   (heap1 - heap0) / queued_tasks, secs)};
}

/// 10,000 actors created, each called once, results checked, then every
/// handle dropped (the actors end).
std::vector<result> run_actors(int num_actors) {
  auto start = clock::now();
  std::vector<lumen::actor_handle<lumen_bench::scale_actor>> actors;
  actors.reserve(num_actors);
  for (int i = 0; i < num_actors; ++i)
    actors.push_back(lumen::actor(lumen_bench::scale_actor::create).remote(i));
  std::vector<lumen::object_ref<int>> refs;
  refs.reserve(num_actors);
  for (auto& a : actors)
    refs.push_back(a.task(&lumen_bench::scale_actor::index).remote());
  auto values = lumen::get(refs, patience);
  for (int i = 0; i < num_actors; ++i)
    if (values[static_cast<std::size_t>(i)] != i)
      check_eq(values[static_cast<std::size_t>(i)], i, "actor index");
  refs.clear();
  actors.clear();
  auto secs = seconds_since(start);
  return {measured("scale_10k_actors", "s", secs, secs)};
}

/// A task given 10,000 refs (put values 0..9999, in one vector argument:
/// the C++ API's arity is fixed at compile time); it gets them all and
/// returns their sum. Seconds for the puts, the call and its result.
std::vector<result> run_ref_args(int num_ref_args) {
  auto start = clock::now();
  std::vector<lumen::object_ref<int>> refs;
  refs.reserve(num_ref_args);
  for (int i = 0; i < num_ref_args; ++i)
    refs.push_back(lumen::put(i));
  auto sum =
    lumen::get(lumen::task(lumen_bench::scale_sum_refs).remote(refs), patience);
  check_eq(sum, std::int64_t{num_ref_args} * (num_ref_args - 1) / 2,
           "sum of the 10k ref arguments");
  auto secs = seconds_since(start);
  return {measured("scale_task_10k_ref_args", "s", secs, secs)};
}

/// 10,000 objects put (1000 int64 each), then one get of all of them;
/// seconds for the get, every element checked.
std::vector<result> run_get(int num_get_objects) {
  std::vector<lumen::object_ref<std::vector<std::int64_t>>> refs;
  refs.reserve(num_get_objects);
  for (int i = 0; i < num_get_objects; ++i)
    refs.push_back(
      lumen::put(std::vector<std::int64_t>(get_object_elements, i)));
  auto start = clock::now();
  auto values = lumen::get(refs, patience);
  auto secs = seconds_since(start);
  check_eq(values.size(), refs.size(), "objects got");
  for (std::size_t i = 0; i < values.size(); ++i) {
    auto& v = values[i];
    check(v.size() == get_object_elements, "object size");
    for (auto x : v)
      if (x != static_cast<std::int64_t>(i))
        check_eq(x, static_cast<std::int64_t>(i), "object element");
  }
  return {measured("scale_get_10k_objects", "s", secs, secs)};
}

} // namespace

std::vector<workload> scale_workloads(double fraction) {
  // Smallest first: the background work a large one leaves (actors
  // ending, lineage of a million tasks being committed) would slow the
  // small ones down.
  return {
    workload{{"scale_get_10k_objects"},
             [=](const timing&) {
               return run_get(
                 scaled(full_get_objects, fraction, "scale_get_10k_objects"));
             }},
    workload{{"scale_task_10k_ref_args"},
             [=](const timing&) {
               return run_ref_args(
                 scaled(full_ref_args, fraction, "scale_task_10k_ref_args"));
             }},
    workload{{"scale_10k_actors"},
             [=](const timing&) {
               return run_actors(
                 scaled(full_actors, fraction, "scale_10k_actors"));
             }},
    workload{{"scale_1m_queued_tasks",
              "scale_1m_queued_tasks_rss_bytes_per_task",
              "scale_1m_queued_tasks_heap_bytes_per_task"},
             [=](const timing&) {
               return run_queued(
                 scaled(full_queued_tasks, fraction, "scale_1m_queued_tasks"));
             }},
  };
}

} // namespace lumen::cli::bench

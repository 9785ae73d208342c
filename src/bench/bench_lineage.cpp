// Fault-tolerance workloads of `lumen microbenchmark`: task throughput
// under each lineage mode, each in an embedded runtime of its own, the
// time to rebuild a chain of 100 tasks whose values died with their node,
// and the bytes of lineage left once dropped tasks' lineage is collected.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <lumen/lumen.hpp>

#include "bench/bench_cluster.hpp"
#include "bench/bench_workloads.hpp"
#include "node/embedded_runtime.hpp"

namespace lumen_bench {

/// Elements of a chain value: 320,000 bytes, more than the 256 KiB that
/// travel inside a result, so each value stays on the node that made it.
constexpr std::int64_t chain_elements = 40'000;

/// Chain tasks (chain_start, chain_step) run in this process: how the
/// recovery workload tells where they ran.
std::atomic<int> chain_runs_here{0};

/// 0, 1, ..., n - 1.
std::vector<std::int64_t> chain_start(std::int64_t n) {
  chain_runs_here.fetch_add(1);
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<std::int64_t>(i);
  return v;
}

/// `v` with `k` added to each element.
std::vector<std::int64_t> chain_step(std::vector<std::int64_t> v,
                                     std::int64_t k) {
  chain_runs_here.fetch_add(1);
  for (auto& x : v)
    x += k;
  return v;
}

/// The node it runs on.
std::string chain_node() {
  return lumen::node_id();
}

/// The sum of `v`'s elements.
std::int64_t chain_sum(std::vector<std::int64_t> v) {
  std::int64_t sum = 0;
  for (auto x : v)
    sum += x;
  return sum;
}

/// `i`: the smallest task, for the collection workload.
int gc_echo(int i) {
  return i;
}

} // namespace lumen_bench

LUMEN_REMOTE(lumen_bench::chain_start, lumen_bench::chain_step,
             lumen_bench::chain_node, lumen_bench::chain_sum,
             lumen_bench::gc_echo);

namespace lumen::cli::bench {

namespace {

using clock = std::chrono::steady_clock;
using chain_ref = lumen::object_ref<std::vector<std::int64_t>>;

/// Tasks in the recovery chain (chain_start, then chain_steps 1 to 99).
constexpr int chain_tasks = 100;

/// What every element of the chain's last value has had added.
constexpr std::int64_t chain_added = (chain_tasks - 1) * chain_tasks / 2;

/// The chain, every task on `node` (soft affinity, so that a rebuild may
/// run elsewhere); only the last ref is kept.
chain_ref make_chain(const std::string& node) {
  auto x = lumen::task(lumen_bench::chain_start)
             .node_affinity(node, true)
             .remote(lumen_bench::chain_elements);
  for (std::int64_t k = 1; k < chain_tasks; ++k)
    x = lumen::task(lumen_bench::chain_step)
          .node_affinity(node, true)
          .remote(x, k);
  return x;
}

/// Checks the chain's last value element by element.
void check_chain(const std::vector<std::int64_t>& v) {
  check_eq(v.size(), static_cast<std::size_t>(lumen_bench::chain_elements),
           "rebuilt chain value: size");
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v[i] != static_cast<std::int64_t>(i) + chain_added)
      check_eq(v[i], static_cast<std::int64_t>(i) + chain_added,
               "rebuilt chain value: an element");
}

double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

/// Waits (up to 30 s) until a task with soft affinity for `node` runs
/// there: this node's scheduler knows the node, so the chain's soft
/// affinity is not silently dropped.
void wait_until_scheduled_on(const std::string& node) {
  auto deadline = clock::now() + std::chrono::seconds(30);
  while (lumen::get(lumen::task(lumen_bench::chain_node)
                      .node_affinity(node, true)
                      .remote()) != node) {
    if (clock::now() > deadline)
      throw failure("tasks for the victim node still ran elsewhere after 30 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

/// Head (this process, the driver) plus a victim node: the chain runs on
/// the victim, then the victim is SIGKILLed and the last value is got.
result chain_recovery(const std::string& lumen_binary) {
  const std::string name = lineage_recovery_metric_name();
  auto address = start_head(lumen::lineage_mode::stash);
  head_guard stop_head;
  child_node victim{lumen_binary, address};
  auto victim_id = wait_for_other_node(victim);
  wait_until_scheduled_on(victim_id);
  lumen_bench::chain_runs_here = 0;
  auto last = make_chain(victim_id);
  // Every step has run (its value is on the victim) once a small task that
  // reads the last value there answers; the value never comes here.
  const std::int64_t n = lumen_bench::chain_elements;
  auto sum = lumen::task(lumen_bench::chain_sum)
               .node_affinity(victim_id, true)
               .remote(last);
  check_eq(lumen::get(sum, std::chrono::seconds(120)),
           n * (n - 1) / 2 + n * chain_added, "sum of the chain on the victim");
  check_eq(lumen_bench::chain_runs_here.load(), 0,
           "chain tasks that ran here, not on the victim, before the kill");
  auto start = clock::now();
  check(victim.kill(), "the victim node was still running before the kill");
  auto value = lumen::get(last, std::chrono::seconds(120));
  auto elapsed = seconds_since(start);
  check_chain(value);
  check_eq(lumen_bench::chain_runs_here.load(), chain_tasks,
           "chain tasks run again here after the kill");
  result r;
  r.name = name;
  r.unit = "s";
  r.value = elapsed;
  r.steps = 1;
  r.seconds = elapsed;
  return r;
}

/// Rounds each mode's measurement is cut into. This VM's speed changes
/// within a fraction of a second: six runs of `--filter
/// 'lineage_(off|stash)' --duration 2` each gave stash/off ratios with a
/// standard deviation of 0.131 with 4 rounds, 0.036 - 0.057 with 16, and
/// 0.025 with 64 rounds of a fifth of the warm-up each (README).
constexpr int paired_rounds = 64;

/// The same for a mode measured alone (write_ahead), which no other mode
/// is compared with slice by slice.
constexpr int single_rounds = 16;

/// single_client_tasks_async under each of `modes`, in turns: each round
/// runs every mode for its share of the duration, each in a runtime of
/// its own started for the slice (warmed up, then timed), in an order
/// that reverses every round. A mode's figure is its tasks over its timed
/// seconds. Taking turns, rather than one mode's whole duration after the
/// other's, exposes the modes alike to a machine whose speed drifts (a
/// VM's neighbours), which otherwise moves their ratio by tens of percent
/// from run to run; many short slices follow the drift more closely than
/// a few long ones. A slice's runtime is new, so it is warmed up again: a
/// fifth of the usual warm-up when modes take turns (0.1 s at the default
/// duration, about 40,000 tasks here).
workload lineage_throughput(
  std::vector<std::pair<std::string, lumen::lineage_mode>> modes) {
  std::vector<std::string> names;
  for (auto& m : modes)
    names.push_back(m.first);
  return workload{names, [modes](const timing& t) {
                    bool paired = modes.size() > 1;
                    int rounds = paired ? paired_rounds : single_rounds;
                    timing slice = t;
                    slice.duration_seconds = t.duration_seconds / rounds;
                    if (paired)
                      slice.warmup_seconds = t.warmup_seconds / 5;
                    std::vector<result> sums(modes.size());
                    for (int round = 0; round < rounds; ++round)
                      for (std::size_t k = 0; k < modes.size(); ++k) {
                        auto i = round % 2 == 0 ? k : modes.size() - 1 - k;
                        const auto& [name, mode] = modes[i];
                        auto cfg = bench_config();
                        cfg.lineage = mode;
                        lumen::init_guard runtime{cfg};
                        const char* what = name.c_str();
                        auto part = timeit(name, "/s", 1000, slice, [what] {
                          small_value_tasks(1000, what);
                        });
                        sums[i].steps += part.steps;
                        sums[i].seconds += part.seconds;
                      }
                    for (std::size_t i = 0; i < modes.size(); ++i) {
                      auto& r = sums[i];
                      r.name = modes[i].first;
                      r.unit = "/s";
                      r.value = 1000 * static_cast<double>(r.steps) / r.seconds;
                    }
                    return sums;
                  }};
}

/// Tasks of the collection workload.
constexpr int gc_tasks = 100'000;

/// Waits (up to a minute) until the GCS's lineage rows satisfy `ok`;
/// returns the last figures read.
template <class Pred>
lumen::detail::embedded_runtime::lineage_figures
lineage_when(lumen::detail::embedded_runtime& rt, Pred ok) {
  auto deadline = clock::now() + std::chrono::minutes(1);
  auto s = rt.lineage_stats();
  while (!ok(s.gcs_rows) && clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s = rt.lineage_stats();
  }
  return s;
}

/// The bytes of the GCS's lineage after gc_tasks tasks, first with their
/// refs held, then once the refs are dropped and collection has run
/// (lineage collection; a row's bytes are its task id and encoded spec).
/// Its steps and seconds are the tasks and the time collection took.
workload lineage_gc_bytes() {
  return workload{
    {"lineage_bytes_100k_held", "lineage_bytes_100k_dropped"},
    [](const timing&) {
      auto cfg = bench_config();
      cfg.lineage = lumen::lineage_mode::stash;
      lumen::init_guard runtime{cfg};
      auto* rt = lumen::detail::current_embedded_runtime();
      check(rt != nullptr, "an embedded runtime runs");
      auto start = rt->lineage_stats();
      std::vector<lumen::object_ref<int>> refs;
      refs.reserve(gc_tasks);
      for (int i = 0; i < gc_tasks; ++i)
        refs.push_back(lumen::task(lumen_bench::gc_echo).remote(i));
      auto got = lumen::get(refs, std::chrono::minutes(5));
      check_eq(got.back(), gc_tasks - 1, "the last task's value");
      auto held = lineage_when(*rt, [&](std::uint64_t n) {
        return n >= start.gcs_rows + gc_tasks;
      });
      check(held.gcs_rows >= start.gcs_rows + gc_tasks,
            "every task's lineage was committed within a minute");
      auto t0 = clock::now();
      refs = {};
      auto dropped = lineage_when(*rt, [&](std::uint64_t n) {
        return n <= start.gcs_rows;
      });
      auto took = seconds_since(t0);
      check(dropped.gcs_rows <= start.gcs_rows,
            "the dropped tasks' lineage was collected within a minute");
      result h;
      h.name = "lineage_bytes_100k_held";
      h.unit = "B";
      h.value = static_cast<double>(held.gcs_bytes);
      result d;
      d.name = "lineage_bytes_100k_dropped";
      d.unit = "B";
      d.value = static_cast<double>(dropped.gcs_bytes);
      d.steps = gc_tasks;
      d.seconds = took;
      return std::vector<result>{h, d};
    }};
}

} // namespace

std::vector<workload>
lineage_workloads(const std::function<bool(const std::string&)>& wanted) {
  using m = lumen::lineage_mode;
  // off and stash take turns; write_ahead comes after both: its synced
  // writes leave the disk busy for a while, which would slow the slice
  // that follows it.
  std::vector<workload> out;
  for (auto group :
       {std::vector{
          std::pair{"single_client_tasks_async_lineage_off", m::off},
          std::pair{"single_client_tasks_async_lineage_stash", m::stash}},
        std::vector{std::pair{"single_client_tasks_async_lineage_write_ahead",
                              m::write_ahead}}}) {
    std::vector<std::pair<std::string, lumen::lineage_mode>> modes;
    for (auto& [name, mode] : group)
      if (wanted(name))
        modes.emplace_back(name, mode);
    if (!modes.empty())
      out.push_back(lineage_throughput(std::move(modes)));
  }
  if (wanted("lineage_bytes_100k_held") || wanted("lineage_bytes_100k_dropped"))
    out.push_back(lineage_gc_bytes());
  return out;
}

std::string lineage_recovery_metric_name() {
  return "lineage_chain_100_recovery";
}

result run_lineage_recovery(const std::string& lumen_binary) {
  return chain_recovery(lumen_binary);
}

} // namespace lumen::cli::bench

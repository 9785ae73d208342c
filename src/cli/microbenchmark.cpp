// `lumen microbenchmark`: Ray's microbenchmark workloads on Lumen, one line
// per metric (`name value unit`), optionally all results as JSON.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <lumen/lumen.hpp>

#include "bench/bench_workloads.hpp"
#include "cli/command_line.hpp"
#include "cli/values.hpp"
#include "log/log.hpp"

namespace lumen::cli {

namespace {

constexpr const char* bench_usage =
  "lumen microbenchmark [--filter REGEX] [--duration S] [--nodes 1|2] "
  "[--scale F] [--json FILE] [--log-level LEVEL]";

constexpr const char* bench_about =
  "Runs Ray's microbenchmark workloads (the metrics of `ray microbenchmark`)\n"
  "on an embedded one-node Lumen runtime started in this process: each\n"
  "runs for a warm-up, then for --duration seconds, and prints one line\n"
  "`name value unit` (`/s`: operations per second, `GB/s`: 10^9 bytes per\n"
  "second). memcpy_gigabytes is this machine's warm memcpy bandwidth, to\n"
  "compare the put_gigabytes metrics with; memcpy_fresh_gigabytes copies\n"
  "into newly allocated memory each time (page faults included), what a\n"
  "put that allocates its buffer can reach; loopback_tcp_64mib_gigabytes\n"
  "moves 64 MiB between two threads over loopback TCP into a reused\n"
  "buffer, the floor under the 64 MiB transfers between two nodes. Every\n"
  "workload checks its results; a wrong one is reported and the command\n"
  "exits with status 1.\n"
  "single_client_tasks_async_lineage_{off,stash,write_ahead} repeat\n"
  "single_client_tasks_async in a runtime of their own started with that\n"
  "lineage mode. lineage_bytes_100k_{held,dropped} print the bytes (`B`)\n"
  "of the GCS's committed lineage after 100,000 tasks, while their refs\n"
  "are held and once they are dropped and lineage collection has run.\n"
  "--nodes 2 adds workloads across two nodes on loopback (a second node is\n"
  "started as a child process), and lineage_chain_100_recovery (`s`:\n"
  "seconds from the SIGKILL of the node holding a 100-task chain until get\n"
  "returns its last value rebuilt from lineage, failure detection\n"
  "included). Metrics this build cannot measure yet print `name n/a (why)`.\n"
  "The scale_* workloads run once at a fixed size (1,000,000 queued tasks;\n"
  "10,000 actors, ref arguments, objects) and print seconds (`s`); the\n"
  "queued-task one also the resident and heap bytes each queued task adds\n"
  "(`B`). --scale F runs them at F times that size, and says so.";

const std::vector<option_spec>& bench_option_specs() {
  using k = option_kind;
  static const std::vector<option_spec> specs{
    {"help", k::flag, "", "print this help", false},
    {"filter", k::value, "REGEX",
     "run only the metrics whose name matches REGEX (ECMAScript, matched "
     "anywhere in the name)"},
    {"duration", k::value, "S",
     "seconds each workload is measured after its warm-up (default: 2; "
     "warm-up: a quarter of it, 0.2 to 1 s)"},
    {"nodes", k::value, "N",
     "1: one node (default); 2: also the workloads across two nodes"},
    {"scale", k::value, "F",
     "run the scale_* workloads at F (above 0, up to 1) times their size "
     "(default: 1)"},
    {"json", k::value, "FILE", "also write all results to FILE as JSON"},
    {"log-level", k::value, "LEVEL",
     "least severe level the runtime logs to stderr (and the second node "
     "to its log): trace, debug, info, warn, error or off (default: "
     "$LUMEN_LOG_LEVEL, else warn)"},
  };
  return specs;
}

struct bench_options {
  std::string filter;
  std::string json;
  double duration = 2;
  int nodes = 1;
  double scale = 1;
};

bench_options make_bench_options(const settings& in) {
  bench_options opts;
  auto value = [&](const char* key) -> const setting* {
    auto i = in.find(key);
    return i == in.end() ? nullptr : &i->second.back();
  };
  if (auto* s = value("filter"))
    opts.filter = s->value;
  if (auto* s = value("json"))
    opts.json = s->value;
  if (auto* s = value("duration")) {
    try {
      opts.duration = parse_non_negative(s->value);
    } catch (const value_error& e) {
      fail("duration", *s, e.what());
    }
    if (opts.duration <= 0 || opts.duration > 3600)
      fail("duration", *s, "expected seconds from above 0 to 3600");
  }
  if (auto* s = value("scale")) {
    try {
      opts.scale = parse_non_negative(s->value);
    } catch (const value_error& e) {
      fail("scale", *s, e.what());
    }
    if (opts.scale <= 0 || opts.scale > 1)
      fail("scale", *s, "expected a fraction from above 0 to 1");
  }
  if (auto* s = value("nodes")) {
    if (s->value != "1" && s->value != "2")
      fail("nodes", *s, "expected 1 or 2, got " + in_quotes(s->value));
    opts.nodes = s->value == "1" ? 1 : 2;
  }
  if (auto* s = value("log-level")) {
    if (!lumen::detail::parse_log_level(s->value))
      fail("log-level", *s,
           "expected trace, debug, info, warn, error or off, got " +
             in_quotes(s->value));
    // Through the environment: the runtimes this process starts and the
    // second node (a child process) read it.
    ::setenv("LUMEN_LOG_LEVEL", s->value.c_str(), 1);
  }
  return opts;
}

/// The path of this executable, for starting the second node.
std::string self_path() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    throw std::runtime_error("cannot find this executable (/proc/self/exe)");
  return std::string(buf, static_cast<std::size_t>(n));
}

class runner {
 public:
  runner(const bench_options& opts, const std::regex& filter)
    : opts_(opts), filter_(filter) {
    timing_.duration_seconds = opts.duration;
    timing_.warmup_seconds = std::clamp(opts.duration / 4, 0.2, 1.0);
  }

  bool wanted(const std::string& name) const {
    return opts_.filter.empty() || std::regex_search(name, filter_);
  }

  /// Runs `w` if one of its metrics is wanted; prints and keeps results.
  void run(const bench::workload& w) {
    if (std::none_of(w.names.begin(), w.names.end(), [&](auto& n) {
          return wanted(n);
        }))
      return;
    try {
      for (auto& r : w.run(timing_))
        add(r);
    } catch (const std::exception& e) {
      ++failures_;
      std::cout.flush();
      std::cerr << "lumen microbenchmark: " << w.names.front()
                << " FAILED: " << e.what() << std::endl;
    }
  }

  void add(const bench::result& r) {
    if (!wanted(r.name))
      return;
    bench::print(std::cout, r);
    results_.push_back(r);
  }

  const bench::timing& timing() const {
    return timing_;
  }

  int failures() const {
    return failures_;
  }

  const std::vector<bench::result>& results() const {
    return results_;
  }

 private:
  const bench_options& opts_;
  const std::regex& filter_;
  bench::timing timing_;
  std::vector<bench::result> results_;
  int failures_ = 0;
};

void run_two_nodes(runner& run, const bench_options& opts) {
  auto names = bench::two_node_metric_names();
  std::vector<bool> wanted;
  for (auto& n : names)
    wanted.push_back(run.wanted(n));
  if (std::none_of(wanted.begin(), wanted.end(), [](bool b) {
        return b;
      }))
    return;
  if (opts.nodes != 2) {
    for (auto& n : names)
      run.add(bench::unavailable(n, bench::unit_of(n), "run with --nodes 2"));
    return;
  }
  for (auto& r :
       bench::run_two_node_workloads(self_path(), run.timing(), wanted))
    run.add(r);
}

/// The recovery figure: needs a node to kill, so only with --nodes 2.
void run_recovery(runner& run, const bench_options& opts) {
  auto name = bench::lineage_recovery_metric_name();
  if (!run.wanted(name))
    return;
  if (opts.nodes != 2) {
    run.add(bench::unavailable(name, "s", "run with --nodes 2"));
    return;
  }
  run.run(bench::workload{{name}, [](const bench::timing&) {
                            return std::vector<bench::result>{
                              bench::run_lineage_recovery(self_path())};
                          }});
}

} // namespace

int run_microbenchmark(const arguments& args) {
  if ((args.size() == 3 || args.size() == 4) && args[0] == "--internal-node")
    return bench::run_bench_node(args[1], args[2],
                                 args.size() == 4 ? args[3] : std::string{});
  auto& specs = bench_option_specs();
  auto in = parse_command_line(args, specs);
  if (in.count("help") > 0) {
    print_help(std::cout, bench_usage, bench_about, specs);
    return 0;
  }
  auto opts = make_bench_options(in);
  std::regex filter;
  try {
    filter = std::regex(opts.filter, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw usage_error("command line: --filter: not a regular expression: " +
                      in_quotes(opts.filter) + " (" + e.what() + ")");
  }
  if (!opts.json.empty() && !std::ofstream{opts.json, std::ios::app})
    throw std::runtime_error("cannot write " + opts.json); // before the run
  runner run{opts, filter};
  std::cerr << "lumen microbenchmark: " << std::thread::hardware_concurrency()
            << " hardware threads; warm-up " << run.timing().warmup_seconds
            << " s, then " << opts.duration << " s per workload\n";
  auto objects = bench::object_workloads();
  auto tasks = bench::task_workloads();
  for (auto& w : bench::cancel_workloads())
    tasks.push_back(std::move(w));
  auto scale = bench::scale_workloads(opts.scale);
  auto streams = bench::stream_workloads();
  bool one_node = false;
  for (auto* group : {&objects, &tasks, &scale, &streams})
    for (auto& w : *group)
      for (auto& n : w.names)
        one_node = one_node || run.wanted(n);
  if (one_node) {
    lumen::init_guard guard{bench::bench_config()};
    for (auto& w : objects)
      if (w.names.front().rfind("memcpy", 0) == 0)
        run.run(w);
    for (auto& w : tasks)
      run.run(w);
    for (auto& w : streams)
      run.run(w);
    for (auto& w : objects)
      if (w.names.front().rfind("memcpy", 0) != 0)
        run.run(w);
    // Last: 10k actors leave 10k idle worker threads in the pool.
    for (auto& w : scale)
      run.run(w);
  }
  // Each starts a runtime of its own, so after the one above has stopped.
  run_two_nodes(run, opts);
  run_recovery(run, opts);
  // Last: write_ahead's synced writes (and its store, deleted at its
  // shutdown) leave the disk busy, and two-node actor calls run after them
  // measured up to a third slower (42.5k against 62k /s), sync() or not.
  for (auto& w : bench::lineage_workloads([&](const std::string& name) {
         return run.wanted(name);
       }))
    run.run(w);
  if (!opts.json.empty())
    bench::write_json(opts.json,
                      {{"command", "lumen microbenchmark"},
                       {"hardware_threads",
                        std::to_string(std::thread::hardware_concurrency())},
                       {"duration_seconds", std::to_string(opts.duration)},
                       {"nodes", std::to_string(opts.nodes)},
                       {"scale", std::to_string(opts.scale)}},
                      run.results());
  if (run.failures() > 0) {
    std::cerr << "lumen microbenchmark: " << run.failures()
              << " workload(s) FAILED\n";
    return 1;
  }
  return 0;
}

} // namespace lumen::cli

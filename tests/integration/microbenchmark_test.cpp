// Smoke test of `lumen microbenchmark`: every metric runs briefly and
// prints a sane line. No speed is asserted: only that each line is `name
// value unit` with a positive, finite value.
#include <catch2/catch.hpp>

#ifdef LUMEN_CLI_PATH

#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include <sys/wait.h>

namespace {

/// Runs `lumen microbenchmark <args>`; exit status and stdout + stderr.
std::pair<int, std::string> microbenchmark(const std::string& args) {
  auto cmd =
    std::string{"'"} + LUMEN_CLI_PATH + "' microbenchmark " + args + " 2>&1";
  std::string out;
  auto* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;)
    out.append(buf, n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

struct metric_line {
  std::string value; // as printed
  std::string unit;
};

/// The output's lines by their first word.
std::map<std::string, metric_line> lines_of(const std::string& out) {
  std::map<std::string, metric_line> result;
  std::istringstream in{out};
  for (std::string line; std::getline(in, line);) {
    std::istringstream words{line};
    std::string name;
    metric_line m;
    if (words >> name >> m.value >> m.unit)
      result[name] = m;
  }
  return result;
}

/// The printed value of `name`, checked to be a positive, finite number
/// in `unit`.
double sane_value(const std::map<std::string, metric_line>& lines,
                  const std::string& name, const std::string& unit) {
  INFO(name);
  REQUIRE(lines.count(name) == 1);
  auto& m = lines.at(name);
  CHECK(m.unit == unit);
  std::size_t used = 0;
  double v = 0;
  REQUIRE_NOTHROW(v = std::stod(m.value, &used));
  CHECK(used == m.value.size());
  CHECK(std::isfinite(v));
  CHECK(v > 0);
  return v;
}

} // namespace

TEST_CASE("microbenchmark: a short run of every metric prints sane lines",
          "[microbenchmark][cluster]") {
  // The scale workloads at a tenth of their size (the full size is
  // tests/integration/scale_test.cpp); each says the size it ran at.
  auto [status, out] = microbenchmark("--duration 0.2 --nodes 2 --scale 0.1");
  INFO(out);
  REQUIRE(status == 0);
  CHECK_THAT(out, !Catch::Contains(" n/a "));
  CHECK_THAT(out, Catch::Contains("scale_1m_queued_tasks at --scale 0.1: "
                                  "100000 instead of 1000000"));
  auto lines = lines_of(out);
  // Ray's metric names (ray microbenchmark), then Lumen's own.
  for (auto name : {"single_client_tasks_sync",
                    "single_client_tasks_async",
                    "multi_client_tasks_async",
                    "1_1_actor_calls_sync",
                    "1_1_actor_calls_async",
                    "1_1_actor_calls_concurrent",
                    "1_n_actor_calls_async",
                    "n_n_actor_calls_async",
                    "n_n_actor_calls_with_arg_async",
                    "single_client_put_calls",
                    "single_client_get_calls",
                    "multi_client_put_calls",
                    "single_client_get_object_containing_10k_refs",
                    "single_client_wait_1k_refs",
                    "single_client_tasks_and_get_batch",
                    "placement_group_create/removal",
                    "two_node_tasks_async",
                    "two_node_actor_calls_async",
                    "cancel_10k_queued_tasks",
                    "generator_items",
                    "two_node_generator_items",
                    "1_1_async_actor_calls_async"})
    sane_value(lines, name, "/s");
  for (auto name : {"memcpy_gigabytes", "loopback_tcp_64mib_gigabytes",
                    "single_client_put_gigabytes", "multi_client_put_gigabytes",
                    "two_node_object_push_64mib_gigabytes",
                    "two_node_object_pull_64mib_gigabytes",
                    "two_node_object_push_64mib_tls_gigabytes",
                    "two_node_object_pull_64mib_tls_gigabytes"})
    sane_value(lines, name, "GB/s");
  for (auto name :
       {"scale_1m_queued_tasks", "scale_10k_actors", "scale_task_10k_ref_args",
        "scale_get_10k_objects", "async_actor_10k_concurrent_sleeps"})
    sane_value(lines, name, "s");
  // The calls' code ran on the actor's one thread.
  CHECK(sane_value(lines, "async_actor_10k_concurrent_sleeps_call_threads",
                   "threads") == 1);
  sane_value(lines, "async_actor_10k_concurrent_sleeps_threads", "threads");
  sane_value(lines, "async_actor_10k_concurrent_sleeps_threads_added",
             "threads");
  for (auto name : {"scale_1m_queued_tasks_rss_bytes_per_task",
                    "scale_1m_queued_tasks_heap_bytes_per_task"})
    sane_value(lines, name, "B");
  // Lineage collection: the bytes left once the refs are dropped may be
  // none at all, and are a small part of those held.
  auto held = sane_value(lines, "lineage_bytes_100k_held", "B");
  REQUIRE(lines.count("lineage_bytes_100k_dropped") == 1);
  CHECK(lines.at("lineage_bytes_100k_dropped").unit == "B");
  CHECK(std::stod(lines.at("lineage_bytes_100k_dropped").value) < held / 100);
  // What the borrowing rounds left behind: a figure in MiB, which may be
  // below zero (memory given back).
  std::set<std::string> growth{"two_node_borrowed_refs_resident_growth_mib",
                               "two_node_borrowed_refs_heap_growth_mib"};
  for (auto& name : growth) {
    INFO(name);
    REQUIRE(lines.count(name) == 1);
    CHECK(lines.at(name).unit == "MiB");
    CHECK(std::isfinite(std::stod(lines.at(name).value)));
  }
  // Whatever else it printed (the scale workloads among them) is sane too.
  for (auto& [name, m] : lines) {
    if (name.rfind("lumen", 0) == 0 || name == "lineage_bytes_100k_dropped" ||
        growth.count(name) > 0)
      continue; // the header line, log lines of the nodes; checked above
    INFO(name);
    std::size_t used = 0;
    double v = 0;
    REQUIRE_NOTHROW(v = std::stod(m.value, &used));
    CHECK(used == m.value.size());
    CHECK(std::isfinite(v));
    CHECK(v > 0);
  }
}

TEST_CASE("microbenchmark: lineage modes and chain recovery print sane lines",
          "[microbenchmark][cluster]") {
  auto [status, out] =
    microbenchmark("--filter '^single_client_tasks_async_lineage_|"
                   "^lineage_chain_100_recovery$' --duration 0.2 --nodes 2");
  INFO(out);
  REQUIRE(status == 0);
  auto lines = lines_of(out);
  for (auto mode : {"off", "stash", "write_ahead"})
    sane_value(lines, std::string{"single_client_tasks_async_lineage_"} + mode,
               "/s");
  // Seconds from the SIGKILL to the rebuilt value; the workload itself
  // fails (status 1) after 120 s, so anything printed is below that.
  CHECK(sane_value(lines, "lineage_chain_100_recovery", "s") < 120);
}

TEST_CASE("microbenchmark: the recovery figure needs --nodes 2",
          "[microbenchmark]") {
  auto [status, out] =
    microbenchmark("--filter '^lineage_chain_100_recovery$' --duration 0.2");
  INFO(out);
  CHECK(status == 0);
  CHECK_THAT(out, Catch::Contains("lineage_chain_100_recovery n/a (run with "
                                  "--nodes 2)"));
}

#endif // LUMEN_CLI_PATH

// Smoke test of `lumen microbenchmark`: the fault-tolerance metrics run
// briefly and print sane lines. No speed is asserted: only that each line
// is `name value unit` with a positive, finite value.
#include <catch2/catch.hpp>

#ifdef LUMEN_CLI_PATH

#include <cmath>
#include <cstdio>
#include <map>
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

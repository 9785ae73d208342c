// Logging of real node processes and of a driver: `lumen start
// --log-level --log-file`, the per-node log files, and a driver that stays
// quiet on stderr at the default level (log/log.hpp, docs/logging.md).
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>

#include "cluster_support.hpp"
#include "cluster_tasks.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, {}};
}

/// A directory of its own for files a test names, removed at the end.
struct temp_dir {
  temp_dir() {
    char tmpl[] = "/tmp/lumen-logit-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    if (std::getenv("LUMEN_TEST_KEEP_DIR") == nullptr)
      cluster_it::run("rm -rf " + path);
  }
  std::string path;
};

/// Unsets an environment variable while it lives.
struct unset_env {
  explicit unset_env(const char* name) : name(name) {
    if (auto* v = std::getenv(name)) {
      had = true;
      before = v;
    }
    ::unsetenv(name);
  }
  ~unset_env() {
    if (had)
      ::setenv(name, before.c_str(), 1);
  }
  const char* name;
  bool had = false;
  std::string before;
};

/// The per-node log `lumen start` gives node `f`.
std::string default_log(const cluster_it::test_cluster& c,
                        const cluster_it::node_file& f) {
  return c.dir() + "/logs/" + f.at("role") + "-" + f.at("pid") + ".log";
}

/// The first worker's node file.
cluster_it::node_file worker_of(const cluster_it::test_cluster& c) {
  for (auto& f : c.nodes())
    if (f.at("role") != "head")
      return f;
  throw std::runtime_error("no worker node file");
}

} // namespace

TEST_CASE("logging: a node logs at its --log-level to its --log-file",
          "[log][cluster]") {
  unset_env level{"LUMEN_LOG_LEVEL"};
  unset_env file{"LUMEN_LOG_FILE"};
  temp_dir tmp;
  auto custom = tmp.path + "/custom/worker.log";
  cluster_it::test_cluster cluster{
    1, 1, {"--log-level debug --log-file " + custom}};
  cluster_it::watchdog dog{cluster, 240s};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  auto worker = worker_of(cluster);
  auto id = worker.at("id");
  auto head = cluster.head();
  // Tasks sent to the worker, and an object it pulls from the head.
  for (int i = 0; i < 3; ++i)
    CHECK(
      lumen::get(lumen::task(cluster_tasks::where).node_affinity(id).remote(i),
                 60s) == id + ":" + std::to_string(i));
  constexpr std::int64_t size = 4 << 20;
  auto blob = lumen::task(cluster_tasks::make_blob)
                .node_affinity(head.at("id"))
                .remote(size, 3);
  CHECK(lumen::get(lumen::task(cluster_tasks::check_blob)
                     .node_affinity(id)
                     .remote(blob, size, 3),
                   60s) == id + ":ok");
  // Every line reaches the file at once.
  auto log = read_file(custom);
  CHECK_THAT(log, Contains("info    lumen: worker node " + id +
                           " listening on " + worker.at("address")));
  CHECK_THAT(log, Contains("debug   lumen: took task '"));
  CHECK_THAT(log, Contains("debug   lumen: pulling object "));
  CHECK_THAT(log, Contains(" bytes) from node " + head.at("id")));
  // The file took the lines; the per-node log (the node's stderr) gets only
  // warnings and errors now.
  auto stderr_log = read_file(default_log(cluster, worker));
  CHECK_THAT(stderr_log, !Contains("listening on"));
  CHECK_THAT(stderr_log, !Contains("debug"));
  // The head logs at the default level (info) to its per-node log.
  auto head_log = read_file(default_log(cluster, head));
  CHECK_THAT(head_log, Contains("info    lumen: head node " + head.at("id") +
                                " listening on"));
  CHECK_THAT(head_log,
             Contains("info    lumen: gcs: node " + id + " registered"));
  CHECK_THAT(head_log, !Contains("debug   lumen:"));
}

TEST_CASE("logging: a driver at the default level prints nothing on stderr",
          "[log][cluster]") {
  unset_env level{"LUMEN_LOG_LEVEL"};
  unset_env file{"LUMEN_LOG_FILE"};
  temp_dir tmp;
  cluster_it::test_cluster cluster{1, 1};
  cluster_it::watchdog dog{cluster, 240s};
  auto captured = tmp.path + "/driver-stderr.txt";
  std::fflush(stderr);
  int saved = ::dup(STDERR_FILENO);
  int fd = ::open(captured.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
  bool nodes_up = false;
  std::vector<std::string> results;
  {
    // A normal run: join, tasks on both nodes, objects both ways.
    lumen::init_guard g{lumen::config{.address = cluster.address()}};
    nodes_up = cluster_it::test_cluster::wait_for_nodes(2);
    for (auto& f : cluster.nodes())
      results.push_back(lumen::get(
        lumen::task(cluster_tasks::where).node_affinity(f.at("id")).remote(1),
        60s));
    constexpr std::int64_t size = 4 << 20;
    auto put = lumen::put(cluster_tasks::make_blob(size, 5));
    auto worker = worker_of(cluster).at("id");
    results.push_back(lumen::get(lumen::task(cluster_tasks::check_blob)
                                   .node_affinity(worker)
                                   .remote(put, size, 5),
                                 60s));
    auto made = lumen::task(cluster_tasks::make_blob)
                  .node_affinity(worker)
                  .remote(size, 6);
    results.push_back(lumen::get(made, 60s) == cluster_tasks::make_blob(size, 6)
                        ? "same"
                        : "different");
  }
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  REQUIRE(nodes_up);
  REQUIRE(results.size() == 4);
  CHECK(results.back() == "same");
  auto text = read_file(captured);
  INFO("the driver's stderr: " << text);
  CHECK(text.empty());
}

TEST_CASE("logging: lumen start refuses an unknown --log-level", "[log][cli]") {
  temp_dir tmp;
  auto [status, out] = cluster_it::run(
    std::string{LUMEN_CLI_PATH} +
    " start --head --port 0 --log-level loud --runtime-dir " + tmp.path);
  CHECK(status == 2);
  CHECK_THAT(out, Contains("--log-level: expected trace, debug, info, warn, "
                           "error or off, got 'loud'"));
}

TEST_CASE("logging: the log names why a node, its objects and its actor "
          "were lost",
          "[log][cluster]") {
  unset_env level{"LUMEN_LOG_LEVEL"};
  unset_env file{"LUMEN_LOG_FILE"};
  temp_dir tmp;
  auto driver_log = tmp.path + "/driver.log";
  cluster_it::test_cluster cluster{
    2, 2, {"--resources '{\"tally\": 1}'", "--resources '{\"tally\": 1}'"}};
  cluster_it::watchdog dog{cluster, 240s};
  lumen::init_guard g{lumen::config{.address = cluster.address(),
                                    .log_level = lumen::log_level::info,
                                    .log_file = driver_log}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto t = lumen::actor(cluster_tasks::Tally::create)
             .resources({{"tally", 1}})
             .max_restarts(-1)
             .max_task_retries(-1)
             .remote(0);
  auto victim = lumen::get(t.task(&cluster_tasks::Tally::node).remote(), 30s);
  // A chain whose values stay on the victim (1 MiB each).
  constexpr std::int64_t n = 1 << 17;
  auto x = lumen::task(cluster_tasks::chain_start)
             .node_affinity(victim, true)
             .remote(n);
  for (int i = 1; i <= 3; ++i)
    x = lumen::task(cluster_tasks::chain_step)
          .node_affinity(victim, true)
          .remote(x, std::int64_t{i});
  REQUIRE(lumen::get(lumen::task(cluster_tasks::chain_sum)
                       .node_affinity(victim, true)
                       .remote(x),
                     60s) != 0);
  std::string victim_pid;
  for (auto& f : cluster.nodes())
    if (f.at("id") == victim)
      victim_pid = f.at("pid");
  REQUIRE(!victim_pid.empty());
  ::kill(std::stoi(victim_pid), SIGKILL);
  auto v = lumen::get(x, 120s); // rebuilt on the other worker
  REQUIRE(v.size() == static_cast<std::size_t>(n));
  CHECK(v.back() == n - 1 + 6);
  auto second = lumen::get(t.task(&cluster_tasks::Tally::node).remote(), 60s);
  CHECK(second != victim);
  // A kill that allows a restart: the actor restarts where it is.
  lumen::kill(t, false);
  CHECK(lumen::get(t.task(&cluster_tasks::Tally::node).remote(), 60s) ==
        second);
  auto log = read_file(driver_log);
  CHECK_THAT(log, Contains("lumen: node " + victim +
                           " is gone: the GCS declared it dead"));
  CHECK_THAT(log, Contains("lumen: rebuilding object ") &&
                    Contains(": every copy was on nodes that died"));
  CHECK_THAT(log, Contains("is rebuilt: task '"));
  CHECK_THAT(log, Contains("restarts elsewhere: the node hosting it (" +
                           victim + ") is gone"));
  CHECK_THAT(log, Contains("restarts on node " + second +
                           ": lumen::kill asked for a restart"));
  CHECK(cluster_it::run("cat " + cluster.dir() + "/logs/head-*.log")
          .second.find("lumen: gcs: node " + victim + " is dead (") !=
        std::string::npos);
}

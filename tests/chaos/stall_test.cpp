// Stalls, not deaths: a head or a worker stopped with SIGSTOP for a while
// (as a GC pause, a swap storm or a frozen VM would) and continued.
//
// - A head stopped for 6 s or 15 s must take its whole cluster back: every
//   node alive again under its old id, and a new driver's tasks running on
//   each (gcs/failure_detector.hpp, the stall rule).
// - A worker stopped long enough to be declared dead must not go on
//   outside the cluster: started with `lumen start --block` (as a
//   supervisor would), it ends with exit status 75 and says why in its
//   log, and the cluster's view has it dead (gcs/declared_dead.hpp).
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <lumen/lumen.hpp>

#include "../integration/cluster_support.hpp"
#include "cluster_tasks.hpp"

extern char** environ;

using namespace std::chrono_literals;

namespace {

/// When the watchdog ends a test that hangs.
constexpr auto test_limit = std::chrono::seconds(240);

/// Live non-driver nodes in this driver's view, by id.
std::set<std::string> live_nodes() {
  std::set<std::string> ids;
  for (auto& n : lumen::nodes())
    if (n.alive && !n.driver)
      ids.insert(n.id);
  return ids;
}

/// Waits (bounded) until this driver sees every node of `ids` alive.
bool wait_alive(const std::set<std::string>& ids, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto live = live_nodes();
    bool all = true;
    for (auto& id : ids)
      all = all && live.count(id) > 0;
    if (all)
      return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

/// Waits (bounded) until this driver sees node `id` dead.
bool wait_dead(const std::string& id, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    for (auto& n : lumen::nodes())
      if (n.id == id && !n.alive)
        return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

/// Runs one task pinned (hard affinity) to each node of `ids`; returns the
/// nodes it ran on, as the tasks report them.
std::set<std::string> run_on_each(const std::set<std::string>& ids) {
  std::vector<lumen::object_ref<std::string>> refs;
  int i = 0;
  for (auto& id : ids)
    refs.push_back(
      lumen::task(cluster_tasks::where).node_affinity(id).remote(i++));
  std::set<std::string> ran;
  auto id = ids.begin();
  for (auto& ref : refs) {
    try {
      auto r = lumen::get(ref, 60s);
      ran.insert(r.substr(0, r.find(':')));
    } catch (const lumen::error& e) {
      FAIL_CHECK("the task pinned to node " << *id
                                            << " did not run: " << e.what());
    }
    ++id;
  }
  return ran;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// The ids of the cluster's nodes (head and workers), from their node files.
std::set<std::string> node_ids(const cluster_it::test_cluster& cluster) {
  std::set<std::string> ids;
  for (auto& f : cluster.nodes())
    ids.insert(f.at("id"));
  return ids;
}

void head_stall(std::chrono::seconds stall) {
  cluster_it::test_cluster cluster{2};
  cluster_it::watchdog watchdog{cluster, test_limit};
  auto ids = node_ids(cluster);
  REQUIRE(ids.size() == 3);
  {
    lumen::init_guard g{lumen::config{.address = cluster.address()}};
    REQUIRE(wait_alive(ids, 30s));
    CHECK(run_on_each(ids) == ids);
  }
  auto head_pid = std::stoi(cluster.head().at("pid"));
  REQUIRE(::kill(head_pid, SIGSTOP) == 0);
  std::this_thread::sleep_for(stall);
  REQUIRE(::kill(head_pid, SIGCONT) == 0);
  // A new driver: the cluster is whole again, under the same ids, and its
  // tasks run on every node.
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  CHECK(wait_alive(ids, 30s));
  CHECK(run_on_each(ids) == ids);
  CHECK(live_nodes() == ids);
  // Every node process still runs (none was told it is dead).
  for (auto& f : cluster.nodes())
    CHECK(::kill(std::stoi(f.at("pid")), 0) == 0);
  CHECK(cluster.nodes().size() == 3);
  // The head saw its stall and declared nobody dead.
  auto head_log =
    cluster_it::run("cat " + cluster.dir() + "/logs/head-*.log").second;
  INFO(head_log);
  CHECK(head_log.find("did not run for") != std::string::npos);
  for (auto& id : ids)
    CHECK(head_log.find("node " + id + " is dead") == std::string::npos);
}

/// A child process running `args` (no shell); its pid.
pid_t spawn_process(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
    return -1;
  return pid;
}

/// Waits (bounded) for child `pid` to end; its wait status, or -1 if it
/// still runs.
int wait_exit(pid_t pid, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return status;
    std::this_thread::sleep_for(100ms);
  }
  return -1;
}

} // namespace

TEST_CASE("stalls: a head stopped for 6 s takes its cluster back",
          "[chaos][stall]") {
  head_stall(6s);
}

TEST_CASE("stalls: a head stopped for 15 s takes its cluster back",
          "[chaos][stall]") {
  head_stall(15s);
}

TEST_CASE("stalls: a worker stopped for 8 s is declared dead and exits with "
          "status 75 (lumen start --block)",
          "[chaos][stall]") {
  // The head declares a node dead 1 s after suspecting it (about 4 s of
  // silence with the default phi), so 8 s is surely past it.
  cluster_it::test_cluster cluster{1, 2, {}, "", "--failure-grace-ms 1000"};
  cluster_it::watchdog watchdog{cluster, test_limit};
  auto log = cluster.dir() + "/logs/blocked-worker.log";
  auto pid = spawn_process({LUMEN_CLI_PATH, "start", "--block", "--address",
                            cluster.address(), "--runtime-dir", cluster.dir(),
                            "--num-cpus", "1", "--load",
                            LUMEN_CLUSTER_TASKS_LIB, "--log-file", log});
  REQUIRE(pid > 0);
  struct reaper { // never leave the child behind
    pid_t pid;
    ~reaper() {
      if (::waitpid(pid, nullptr, WNOHANG) == 0) {
        ::kill(pid, SIGCONT);
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  } reap{pid};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  // Its id: the node file of its pid.
  std::string victim;
  for (int i = 0; i < 300 && victim.empty(); ++i) {
    for (auto& f : cluster.nodes())
      if (f.at("pid") == std::to_string(pid))
        victim = f.at("id");
    if (victim.empty())
      std::this_thread::sleep_for(100ms);
  }
  REQUIRE(!victim.empty());
  auto ids = node_ids(cluster);
  REQUIRE(ids.size() == 3);
  if (!wait_alive(ids, 60s)) {
    INFO("head log:\n"
         << cluster_it::run("cat " + cluster.dir() + "/logs/head-*.log").second
         << "blocked worker's log:\n"
         << read_file(log));
    FAIL("the nodes are not all alive");
  }
  CHECK(run_on_each(ids) == ids);
  REQUIRE(::kill(pid, SIGSTOP) == 0);
  std::this_thread::sleep_for(8s);
  // Declared dead while it was stopped.
  CHECK(wait_dead(victim, 1s));
  REQUIRE(::kill(pid, SIGCONT) == 0);
  // Once it runs again it learns so and ends, with the status a
  // supervisor restarts on, saying why.
  auto status = wait_exit(pid, 60s);
  REQUIRE(status != -1);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 75);
  auto text = read_file(log);
  INFO(text);
  CHECK(text.find("declared this node (" + victim + ") dead") !=
        std::string::npos);
  CHECK(text.find("exit status 75") != std::string::npos);
  // The cluster's view has it dead, and its node file is gone.
  CHECK(wait_dead(victim, 5s));
  for (auto& f : cluster.nodes())
    CHECK(f.at("id") != victim);
  // The rest of the cluster works, and a node started again (what the
  // supervisor does) joins under a new id.
  ids.erase(victim);
  CHECK(run_on_each(ids) == ids);
  cluster.add_worker();
  auto again = node_ids(cluster);
  CHECK(again.size() == 3);
  CHECK(again.count(victim) == 0);
  CHECK(wait_alive(again, 30s));
  CHECK(run_on_each(again) == again);
}

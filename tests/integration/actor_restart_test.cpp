// Actors whose node dies: re-created on a live node while max_restarts
// allows, calls re-sent while max_task_retries allows; detached actors
// outlive the driver that made them.
#include <catch2/catch.hpp>

#include <csignal>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "cluster_support.hpp"
#include "cluster_tasks.hpp"

using namespace std::chrono_literals;
using cluster_tasks::Tally;

namespace {

/// Two workers that can each hold one Tally.
const std::vector<std::string> tally_nodes{"--resources '{\"tally\": 1}'",
                                           "--resources '{\"tally\": 1}'"};

cluster_it::node_file node_file_of(const cluster_it::test_cluster& cluster,
                                   const std::string& id) {
  for (auto& f : cluster.nodes())
    if (f.at("id") == id)
      return f;
  throw std::runtime_error("no node file for node " + id);
}

void kill_node(const cluster_it::node_file& f) {
  ::kill(std::stoi(f.at("pid")), SIGKILL);
}

} // namespace

TEST_CASE("actor restart: an actor whose node dies is re-created elsewhere",
          "[actors][cluster]") {
  cluster_it::test_cluster cluster{2, 2, tally_nodes};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto t = lumen::actor(Tally::create)
             .resources({{"tally", 1}})
             .max_restarts(-1)
             .max_task_retries(-1)
             .remote(100);
  auto first = lumen::get(t.task(&Tally::node).remote(), 30s);
  CHECK(lumen::get(t.task(&Tally::add).remote(1), 30s) == 101);
  CHECK_FALSE(lumen::get(t.task(&Tally::restarted).remote(), 30s));
  // Calls on their way when the node dies are sent again.
  std::vector<lumen::object_ref<int>> calls;
  for (int i = 0; i < 20; ++i)
    calls.push_back(t.task(&Tally::add).remote(1));
  kill_node(node_file_of(cluster, first));
  for (auto& v : lumen::get(calls, 60s))
    CHECK(v > 100);
  auto second = lumen::get(t.task(&Tally::node).remote(), 60s);
  CHECK(second != first);
  // The instance made on the other node knows it replaces one.
  CHECK(lumen::get(t.task(&Tally::restarted).remote(), 30s));
  // The fresh instance counts on from its factory's argument.
  auto now = lumen::get(t.task(&Tally::add).remote(0), 30s);
  CHECK(now >= 100);
  CHECK(now <= 121);
}

TEST_CASE("actor restart: with restarts used up, calls fail with "
          "actor_died_error",
          "[actors][cluster]") {
  cluster_it::test_cluster cluster{2, 2, tally_nodes};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto t = lumen::actor(Tally::create)
             .resources({{"tally", 1}})
             .max_restarts(1)
             .max_task_retries(-1) // calls racing the death are sent again
             .remote(0);
  auto first = lumen::get(t.task(&Tally::node).remote(), 30s);
  kill_node(node_file_of(cluster, first));
  auto second = lumen::get(t.task(&Tally::node).remote(), 60s);
  CHECK(second != first);
  kill_node(node_file_of(cluster, second));
  CHECK_THROWS_AS(lumen::get(t.task(&Tally::add).remote(1), 60s),
                  lumen::actor_died_error);
}

namespace {

/// Runs a driver in a child process that makes a detached actor named
/// `name` and then is killed (`crash`) or shuts down; returns whether the
/// child did its part.
bool detached_by_child(const cluster_it::test_cluster& cluster,
                       const char* name, bool crash) {
  auto pid = fork();
  if (pid < 0)
    return false;
  if (pid == 0) {
    int code = 1;
    try {
      lumen::init(lumen::config{.address = cluster.address()});
      auto k = lumen::actor(Tally::create)
                 .name(name, "it")
                 .detached()
                 .resources({{"tally", 1}})
                 .remote(5);
      if (lumen::get(k.task(&Tally::add).remote(10), 30s) == 15)
        code = 0;
      if (crash && code == 0)
        ::raise(SIGKILL);
      lumen::shutdown();
    } catch (const std::exception& e) {
      fprintf(stderr, "child driver: %s\n", e.what());
    }
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return crash ? WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL
               : WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/// The detached actor `name` from another driver, with its state.
void check_detached(const char* name) {
  std::optional<lumen::actor_handle<Tally>> k;
  for (int i = 0; i < 100 && !k; ++i) {
    k = lumen::get_actor<Tally>(name, "it");
    if (!k)
      std::this_thread::sleep_for(100ms);
  }
  REQUIRE(k);
  CHECK(lumen::get(k->task(&Tally::add).remote(1), 30s) == 16);
  lumen::kill(*k);
}

} // namespace

TEST_CASE("actor restart: a detached named actor outlives a killed driver",
          "[actors][cluster]") {
  cluster_it::test_cluster cluster{2, 2, tally_nodes};
  REQUIRE(detached_by_child(cluster, "crashed", true));
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  check_detached("crashed");
}

TEST_CASE("actor restart: a detached named actor outlives a driver that "
          "shuts down",
          "[actors][cluster]") {
  cluster_it::test_cluster cluster{2, 2, tally_nodes};
  REQUIRE(detached_by_child(cluster, "clean", false));
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  check_detached("clean");
}

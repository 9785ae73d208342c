// lumen::cancel across nodes: a head and two workers as real `lumen`
// processes on 127.0.0.1, this process the driver (it offers no CPUs, so
// every task runs on another node). Tasks write what they did to files.
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "cancel_tasks.hpp"
#include "cluster_support.hpp"
#include "lumen/cancel.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using lumen_it::eventually;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool contains(const std::string& path, const std::string& what) {
  return slurp(path).find(what) != std::string::npos;
}

/// The ids of the live worker nodes (neither driver nor head).
std::vector<std::string> workers() {
  std::vector<std::string> result;
  for (auto& n : lumen::nodes())
    if (n.alive && !n.driver && !n.head)
      result.push_back(n.id);
  return result;
}

struct fixture {
  cluster_it::test_cluster cluster{2, 1};
  cluster_it::watchdog dog{cluster, std::chrono::seconds(240)};
  lumen::init_guard guard{lumen::config{.address = cluster.address()}};
  std::string dir = cluster.dir();

  fixture() {
    REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  }

  std::string file(const std::string& name) const {
    return dir + "/" + name;
  }
};

constexpr int long_ms = 60'000;

} // namespace

TEST_CASE("cancel cluster: a running task on another node sees cancelled()",
          "[cancel][cluster]") {
  fixture f;
  auto w = workers().at(0);
  auto path = f.file("running");
  auto r =
    lumen::task(cancel_tasks::spin).node_affinity(w).remote(path, long_ms);
  REQUIRE(eventually([&] {
    return contains(path, "start " + w);
  }));
  lumen::cancel(r);
  CHECK_THROWS_AS(lumen::get(r, 30s), lumen::task_cancelled_error);
  CHECK(contains(path, "cancelled"));
}

TEST_CASE("cancel cluster: a task queued on another node never runs",
          "[cancel][cluster]") {
  fixture f;
  auto w = workers().at(0);
  auto busy = f.file("busy");
  auto queued = f.file("queued");
  auto blocker =
    lumen::task(cancel_tasks::spin).node_affinity(w).remote(busy, long_ms);
  REQUIRE(eventually([&] {
    return contains(busy, "start");
  }));
  auto r = lumen::task(cancel_tasks::mark).node_affinity(w).remote(queued);
  lumen::cancel(r);
  auto t0 = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(lumen::get(r, 30s), lumen::task_cancelled_error);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s); // before the blocker
  lumen::cancel(blocker);
  CHECK_THROWS_AS(lumen::get(blocker, 30s), lumen::task_cancelled_error);
  // The node is free again and runs new work; the cancelled task never ran.
  CHECK(
    lumen::get(
      lumen::task(cancel_tasks::mark).node_affinity(w).remote(f.file("after")),
      30s) == 1);
  CHECK(slurp(queued).empty());
}

TEST_CASE("cancel cluster: recursive reaches children on a third node",
          "[cancel][cluster]") {
  fixture f;
  auto ws = workers();
  REQUIRE(ws.size() == 2);
  auto path = f.file("parent");
  auto r = lumen::task(cancel_tasks::parent)
             .num_cpus(0)
             .node_affinity(ws[0])
             .remote(path, 2, ws[1], long_ms);
  REQUIRE(eventually([&] {
    return contains(path, "start " + ws[0]) &&
           contains(path + ".0", "start " + ws[1]) &&
           contains(path + ".1", "start " + ws[1]);
  }));
  lumen::cancel(r);
  CHECK_THROWS_AS(lumen::get(r, 30s), lumen::task_cancelled_error);
  CHECK(eventually([&] {
    return contains(path, "cancelled") && contains(path + ".0", "cancelled") &&
           contains(path + ".1", "cancelled");
  }));
}

TEST_CASE("cancel cluster: force fails at once, the task runs on",
          "[cancel][cluster]") {
  fixture f;
  auto w = workers().at(0);
  auto path = f.file("forced");
  auto r = lumen::task(cancel_tasks::spin).node_affinity(w).remote(path, 1500);
  REQUIRE(eventually([&] {
    return contains(path, "start");
  }));
  lumen::cancel(r, {.force = true, .recursive = false});
  CHECK_THROWS_AS(lumen::get(r, 1s), lumen::task_cancelled_error);
  // The user thread was not killed: it saw the cancel and ended.
  CHECK(eventually([&] {
    return contains(path, "cancelled");
  }));
  CHECK_THROWS_AS(lumen::get(r, 1s), lumen::task_cancelled_error);
}

TEST_CASE("cancel cluster: a finished task stays finished",
          "[cancel][cluster]") {
  fixture f;
  auto r = lumen::task(cancel_tasks::mark).remote(f.file("done"));
  CHECK(lumen::get(r, 30s) == 1);
  lumen::cancel(r, {.force = true});
  CHECK(lumen::get(r, 30s) == 1);
}

TEST_CASE("cancel cluster: calls to an actor on another node",
          "[cancel][cluster]") {
  fixture f;
  auto w = workers().at(1);
  auto a =
    lumen::actor(cancel_tasks::Spinner::create).node_affinity(w).remote();
  auto path = f.file("actor");
  auto queued_path = f.file("actor_queued");
  auto running = a.task(&cancel_tasks::Spinner::spin).remote(path, long_ms);
  auto queued = a.task(&cancel_tasks::Spinner::mark).remote(queued_path);
  REQUIRE(eventually([&] {
    return contains(path, "start " + w);
  }));
  lumen::cancel(queued);
  CHECK_THROWS_AS(lumen::get(queued, 30s), lumen::task_cancelled_error);
  lumen::cancel(running);
  CHECK_THROWS_AS(lumen::get(running, 30s), lumen::task_cancelled_error);
  CHECK(contains(path, "cancelled"));
  // The actor lives on; the dropped call never ran.
  CHECK(lumen::get(
          a.task(&cancel_tasks::Spinner::mark).remote(f.file("actor_after")),
          30s) == 1);
  CHECK(slurp(queued_path).empty());
}

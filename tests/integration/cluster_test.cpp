// Real node processes on 127.0.0.1: a head and workers started with
// `lumen start`, this test process joining as the driver.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <thread>

#include "cli/node_file.hpp"
#include "cluster_support.hpp"
#include "cluster_tasks.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;

namespace {

std::string node_of(const std::string& where) {
  return where.substr(0, where.find(':'));
}

} // namespace

TEST_CASE("cluster: a driver sees the head and the workers", "[cluster]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto nodes = lumen::nodes();
  REQUIRE(nodes.front().id == lumen::node_id());
  CHECK(nodes.front().driver);
  CHECK(nodes.front().resources_total.count("CPU") == 0);
  std::size_t heads = 0;
  for (auto& n : nodes)
    if (n.head) {
      ++heads;
      CHECK(n.address == cluster.address());
      CHECK(n.resources_total.at("CPU") == 2);
    }
  CHECK(heads == 1);
}

TEST_CASE("cluster: spread tasks run on several nodes", "[cluster]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  std::vector<lumen::object_ref<std::string>> refs;
  for (int i = 0; i < 100; ++i)
    refs.push_back(lumen::task(cluster_tasks::where).spread().remote(i));
  std::set<std::string> ids;
  auto results = lumen::get(refs, 60s);
  for (int i = 0; i < 100; ++i) {
    auto& r = results[static_cast<std::size_t>(i)];
    CHECK(r.substr(r.find(':') + 1) == std::to_string(i));
    ids.insert(node_of(r));
  }
  CHECK(ids.size() >= 2);
  CHECK(ids.count(lumen::node_id()) == 0); // the driver offers no CPUs
  // Each node's task counts reach the driver with its heartbeats: the
  // workers ran the 100 tasks, each in a task actor of its own.
  std::uint64_t spawned = 0;
  std::uint64_t executions = 0;
  CHECK(lumen_it::eventually(
    [&] {
      spawned = executions = 0;
      for (auto& n : lumen::nodes()) {
        spawned += n.task_actors_spawned;
        executions += n.task_executions;
      }
      return executions >= 100 && spawned == executions;
    },
    30s));
  CHECK(executions >= 100);
  CHECK(spawned == executions);
}

TEST_CASE("cluster: a 100 MiB result made on one node is consumed on another",
          "[cluster]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  std::vector<std::string> workers;
  for (auto& n : lumen::nodes())
    if (!n.driver && n.alive)
      workers.push_back(n.id);
  REQUIRE(workers.size() >= 2);
  constexpr std::int64_t size = 100 << 20;
  auto blob = lumen::task(cluster_tasks::make_blob)
                .node_affinity(workers[0])
                .remote(size, 7);
  auto checked = lumen::task(cluster_tasks::check_blob)
                   .node_affinity(workers[1])
                   .remote(blob, size, 7);
  CHECK(lumen::get(checked, 120s) == workers[1] + ":ok");
  // The bytes went from node to node, not through this driver.
  CHECK(lumen::nodes().front().object_store_used < std::size_t{1} << 20);
  // The owner pulls the value in chunks when it reads it itself.
  auto here = lumen::get(blob, 120s);
  REQUIRE(here.size() == static_cast<std::size_t>(size));
  CHECK(here == cluster_tasks::make_blob(size, 7));
  // Concurrent readers of one value share its pull.
  auto other = lumen::task(cluster_tasks::make_blob)
                 .node_affinity(workers[1])
                 .remote(std::int64_t{8} << 20, 3);
  std::vector<std::thread> readers;
  std::atomic<int> good{0};
  for (int i = 0; i < 3; ++i)
    readers.emplace_back([&] {
      if (lumen::get(other, 120s) == cluster_tasks::make_blob(8 << 20, 3))
        ++good;
    });
  for (auto& t : readers)
    t.join();
  CHECK(good == 3);
}

TEST_CASE("cluster: hard node affinity to an unknown node fails the task",
          "[cluster]") {
  cluster_it::test_cluster cluster{1};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  auto bad = lumen::task(cluster_tasks::where)
               .node_affinity(std::string(32, 'f'))
               .remote(1);
  CHECK_THROWS_AS(lumen::get(bad, 30s), lumen::error);
  auto soft = lumen::task(cluster_tasks::where)
                .node_affinity(std::string(32, 'f'), true)
                .remote(2);
  CHECK(lumen::get(soft, 30s).size() > 32);
}

TEST_CASE("cluster: an infeasible task shows in lumen status and starts "
          "when a node that fits joins",
          "[cluster]") {
  cluster_it::test_cluster cluster{1};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  auto big =
    lumen::task(cluster_tasks::where).resources({{"gizmo", 1}}).remote(3);
  bool reported = false;
  for (int i = 0; i < 100 && !reported; ++i) {
    auto [status, out] = cluster.cli("status --address " + cluster.address());
    REQUIRE(status == 0);
    reported = out.find("gizmo") != std::string::npos;
    if (!reported)
      std::this_thread::sleep_for(100ms);
  }
  CHECK(reported);
  CHECK_THROWS_AS(lumen::get(big, 200ms), lumen::timeout_error);
  auto [status, out] =
    cluster.cli("start --address " + cluster.address() + " --runtime-dir " +
                cluster.dir() + " --num-cpus 1 --resources '{\"gizmo\": 1}'" +
                " --load " + LUMEN_CLUSTER_TASKS_LIB);
  REQUIRE(status == 0);
  CHECK(lumen::get(big, 60s).size() > 32);
}

TEST_CASE("cluster: a killed worker is seen dead and its tasks run again",
          "[cluster]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  cluster_it::node_file victim;
  for (auto& f : cluster.nodes())
    if (f.at("role") != "head")
      victim = f;
  REQUIRE(!victim.empty());
  // A long task on the victim (soft affinity: once the victim is dead it
  // may run elsewhere); each run appends its node's id to `runs`.
  auto runs = cluster.dir() + "/runs";
  auto slow = lumen::task(cluster_tasks::mark_and_nap)
                .node_affinity(victim.at("id"), true)
                .max_retries(1)
                .remote(runs, 3000);
  auto lines = [&runs] {
    std::vector<std::string> result;
    std::ifstream in{runs};
    for (std::string line; std::getline(in, line);)
      result.push_back(line);
    return result;
  };
  // It runs on the victim, and the victim dies under it.
  bool started = false;
  for (int i = 0; i < 300 && !started; ++i) {
    started = !lines().empty();
    if (!started)
      std::this_thread::sleep_for(100ms);
  }
  REQUIRE(started);
  REQUIRE(lines() == std::vector<std::string>{victim.at("id")});
  ::kill(std::stoi(victim.at("pid")), SIGKILL);
  bool dead = false;
  for (int i = 0; i < 300 && !dead; ++i) {
    for (auto& n : lumen::nodes())
      if (n.id == victim.at("id") && !n.alive)
        dead = true;
    std::this_thread::sleep_for(100ms);
  }
  CHECK(dead);
  // It was lost there and ran again, once, on a live node.
  auto ran_on = lumen::get(slow, 60s);
  CHECK(ran_on != victim.at("id"));
  CHECK(lines() == std::vector<std::string>{victim.at("id"), ran_on});
}

TEST_CASE("cluster: actors are placed by custom resources and keep state",
          "[cluster]") {
  cluster_it::test_cluster cluster{
    2, 2, {"--resources '{\"left\": 1}'", "--resources '{\"right\": 1}'"}};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  std::map<std::string, std::string> node_with;
  for (auto& n : lumen::nodes())
    for (auto& [name, amount] : n.resources_total)
      if (name == "left" || name == "right")
        node_with[name] = n.id;
  REQUIRE(node_with.size() == 2);
  using cluster_tasks::Tally;
  auto left = lumen::actor(Tally::create).resources({{"left", 1}}).remote(100);
  auto right =
    lumen::actor(Tally::create).resources({{"right", 1}}).remote(200);
  CHECK(lumen::get(left.task(&Tally::node).remote(), 30s) == node_with["left"]);
  CHECK(lumen::get(right.task(&Tally::node).remote(), 30s) ==
        node_with["right"]);
  // Calls from this driver run in order, on the one instance.
  std::vector<lumen::object_ref<int>> sums;
  for (int i = 1; i <= 50; ++i)
    sums.push_back(left.task(&Tally::add).remote(i));
  auto got = lumen::get(sums, 30s);
  CHECK(got.back() == 100 + 50 * 51 / 2);
  CHECK(std::is_sorted(got.begin(), got.end()));
  // A ref argument made on another node reaches the actor.
  auto ten = lumen::task(cluster_tasks::where).remote(10);
  CHECK(lumen::get(right.task(&Tally::add).remote(5), 30s) == 205);
  (void)ten;
  // A kill ends it for good; the resource is free for the next one.
  lumen::kill(left);
  CHECK_THROWS_AS(lumen::get(left.task(&Tally::add).remote(1), 30s),
                  lumen::actor_died_error);
  auto again = lumen::actor(Tally::create).resources({{"left", 1}}).remote(7);
  CHECK(lumen::get(again.task(&Tally::add).remote(1), 30s) == 8);
}

TEST_CASE("cluster: a STRICT_SPREAD placement group fills three nodes",
          "[cluster]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto pg =
    lumen::create_placement_group({{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}},
                                  lumen::pg_strategy::strict_spread);
  REQUIRE(pg.wait(30s));
  std::set<std::string> nodes;
  for (int b = 0; b < 3; ++b)
    nodes.insert(node_of(lumen::get(
      lumen::task(cluster_tasks::where).placement_group(pg, b).remote(b),
      30s)));
  CHECK(nodes.size() == 3);
  // A fourth bundle would need a fourth node: it waits.
  auto more = lumen::create_placement_group(
    {{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}},
    lumen::pg_strategy::strict_spread);
  CHECK_FALSE(more.wait(500ms));
  lumen::remove_placement_group(more);
  lumen::remove_placement_group(pg);
}

TEST_CASE("cluster: the key-value table is shared through the head",
          "[cluster]") {
  cluster_it::test_cluster cluster{1};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(lumen::kv::put("job/state", "running"));
  CHECK(lumen::kv::get("job/state") == std::optional<std::string>{"running"});
  CHECK(lumen::kv::keys("job/") == std::vector<std::string>{"job/state"});
}

TEST_CASE("cluster: joining an address where no head listens fails fast",
          "[cluster]") {
  CHECK_THROWS_AS(lumen::init(lumen::config{.address = "127.0.0.1:1"}),
                  lumen::error);
  CHECK_FALSE(lumen::is_initialized());
}

TEST_CASE("cluster: actors spread over nodes or go where affinity says",
          "[cluster]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  using cluster_tasks::Tally;
  std::vector<lumen::actor_handle<Tally>> spread;
  for (int i = 0; i < 6; ++i)
    spread.push_back(lumen::actor(Tally::create).spread().remote(i));
  std::set<std::string> hosts;
  for (auto& a : spread)
    hosts.insert(lumen::get(a.task(&Tally::node).remote(), 30s));
  CHECK(hosts.size() >= 2);
  std::string target;
  for (auto& n : lumen::nodes())
    if (!n.driver && !n.head)
      target = n.id;
  auto pinned = lumen::actor(Tally::create).node_affinity(target).remote(0);
  CHECK(lumen::get(pinned.task(&Tally::node).remote(), 30s) == target);
  auto nowhere =
    lumen::actor(Tally::create).node_affinity(std::string(32, 'e')).remote(0);
  CHECK_THROWS_AS(lumen::get(nowhere.task(&Tally::node).remote(), 30s),
                  lumen::actor_creation_error);
}

TEST_CASE("cluster: a burst of calls to an actor on another node runs in "
          "order, in batches, and a kill after it answers every call",
          "[cluster]") {
  cluster_it::test_cluster cluster{1};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  std::string target;
  for (auto& n : lumen::nodes())
    if (!n.driver && !n.head)
      target = n.id;
  using cluster_tasks::Tally;
  auto a = lumen::actor(Tally::create).node_affinity(target).remote(0);
  REQUIRE(lumen::get(a.task(&Tally::node).remote(), 30s) == target);
  // 3,000 calls of 1 KB each fill several batches (1 MiB each); every
  // tenth call is another method.
  std::vector<lumen::object_ref<long long>> texts;
  std::vector<lumen::object_ref<int>> adds;
  for (int i = 1; i <= 3000; ++i) {
    texts.push_back(
      a.task(&Tally::add_text)
        .remote(std::string(1000, static_cast<char>('a' + i % 26))));
    if (i % 10 == 0)
      adds.push_back(a.task(&Tally::add).remote(1));
  }
  auto chars = lumen::get(texts, 60s);
  bool in_order = true;
  for (std::size_t i = 0; i < chars.size(); ++i)
    in_order = in_order && chars[i] == 1000LL * static_cast<long long>(i + 1);
  CHECK(in_order);
  auto totals = lumen::get(adds, 60s);
  std::vector<int> expected(300);
  std::iota(expected.begin(), expected.end(), 1);
  CHECK(totals == expected);
  // Calls still batched when the kill comes are answered: a value or
  // actor_died_error, none left waiting.
  std::vector<lumen::object_ref<int>> last;
  for (int i = 0; i < 500; ++i)
    last.push_back(a.task(&Tally::add).remote(1));
  lumen::kill(a);
  int answered = 0;
  int died = 0;
  for (auto& r : last) {
    try {
      lumen::get(r, 30s);
      ++answered;
    } catch (const lumen::actor_died_error&) {
      ++died;
    }
  }
  CHECK(answered + died == 500);
}

TEST_CASE("cluster: named actors and handles reach across nodes", "[cluster]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  using cluster_tasks::Tally;
  auto t = lumen::actor(Tally::create).name("tally", "it").remote(1000);
  CHECK(lumen::get(t.task(&Tally::add).remote(1), 30s) == 1001);
  // Tasks on other nodes find it by name, or get its handle as an argument.
  std::vector<lumen::object_ref<int>> bumps;
  for (int i = 0; i < 4; ++i) {
    bumps.push_back(lumen::task(cluster_tasks::bump_named)
                      .spread()
                      .remote(std::string{"tally"}, 10));
    bumps.push_back(
      lumen::task(cluster_tasks::bump_handle).spread().remote(t, 100));
  }
  lumen::get(bumps, 60s);
  CHECK(lumen::get(t.task(&Tally::add).remote(0), 30s) == 1001 + 4 * 110);
  // The name is taken cluster-wide, and free again once the actor ends.
  CHECK_THROWS_AS(lumen::actor(Tally::create).name("tally", "it").remote(0),
                  lumen::error);
  lumen::kill(t);
  bool freed = false;
  for (int i = 0; i < 100 && !freed; ++i) {
    freed = !lumen::get_actor<Tally>("tally", "it").has_value();
    std::this_thread::sleep_for(50ms);
  }
  CHECK(freed);
}

TEST_CASE("cluster: lumen stop ends every node it started", "[cluster]") {
  cluster_it::test_cluster cluster{2};
  auto pids = cluster.nodes();
  REQUIRE(pids.size() == 3);
  auto [status, out] =
    cluster.cli("stop --timeout 10 --runtime-dir " + cluster.dir());
  CHECK(status == 0);
  for (auto& f : pids) // gone (an unreaped zombie counts as gone)
    CHECK_FALSE(lumen::cli::process_alive(std::stoi(f.at("pid"))));
  CHECK(cluster.nodes().empty());
}

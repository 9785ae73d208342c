// Chaos: a killer SIGKILLs a random worker every few seconds, a fixed number
// of times, and starts a replacement, while (a) a tree of nested tasks with
// 50 KB results runs to the end with the failure-free result, and (b)
// restartable actors forward sequence numbers to a collector on the head and
// every number arrives. Afterwards the cluster's resources are all free.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "chaos_support.hpp"
#include "chaos_tasks.hpp"

using namespace std::chrono_literals;

namespace {

/// Workers offer "worker" so that the tree's tasks and the forwarders stay
/// off the head, which the killer spares; replacements get the same.
const std::string worker_args = "--resources '{\"worker\": 100}'";

constexpr int kills = 3;

/// How long the driver waits for the whole run: many times a failure-free
/// run, well inside the ctest timeout.
constexpr auto run_patience = 80s;

/// When the watchdog ends a test that hangs (ctest's timeout is 300 s).
constexpr auto test_limit = 200s;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
    .count();
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (auto& l : lines)
    out += l + "\n";
  return out;
}

/// The calls in `results` (call i carries number i) without an answer
/// yet, with the forwarder each went to.
std::string
unanswered(const std::vector<lumen::object_ref<std::int64_t>>& results,
           int forwarders) {
  std::string out;
  int count = 0;
  for (std::size_t i = 0; i < results.size(); ++i)
    if (!lumen::wait(std::vector{results[i]}, 1, 0ms).unready.empty()) {
      ++count;
      out += " " + std::to_string(i) + "@f" +
             std::to_string(static_cast<int>(i) % forwarders);
    }
  return std::to_string(count) + " calls unanswered:" + out;
}

} // namespace

TEST_CASE("chaos: a task tree survives killed workers with the failure-free "
          "result",
          "[chaos][cluster]") {
  using namespace chaos_tasks;
  // 4^3 = 64 leaves of 300 ms on 2 workers x 2 CPUs: about 5 s without
  // failures, so the first kill (2-3 s in) lands mid-run.
  const int depth = 3;
  const int fanout = 4;
  const std::int64_t seed = 7;
  const int leaf_ms = 300;
  auto expected = tree_expected(depth, fanout, seed);
  REQUIRE(expected.size() == tree_value_size);
  cluster_it::test_cluster cluster{2, 2, {worker_args, worker_args}};
  cluster_it::watchdog watchdog{cluster, test_limit};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  std::vector<char> got;
  int killed_during_run = 0;
  {
    chaos::killer killer{cluster, worker_args, kills};
    auto started = std::chrono::steady_clock::now();
    auto root = lumen::task(tree)
                  .max_retries(-1)
                  .resources({{"worker", 1}})
                  .remote(depth, fanout, seed, leaf_ms);
    got = lumen::get(root, run_patience);
    killed_during_run = killer.killed();
    std::fprintf(stderr, "chaos: the tree took %.1f s, %d kills during it\n",
                 seconds_since(started), killed_during_run);
    killer.join();
    INFO(join_lines(killer.errors()));
    CHECK(killer.errors().empty());
    CHECK(killer.killed() == kills);
  }
  // The run cannot end before 64 * 300 ms / 4 = 4.8 s; the first kill comes
  // within 3 s, so at least that one hit the running tree.
  CHECK(killed_during_run >= 1);
  REQUIRE(got.size() == expected.size());
  CHECK(got == expected);
  auto freeing = std::chrono::steady_clock::now();
  auto held = chaos::wait_for_free_resources(60s);
  std::fprintf(stderr, "chaos: resources %s after %.1f s\n",
               held.empty() ? "all free" : "still held",
               seconds_since(freeing));
  INFO("still held:" << held);
  CHECK(held.empty());
}

TEST_CASE("chaos: restarted actors forward every number to a collector on "
          "the head",
          "[chaos][cluster][actors]") {
  using namespace chaos_tasks;
  const int forwarders = 4;
  // 200 numbers, one every 60 ms: 12 s of traffic, across all three kills.
  const std::int64_t n = 200;
  const auto pace = 60ms;
  const int forward_ms = 20;
  cluster_it::test_cluster cluster{2, 2, {worker_args, worker_args}};
  cluster_it::watchdog watchdog{cluster, test_limit};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  std::string head_id;
  for (auto& info : lumen::nodes())
    if (info.head)
      head_id = info.id;
  REQUIRE(!head_id.empty());
  auto collector =
    lumen::actor(Collector::create).node_affinity(head_id).remote();
  // Spread round robin: both workers host forwarders, so the first kill
  // (the replacements come later) hits some.
  std::vector<lumen::actor_handle<Forwarder>> fw;
  for (int i = 0; i < forwarders; ++i)
    fw.push_back(lumen::actor(Forwarder::create)
                   .resources({{"worker", 1}})
                   .spread()
                   .max_restarts(-1)
                   .max_task_retries(-1)
                   .remote(i));
  // Everyone is up before the killer starts.
  CHECK(lumen::get(collector.task(&Collector::seen).remote(), 30s).empty());
  std::vector<std::string> first_nodes;
  for (auto& f : fw)
    first_nodes.push_back(lumen::get(f.task(&Forwarder::node).remote(), 30s));
  std::vector<lumen::object_ref<std::int64_t>> results;
  int killed_while_sending = 0;
  {
    chaos::killer killer{cluster, worker_args, kills};
    auto started = std::chrono::steady_clock::now();
    for (std::int64_t seq = 0; seq < n; ++seq) {
      auto& f = fw[static_cast<std::size_t>(seq % forwarders)];
      results.push_back(
        f.task(&Forwarder::forward).remote(collector, seq, forward_ms));
      std::this_thread::sleep_for(pace);
    }
    killed_while_sending = killer.killed();
    auto done = lumen::wait(results, results.size(), run_patience);
    std::fprintf(stderr,
                 "chaos: %zu of %zu calls answered %.1f s after the "
                 "first was sent\n",
                 done.ready.size(), results.size(), seconds_since(started));
    INFO(unanswered(results, forwarders));
    REQUIRE(done.unready.empty());
    auto got = lumen::get(results, 30s);
    for (std::int64_t seq = 0; seq < n; ++seq)
      CHECK(got[static_cast<std::size_t>(seq)] == seq);
    killer.join();
    INFO(join_lines(killer.errors()));
    CHECK(killer.errors().empty());
    CHECK(killer.killed() == kills);
  }
  // Sending takes 12 s; the first kill comes within 3 s.
  CHECK(killed_while_sending >= 1);
  // Forwarders on killed nodes were re-created on live ones.
  int moved = 0;
  for (std::size_t i = 0; i < fw.size(); ++i)
    if (lumen::get(fw[i].task(&Forwarder::node).remote(), 30s) !=
        first_nodes[i])
      ++moved;
  CHECK(moved >= 1);
  auto seen = lumen::get(collector.task(&Collector::seen).remote(), 30s);
  std::vector<std::int64_t> missing;
  for (std::int64_t seq = 0; seq < n; ++seq)
    if (seen.count(seq) == 0)
      missing.push_back(seq);
  INFO("missing " << missing.size() << " of " << n);
  CHECK(missing.empty());
  // Actors hold their "worker" while they live: end them, then every
  // resource is free again.
  for (auto& f : fw)
    lumen::kill(f);
  lumen::kill(collector);
  fw.clear();
  auto freeing = std::chrono::steady_clock::now();
  auto held = chaos::wait_for_free_resources(60s);
  std::fprintf(stderr, "chaos: resources %s after %.1f s\n",
               held.empty() ? "all free" : "still held",
               seconds_since(freeing));
  INFO("still held:" << held);
  CHECK(held.empty());
}

// Chaos: the parameter server example (examples/parameter_server/) trains
// asynchronously on a real 3-node loopback cluster, a worker node is
// SIGKILLed mid-run, and training still reaches 0.85 accuracy on the 10,000
// Fashion-MNIST test images with the surviving and restarted workers.
//
// Where the weights live: the server shards are placed on the head node,
// which the test never kills, so they survive with every update applied
// so far; only workers (max_restarts(-1), their calls retried) die and are
// re-created on the surviving worker node.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <lumen/data/image_dataset.hpp>

#include "../integration/cluster_support.hpp"
#include "training.hpp"

using namespace std::chrono_literals;

namespace {

/// Workers offer "worker", which worker actors hold, so that they live on
/// the two worker nodes and never on the head.
const std::string worker_args = "--resources '{\"worker\": 100}'";

/// When the watchdog ends the test if it hangs (ctest's timeout is 300 s).
constexpr auto test_limit = 240s;

/// The accuracy target on the full test set.
constexpr double target = 0.85;

} // namespace

TEST_CASE("chaos: asynchronous parameter server training reaches 0.85 test "
          "accuracy after a worker node is killed",
          "[chaos][cluster][parameter_server]") {
  auto test = lumen::data::load_fashion_mnist(lumen::data::split::test);
  cluster_it::test_cluster cluster{2,
                                   2,
                                   {worker_args, worker_args},
                                   std::string{"--load "} + LUMEN_PS_TASKS_LIB};
  cluster_it::watchdog watchdog{cluster, test_limit};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  std::string head;
  for (auto& n : lumen::nodes())
    if (n.head)
      head = n.id;
  REQUIRE(!head.empty());

  ps::train_options o;
  o.mode = ps::training_mode::async;
  o.workers = 4;
  o.shards = 2;
  o.batch_size = 64;
  o.epochs = 5;          // the budget; training stops at stop_at long before
  // Two points above the target: the steps still in flight at the stop
  // (4 workers x 10) moved the final accuracy by at most 0.6 points in five
  // runs of the async example stopped at 0.87 (examples/parameter_server/
  // CMakeLists.txt); the budget, if it ran out first, ends near 0.88.
  o.stop_at = 0.87;
  o.report_every = 150;  // about 0.16 epochs
  o.steps_per_call = 10; // few steps still in flight at the stop
  o.worker_resources = {{"worker", 1}};
  o.max_restarts = -1;
  auto s = ps::make_server(o);

  // The shards live on the head; the workers on the two worker nodes.
  for (auto& shard : s.shards)
    CHECK(lumen::get(shard.task(&ps::ParameterShard::node).remote(), 60s) ==
          head);
  std::vector<std::string> first_nodes;
  std::vector<std::uint64_t> first_instances;
  for (auto& w : s.workers) {
    first_nodes.push_back(lumen::get(w.task(&ps::Worker::node).remote(), 60s));
    first_instances.push_back(
      lumen::get(w.task(&ps::Worker::instance).remote(), 60s));
  }
  std::set<std::string> worker_nodes(first_nodes.begin(), first_nodes.end());
  REQUIRE(worker_nodes.count(head) == 0);
  // The victim: the node of worker 0, with its pid from the node files.
  const std::string victim = first_nodes[0];
  int victim_pid = 0;
  for (auto& f : cluster.nodes())
    if (f.count("id") && f.at("id") == victim)
      victim_pid = std::stoi(f.at("pid"));
  REQUIRE(victim_pid > 0);

  // Kill the victim mid-run: at the first report past half an epoch, while
  // the accuracy is still below the target.
  bool killed = false;
  std::int64_t killed_at = 0;
  double accuracy_at_kill = 0;
  auto started = std::chrono::steady_clock::now();
  auto result = ps::train(s, o, test, [&](const ps::progress& p) {
    std::fprintf(stderr,
                 "parameter server: step %lld epoch %.2f loss %.4f test acc "
                 "%.4f %.0f samples/s %.1f s\n",
                 static_cast<long long>(p.step), p.epoch, p.loss, p.accuracy,
                 p.samples_per_s, p.seconds);
    if (!killed && p.evaluated && p.epoch >= 0.5 && p.accuracy < target) {
      std::fprintf(stderr,
                   "parameter server: SIGKILL worker node %s (pid %d)\n",
                   victim.c_str(), victim_pid);
      ::kill(victim_pid, SIGKILL);
      killed = true;
      killed_at = p.step;
      accuracy_at_kill = p.accuracy;
    }
  });
  auto seconds =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
      .count();
  std::fprintf(stderr,
               "parameter server: final test accuracy %.4f after %lld steps "
               "(%.2f epochs) in %.1f s; killed at step %lld (accuracy %.4f)\n",
               result.accuracy, static_cast<long long>(result.steps),
               static_cast<double>(result.samples) / 60000.0, seconds,
               static_cast<long long>(killed_at), accuracy_at_kill);

  REQUIRE(killed);
  CHECK(accuracy_at_kill < target);
  // Training went on after the kill, to the target.
  CHECK(result.steps > killed_at);
  CHECK(result.accuracy >= target);

  // The victim is dead; its workers were re-created elsewhere and trained
  // there; the other workers kept their first instance.
  bool victim_dead = false;
  for (auto& n : lumen::nodes())
    if (n.id == victim && !n.alive)
      victim_dead = true;
  CHECK(victim_dead);
  // (Told by instance id; lumen::was_current_actor_restarted() is true in
  // them too, which integration/actor_restart_test.cpp checks.)
  int restarted = 0;
  for (std::size_t i = 0; i < s.workers.size(); ++i) {
    auto& w = s.workers[i];
    auto node = lumen::get(w.task(&ps::Worker::node).remote(), 60s);
    auto instance = lumen::get(w.task(&ps::Worker::instance).remote(), 60s);
    INFO("worker " << i << " first on " << first_nodes[i] << ", now on "
                   << node);
    CHECK(node != victim);
    CHECK(node != head);
    if (first_nodes[i] == victim) {
      ++restarted;
      CHECK(instance != first_instances[i]);
      CHECK(lumen::get(w.task(&ps::Worker::steps).remote(), 60s) > 0);
    } else {
      CHECK(instance == first_instances[i]);
      CHECK(node == first_nodes[i]);
    }
  }
  CHECK(restarted >= 1);
  // The shards never moved and hold every update counted by the driver
  // (and those of calls cut short by the kill, which are retried).
  for (auto& shard : s.shards) {
    CHECK(lumen::get(shard.task(&ps::ParameterShard::node).remote(), 60s) ==
          head);
    CHECK(lumen::get(shard.task(&ps::ParameterShard::version).remote(), 60s) >=
          result.steps);
  }
}

// A durable GCS: the head is SIGKILLed and started again with the same
// config; the worker and the driver (this process) reconnect, and the
// tables come back.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <lumen/native_actor.hpp>

#include "actors/gcs.hpp"
#include "cluster_tasks.hpp"
#include "gcs_durable_support.hpp"
#include "wire/task_spec_codec.hpp"

using namespace std::chrono_literals;

namespace {

/// Asks the GCS of the head at `port` directly (a fresh handle each time,
/// so it reaches the head running now); fails the test without an answer.
template <class R, class... Ts>
R ask_head(std::uint16_t port, Ts... xs) {
  lumen::detail::caf_thread_guard guard;
  auto& sys = lumen::detail::native_system();
  auto gcs = sys.middleman().remote_actor<lumen::gcs_actor>("127.0.0.1", port);
  REQUIRE(gcs);
  caf::scoped_actor self{sys};
  R result{};
  bool ok = false;
  self->request(*gcs, std::chrono::seconds(30), xs...)
    .receive(
      [&](R& r) {
        result = std::move(r);
        ok = true;
      },
      [&](const caf::error&) {});
  REQUIRE(ok);
  return result;
}

/// The ids of the live nodes that are neither drivers nor the head.
std::vector<std::string> workers() {
  std::vector<std::string> result;
  for (auto& n : lumen::nodes())
    if (n.alive && !n.driver && !n.head)
      result.push_back(n.id);
  return result;
}

/// Whether `lumen status` lists node `id` as alive (bounded wait).
bool status_shows_alive(const durable_it::restartable_cluster& c,
                        const std::string& id) {
  for (int i = 0; i < 150; ++i) {
    auto [status, out] = c.cli("status --address " + c.address());
    if (status == 0 && out.find("alive  " + id) != std::string::npos)
      return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

} // namespace

TEST_CASE("gcs durable: a head killed and started again finds the cluster "
          "back",
          "[cluster][gcs]") {
  durable_it::restartable_cluster cluster;
  cluster.start_head();
  cluster.start_worker("--num-cpus 2 --resources '{\"keeper\": 2}'");
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  auto worker = workers().at(0);
  auto driver = lumen::node_id();
  using cluster_tasks::Tally;

  // Before: a named detached actor on the worker, key-value rows, a
  // placement group and committed lineage.
  auto keeper = lumen::actor(Tally::create)
                  .name("keeper", "it")
                  .detached()
                  .resources({{"keeper", 1}})
                  .remote(10);
  REQUIRE(lumen::get(keeper.task(&Tally::add).remote(5), 30s) == 15);
  REQUIRE(lumen::get(keeper.task(&Tally::node).remote(), 30s) == worker);
  REQUIRE(lumen::kv::put("colour", "blue"));
  REQUIRE(lumen::kv::put("size", "large", true, "shop"));
  auto pg = lumen::create_placement_group({{{"CPU", 1}}},
                                          lumen::pg_strategy::pack, "durable");
  REQUIRE(pg.wait(30s));
  // Rows are the TaskSpecs of their tasks (the GCS drops any other).
  std::vector<std::string> ids;
  std::vector<std::string> specs;
  for (std::uint64_t n = 1; n <= 3; ++n) {
    lumen::detail::task_spec spec;
    spec.id = lumen::task_id{0xabc, n};
    spec.function = std::string(n == 3 ? 1000 : 1, 'f');
    auto bytes = lumen::detail::encode_task_spec(spec);
    ids.push_back(spec.id.to_string());
    specs.emplace_back(bytes.data(), bytes.size());
  }
  REQUIRE(ask_head<std::uint64_t>(cluster.port(),
                                  lumen::lineage_commit_atom::value, ids,
                                  specs) == 3);

  // The head goes away without a word.
  cluster.kill_head();

  // While it is down: tasks go straight to the worker, the actor keeps
  // taking calls, and a key-value write waits for the head.
  std::vector<lumen::object_ref<std::string>> during;
  for (int i = 0; i < 10; ++i)
    during.push_back(
      lumen::task(cluster_tasks::where).node_affinity(worker).remote(i));
  auto bumped = keeper.task(&Tally::add).remote(1);
  auto late_put = std::async(std::launch::async, [] {
    return lumen::kv::put("written", "during the outage");
  });

  cluster.start_head();

  // The tasks submitted during the outage complete.
  auto results = lumen::get(during, 120s);
  for (int i = 0; i < 10; ++i)
    CHECK(results[static_cast<std::size_t>(i)] ==
          worker + ":" + std::to_string(i));
  CHECK(lumen::get(bumped, 60s) == 16);
  CHECK(late_put.get());

  // Both the worker and this driver registered again with the new head.
  CHECK(status_shows_alive(cluster, worker));
  CHECK(status_shows_alive(cluster, driver));
  bool seen_alive = false;
  for (int i = 0; i < 150 && !seen_alive; ++i) {
    for (auto& n : lumen::nodes())
      seen_alive = seen_alive || (n.id == worker && n.alive);
    if (!seen_alive)
      std::this_thread::sleep_for(200ms);
  }
  CHECK(seen_alive);

  // The named actor is found again from another node (the worker asks
  // the GCS), and calls reach the same instance, state and all.
  CHECK(lumen::get(lumen::task(cluster_tasks::bump_named)
                     .node_affinity(worker)
                     .remote(std::string{"keeper"}, 100),
                   60s) == 116);
  auto found = lumen::get_actor<Tally>("keeper", "it");
  REQUIRE(found);
  CHECK(lumen::get(found->task(&Tally::add).remote(0), 30s) == 116);

  // The key-value rows, the placement group and the lineage are intact.
  CHECK(lumen::kv::get("colour") == std::optional<std::string>{"blue"});
  CHECK(lumen::kv::get("size", "shop") == std::optional<std::string>{"large"});
  CHECK(lumen::kv::get("written") ==
        std::optional<std::string>{"during the outage"});
  CHECK(pg.wait(30s));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto spec = ask_head<std::vector<char>>(
      cluster.port(), lumen::lineage_get_atom::value, ids[i]);
    CHECK(std::string(spec.begin(), spec.end()) == specs[i]);
  }
  CHECK(ask_head<std::uint64_t>(cluster.port(),
                                lumen::lineage_count_atom::value) >= 3);
  CHECK(ask_head<std::vector<char>>(
          cluster.port(), lumen::lineage_get_atom::value, std::string(32, 'f'))
          .empty());
  lumen::kill(keeper);
}

TEST_CASE("gcs durable: nodes keep working while the head stays away, and "
          "stop cleanly",
          "[cluster][gcs]") {
  durable_it::restartable_cluster cluster;
  cluster.start_head();
  cluster.start_worker("--num-cpus 2 --resources '{\"keeper\": 1}'");
  {
    lumen::init_guard g{lumen::config{.address = cluster.address()}};
    REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
    auto worker = workers().at(0);
    using cluster_tasks::Tally;
    auto tally =
      lumen::actor(Tally::create).resources({{"keeper", 1}}).remote(1);
    REQUIRE(lumen::get(tally.task(&Tally::add).remote(1), 30s) == 2);
    cluster.kill_head();
    // Peers from the last view stay usable: tasks and actor calls go
    // straight to the worker.
    std::vector<lumen::object_ref<std::string>> refs;
    for (int i = 0; i < 20; ++i)
      refs.push_back(
        lumen::task(cluster_tasks::where).node_affinity(worker).remote(i));
    auto results = lumen::get(refs, 60s);
    for (int i = 0; i < 20; ++i)
      CHECK(results[static_cast<std::size_t>(i)] ==
            worker + ":" + std::to_string(i));
    CHECK(lumen::get(tally.task(&Tally::add).remote(3), 30s) == 5);
    // The driver's view still lists the worker.
    auto listed = workers();
    CHECK(std::find(listed.begin(), listed.end(), worker) != listed.end());
  } // the driver shuts down while the head is away
  // The worker, still trying to reconnect, stops on SIGTERM.
  auto [status, out] =
    cluster.cli("stop --timeout 20 --runtime-dir " + cluster.dir());
  CHECK(status == 0);
  CHECK(out.find("stopped worker") != std::string::npos);
  CHECK(out.find("SIGKILL") == std::string::npos);
}

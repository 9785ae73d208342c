// Actor handles nested in values that cross nodes: a node that decodes a
// handle to an actor it does not know looks it up at the GCS, which may
// not have heard of the actor yet (its creator registers it without
// waiting) and then waits for it; a handle to an ended actor fails with
// actor_died_error.
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "cluster_support.hpp"
#include "cluster_tasks.hpp"

using namespace std::chrono_literals;
using cluster_tasks::Relay;
using cluster_tasks::Tally;

namespace {

using tallies = std::vector<lumen::actor_handle<Tally>>;

/// The ids of the head and of the one worker, from a driver's view.
std::pair<std::string, std::string> head_and_worker() {
  std::string head;
  std::string worker;
  for (auto& n : lumen::nodes()) {
    if (!n.alive || n.driver)
      continue;
    (n.head ? head : worker) = n.id;
  }
  return {head, worker};
}

/// A head and one worker node, with this test as a driver of both.
struct two_nodes {
  cluster_it::test_cluster cluster{1};
  lumen::init_guard driver{lumen::config{.address = cluster.address()}};
  std::string head;
  std::string worker;

  two_nodes() {
    REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
    std::tie(head, worker) = head_and_worker();
    REQUIRE(!head.empty());
    REQUIRE(!worker.empty());
  }
};

} // namespace

TEST_CASE("actor handles: handles nested in a value reach actors created a "
          "moment before on another node",
          "[actors][cluster]") {
  two_nodes nodes;
  const auto& head = nodes.head;
  const auto& worker = nodes.worker;
  // Each actor is created and its handle passed on at once, inside a
  // vector, to a task pinned to the other node: the handle may get there,
  // and that node's lookup to the GCS, before the driver's registration of
  // the actor (the race the parameter server's workers hit).
  constexpr int rounds = 8;
  tallies on_head;
  tallies on_worker;
  std::vector<lumen::object_ref<int>> from_worker;
  std::vector<lumen::object_ref<int>> from_head;
  for (int i = 0; i < rounds; ++i) {
    on_head.push_back(
      lumen::actor(Tally::create).node_affinity(head).remote(100 * i));
    from_worker.push_back(lumen::task(cluster_tasks::bump_all)
                            .node_affinity(worker)
                            .remote(tallies{on_head.back()}, 1));
    on_worker.push_back(
      lumen::actor(Tally::create).node_affinity(worker).remote(100 * i));
    from_head.push_back(lumen::task(cluster_tasks::bump_all)
                          .node_affinity(head)
                          .remote(tallies{on_worker.back()}, 1));
  }
  auto a = lumen::get(from_worker, 60s);
  auto b = lumen::get(from_head, 60s);
  for (int i = 0; i < rounds; ++i) {
    INFO("round " << i);
    CHECK(a[static_cast<std::size_t>(i)] == 100 * i + 1);
    CHECK(b[static_cast<std::size_t>(i)] == 100 * i + 1);
  }
  CHECK(lumen::get(on_head[0].task(&Tally::node).remote(), 30s) == head);
  CHECK(lumen::get(on_worker[0].task(&Tally::node).remote(), 30s) == worker);

  // As factory arguments of an actor on the other node, as the parameter
  // server passes its shards to its workers: fresh actors on the head, and
  // the relay made on the worker at once.
  tallies fresh;
  for (int i = 0; i < 3; ++i)
    fresh.push_back(
      lumen::actor(Tally::create).node_affinity(head).remote(1000 * (i + 1)));
  auto relay = lumen::actor(Relay::create).node_affinity(worker).remote(fresh);
  CHECK(lumen::get(relay.task(&Relay::bump).remote(5), 60s) ==
        1005 + 2005 + 3005);
  // The calls reached the actors the driver holds handles to.
  CHECK(lumen::get(fresh[2].task(&Tally::add).remote(0), 30s) == 3005);
}

TEST_CASE("actor handles: a handle to an ended actor fails with "
          "actor_died_error on another node",
          "[actors][cluster]") {
  two_nodes nodes;
  const auto& head = nodes.head;
  const auto& worker = nodes.worker;
  auto t = lumen::actor(Tally::create).node_affinity(head).remote(0);
  CHECK(lumen::get(t.task(&Tally::add).remote(1), 30s) == 1);
  lumen::kill(t);
  CHECK_THROWS_AS(lumen::get(t.task(&Tally::add).remote(1), 30s),
                  lumen::actor_died_error);
  // The host told the GCS of the end before it failed that call; a request
  // to the GCS from here now goes after that news (one client, in order).
  CHECK_FALSE(lumen::get_actor<Tally>("no such actor", "it").has_value());
  // The worker never saw the actor: it asks the GCS, which remembers that
  // the actor ended.
  auto r = lumen::task(cluster_tasks::bump_all)
             .node_affinity(worker)
             .remote(tallies{t}, 1);
  std::string message;
  try {
    lumen::get(r, 60s);
  } catch (const lumen::actor_died_error& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(message.find(t.id().to_string()) != std::string::npos);
  CHECK(message.find("has ended") != std::string::npos);
}

TEST_CASE("actor handles: a borrowed handle on another node keeps a "
          "non-detached actor alive, and the actor ends once it is dropped",
          "[actors][cluster]") {
  two_nodes nodes;
  const auto& head = nodes.head;
  const auto& worker = nodes.worker;
  auto relay =
    lumen::actor(Relay::create).node_affinity(worker).remote(tallies{});
  {
    auto t = lumen::actor(Tally::create)
               .node_affinity(head)
               .name("kept", "it")
               .remote(1000);
    // A method argument, not a creation argument (those stay with the
    // relay's creator, here, for restarts).
    REQUIRE(lumen::get(relay.task(&Relay::take).remote(tallies{t}), 60s) == 1);
    REQUIRE(lumen::get(relay.task(&Relay::bump).remote(1), 60s) == 1001);
  } // the driver's last handle to the tally goes here
  // Only the relay on the worker holds one now: the actor stays, call
  // after call, for a second (without the borrow it ended at once).
  int expected = 1001;
  auto until = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < until) {
    REQUIRE(lumen::get(relay.task(&Relay::bump).remote(1), 30s) == ++expected);
    std::this_thread::sleep_for(100ms);
  }
  // The relay drops it: no handle is left anywhere, so the actor ends and
  // its name with it (a task on the worker looks it up, bounded).
  CHECK(lumen::get(relay.task(&Relay::drop).remote(), 30s) == 1);
  bool ended = false;
  for (int i = 0; i < 100 && !ended; ++i) {
    try {
      lumen::get(lumen::task(cluster_tasks::bump_named)
                   .node_affinity(worker)
                   .remote(std::string{"kept"}, 0),
                 30s);
      std::this_thread::sleep_for(100ms);
    } catch (const lumen::error&) {
      ended = true; // "no actor named kept", or it died under the call
    }
  }
  CHECK(ended);
}

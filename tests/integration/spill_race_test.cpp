// A task sent to a node that died before the cluster link could send it:
// the link bounces it back to the scheduler, which must place it again
// (on another node, or wait for one), not queue it on a node that can
// never run it. Found by the soak: a driver (no resources) kept such a
// task pending for ever ("needs {CPU: 1, worker: 1} but this node has {}
// in total; it stays pending") and its `get` timed out.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "cluster_support.hpp"
#include "cluster_tasks.hpp"

using namespace std::chrono_literals;

TEST_CASE("cluster: tasks spilled to a worker as it dies all run elsewhere",
          "[cluster][chaos]") {
  const std::string w = "--resources '{\"w\": 100}'";
  cluster_it::test_cluster cluster{2, 2, {w, w}};
  cluster_it::watchdog dog{cluster, 240s};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  cluster_it::node_file victim;
  for (auto& f : cluster.nodes())
    if (f.at("role") != "head")
      victim = f;
  REQUIRE(!victim.empty());
  // The driver submits as fast as it can while the victim is SIGKILLed,
  // so that the scheduler still sends tasks to it (on its last copy of
  // the view) after the cluster link learned that it is dead.
  std::atomic<int> submitted{0};
  std::thread killer{[&] {
    while (submitted.load() < 2000)
      std::this_thread::sleep_for(1ms);
    ::kill(std::stoi(victim.at("pid")), SIGKILL);
  }};
  std::vector<lumen::object_ref<std::string>> refs;
  bool seen_dead = false;
  auto dead_at = std::chrono::steady_clock::time_point{};
  for (int i = 0; i < 30000; ++i) {
    refs.push_back(lumen::task(cluster_tasks::where)
                     .resources({{"w", 1}})
                     .max_retries(-1)
                     .remote(i));
    submitted.store(i + 1);
    if (i >= 2000 && i % 500 == 0 && !seen_dead)
      for (auto& n : lumen::nodes())
        if (n.id == victim.at("id") && !n.alive) {
          seen_dead = true;
          dead_at = std::chrono::steady_clock::now();
        }
    // Half a second more after the death is seen, then stop.
    if (seen_dead && std::chrono::steady_clock::now() - dead_at > 500ms)
      break;
  }
  killer.join();
  CHECK(seen_dead);
  INFO(refs.size() << " tasks submitted");
  // Every one runs (on the other worker), none waits for ever.
  auto got = lumen::get(refs, 120s);
  for (std::size_t i = 0; i < got.size(); ++i) {
    auto colon = got[i].rfind(':');
    REQUIRE(colon != std::string::npos);
    REQUIRE(got[i].substr(colon + 1) == std::to_string(i));
  }
}

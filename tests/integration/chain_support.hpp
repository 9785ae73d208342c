// Helpers shared by the tests that kill a node under a chain of tasks
// (lineage_test.cpp, lineage_gc_test.cpp) or under a stream
// (streams_cluster_test.cpp): the worker's node file, a SIGKILL seen by
// the cluster, and chains of large values held where they are made.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cluster_support.hpp"
#include "cluster_tasks.hpp"

namespace chain_it {

/// Elements of a chain's vector: 320 KB, so a value is held where it is
/// made, not sent inline.
inline constexpr std::int64_t chain_n = 40'000;

/// The worker that is not the head.
inline cluster_it::node_file a_worker(const cluster_it::test_cluster& cluster) {
  for (auto& f : cluster.nodes())
    if (f.at("role") != "head")
      return f;
  throw std::runtime_error("no worker node file");
}

/// SIGKILLs `victim` and waits (bounded) until the cluster sees it dead.
inline void kill_and_wait(const cluster_it::node_file& victim) {
  ::kill(std::stoi(victim.at("pid")), SIGKILL);
  for (int i = 0; i < 300; ++i) {
    for (auto& n : lumen::nodes())
      if (n.id == victim.at("id") && !n.alive)
        return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL("the killed node was never seen dead");
}

/// A chain of `length` tasks on `node`, each adding its index to a large
/// vector; only the last ref is kept.
inline lumen::object_ref<std::vector<std::int64_t>>
make_chain(const std::string& node, int length) {
  auto x = lumen::task(cluster_tasks::chain_start)
             .node_affinity(node, true)
             .remote(chain_n);
  for (int i = 1; i <= length; ++i)
    x = lumen::task(cluster_tasks::chain_step)
          .node_affinity(node, true)
          .remote(x, std::int64_t{i});
  return x;
}

/// Waits until `last` was computed, without bringing its value here: a
/// small task that reads it runs where it is.
inline void
wait_computed(const lumen::object_ref<std::vector<std::int64_t>>& last,
              const std::string& node) {
  auto sum = lumen::task(cluster_tasks::chain_sum)
               .node_affinity(node, true)
               .remote(last);
  REQUIRE(lumen::get(sum, std::chrono::seconds(60)) != 0);
}

} // namespace chain_it

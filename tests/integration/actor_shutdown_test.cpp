// A driver's shutdown ends actor hosts that no handle reaches any more, even
// while a call they forwarded to another node is still unanswered.
#include <catch2/catch.hpp>

#include "chaos_tasks.hpp"
#include "cluster_support.hpp"

using namespace std::chrono_literals;
using chaos_tasks::Forwarder;

TEST_CASE("actor shutdown: shutdown does not wait for an orphaned actor's "
          "unanswered call",
          "[actors][cluster]") {
  cluster_it::test_cluster cluster{1, 2, {"--resources '{\"stall\": 1}'"}};
  // Before the fix, lumen::shutdown waited for the orphaned host for good.
  cluster_it::watchdog watchdog{cluster, 200s};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  {
    auto f =
      lumen::actor(Forwarder::create).resources({{"stall", 1}}).remote(0);
    REQUIRE(lumen::get(f.task(&Forwarder::node).remote(), 30s) !=
            lumen::node_id());
    auto stuck = f.task(&Forwarder::stall).remote();
    CHECK_THROWS_AS(lumen::get(stuck, 300ms), lumen::timeout_error);
  } // the last handle and the ref go: the host is orphaned, its call open
  lumen::shutdown();
  CHECK_FALSE(lumen::is_initialized());
}

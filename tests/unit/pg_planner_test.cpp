// Unit tests of placement group planning (src/scheduling/pg_planner.hpp):
// every strategy, wait versus infeasible, bundles summed on a node, dead
// nodes, determinism and the renamed bundle resources.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "lumen/error.hpp"
#include "scheduling/pg_planner.hpp"

using namespace lumen;
using namespace lumen::detail;

namespace {

using amounts = std::map<std::string, double>;
using ids = std::vector<std::string>;

resource_set rs(const amounts& xs) {
  return resource_set::from_doubles(xs);
}

std::vector<resource_set> cpu_bundles(std::vector<double> xs) {
  std::vector<resource_set> result;
  for (auto x : xs)
    result.push_back(rs({{"CPU", x}}));
  return result;
}

/// An idle node (available == total).
node_capacity idle(std::string id, const amounts& total) {
  return {std::move(id), true, rs(total), rs(total)};
}

node_capacity busy(std::string id, const amounts& total,
                   const amounts& available) {
  return {std::move(id), true, rs(total), rs(available)};
}

node_capacity dead(std::string id, const amounts& total) {
  return {std::move(id), false, rs(total), rs(total)};
}

std::size_t distinct(const ids& xs) {
  return std::set<std::string>(xs.begin(), xs.end()).size();
}

} // namespace

TEST_CASE("pg planner: bad input throws", "[cluster][pg]") {
  std::vector<node_capacity> nodes{idle("a", {{"CPU", 4}})};
  CHECK_THROWS_AS(plan_placement_group({}, pg_strategy_kind::pack, nodes),
                  error);
  CHECK_THROWS_AS(plan_placement_group({rs({{"CPU", 1}}), resource_set{}},
                                       pg_strategy_kind::spread, nodes),
                  error);
  CHECK_THROWS_AS(plan_placement_group({rs({{"CPU", 0}})},
                                       pg_strategy_kind::strict_pack, nodes),
                  error);
  nodes.push_back(idle("a", {{"CPU", 4}}));
  CHECK_THROWS_AS(
    plan_placement_group(cpu_bundles({1}), pg_strategy_kind::pack, nodes),
    error);
  // A dead node is ignored, its id included.
  nodes.back().alive = false;
  CHECK(plan_placement_group(cpu_bundles({1}), pg_strategy_kind::pack, nodes)
          .kind == pg_plan_result::placed);
}

TEST_CASE("pg planner: strict_pack puts every bundle on one node",
          "[cluster][pg]") {
  std::vector<node_capacity> nodes{idle("a", {{"CPU", 2}}),
                                   idle("b", {{"CPU", 4}, {"GPU", 1}}),
                                   idle("c", {{"CPU", 4}})};
  auto r = plan_placement_group(cpu_bundles({1, 1, 1}),
                                pg_strategy_kind::strict_pack, nodes);
  REQUIRE(r.kind == pg_plan_result::placed);
  CHECK(r.nodes == ids{"b", "b", "b"});
  CHECK(r.reason.empty());
  r = plan_placement_group({rs({{"CPU", 1}}), rs({{"GPU", 1}})},
                           pg_strategy_kind::strict_pack, nodes);
  REQUIRE(r.kind == pg_plan_result::placed);
  CHECK(r.nodes == ids{"b", "b"});
  SECTION("bundles are summed: each fits a node alone, not together") {
    r = plan_placement_group(cpu_bundles({3, 2}), pg_strategy_kind::strict_pack,
                             nodes);
    CHECK(r.kind == pg_plan_result::infeasible);
    CHECK(r.nodes.empty());
    CHECK_THAT(r.reason, Catch::Contains("strict_pack"));
  }
  SECTION("waits while the only node that could hold them is busy") {
    nodes[1] = busy("b", {{"CPU", 4}, {"GPU", 1}}, {{"CPU", 4}});
    nodes[2] = busy("c", {{"CPU", 4}}, {{"CPU", 1.5}});
    r = plan_placement_group({rs({{"CPU", 1}}), rs({{"GPU", 1}})},
                             pg_strategy_kind::strict_pack, nodes);
    CHECK(r.kind == pg_plan_result::wait);
    CHECK(r.nodes.empty());
    CHECK_FALSE(r.reason.empty());
    r = plan_placement_group(cpu_bundles({1, 1}), pg_strategy_kind::strict_pack,
                             nodes);
    REQUIRE(r.kind == pg_plan_result::placed);
    CHECK(r.nodes == ids{"a", "a"});
  }
}

TEST_CASE("pg planner: pack uses as few nodes as possible", "[cluster][pg]") {
  std::vector<node_capacity> nodes{
    idle("a", {{"CPU", 2}}), idle("b", {{"CPU", 4}}), idle("c", {{"CPU", 2}})};
  auto r = plan_placement_group(cpu_bundles({1, 1, 1, 1}),
                                pg_strategy_kind::pack, nodes);
  REQUIRE(r.kind == pg_plan_result::placed);
  CHECK(r.nodes == ids{"b", "b", "b", "b"});
  // Best effort beyond one node: summed bundles spill onto a second node.
  r =
    plan_placement_group(cpu_bundles({2, 2, 2}), pg_strategy_kind::pack, nodes);
  REQUIRE(r.kind == pg_plan_result::placed);
  CHECK(r.nodes == ids{"b", "b", "a"});
  // Needs every node.
  r = plan_placement_group(cpu_bundles({2, 2, 2, 2}), pg_strategy_kind::pack,
                           nodes);
  REQUIRE(r.kind == pg_plan_result::placed);
  CHECK(distinct(r.nodes) == 3);
  r = plan_placement_group(cpu_bundles({2, 2, 2, 2, 0.5}),
                           pg_strategy_kind::pack, nodes);
  CHECK(r.kind == pg_plan_result::infeasible);
  CHECK_THAT(r.reason, Catch::Contains("combination"));
  r = plan_placement_group(cpu_bundles({5}), pg_strategy_kind::pack, nodes);
  CHECK(r.kind == pg_plan_result::infeasible);
  CHECK_THAT(r.reason, Catch::Contains("bundle 0"));
}

TEST_CASE("pg planner: pack backtracks when the greedy fill fails",
          "[cluster][pg]") {
  // Greedy: 2+2 on a, then 3 on b, then the last 3 fits nowhere; the
  // search moves the second 2 to b instead.
  std::vector<node_capacity> nodes{idle("a", {{"CPU", 5}}),
                                   idle("b", {{"CPU", 5}})};
  auto r = plan_placement_group(cpu_bundles({2, 2, 3, 3}),
                                pg_strategy_kind::pack, nodes);
  REQUIRE(r.kind == pg_plan_result::placed);
  CHECK(r.nodes == ids{"a", "b", "a", "b"});
}

TEST_CASE("pg planner: pack waits for resources in use", "[cluster][pg]") {
  std::vector<node_capacity> nodes{busy("a", {{"CPU", 4}}, {{"CPU", 1}}),
                                   busy("b", {{"CPU", 4}}, {{"CPU", 1}})};
  auto r =
    plan_placement_group(cpu_bundles({1, 1, 1}), pg_strategy_kind::pack, nodes);
  CHECK(r.kind == pg_plan_result::wait);
  CHECK_THAT(r.reason, Catch::Contains("available"));
  r = plan_placement_group(cpu_bundles({1, 1}), pg_strategy_kind::pack, nodes);
  REQUIRE(r.kind == pg_plan_result::placed);
  CHECK(r.nodes == ids{"a", "b"});
}

TEST_CASE("pg planner: strict_spread puts every bundle on its own node",
          "[cluster][pg]") {
  std::vector<node_capacity> nodes{
    idle("a", {{"CPU", 8}}), idle("b", {{"CPU", 8}}), idle("c", {{"CPU", 8}})};
  auto r = plan_placement_group(cpu_bundles({1, 1, 1}),
                                pg_strategy_kind::strict_spread, nodes);
  REQUIRE(r.kind == pg_plan_result::placed);
  CHECK(r.nodes == ids{"a", "b", "c"});
  r = plan_placement_group(cpu_bundles({1, 1, 1, 1}),
                           pg_strategy_kind::strict_spread, nodes);
  CHECK(r.kind == pg_plan_result::infeasible);
  CHECK_THAT(r.reason, Catch::Contains("4 bundles"));
  SECTION("a busy node makes it wait") {
    nodes[2] = busy("c", {{"CPU", 8}}, {{"CPU", 0.5}});
    r = plan_placement_group(cpu_bundles({1, 1, 1}),
                             pg_strategy_kind::strict_spread, nodes);
    CHECK(r.kind == pg_plan_result::wait);
  }
  SECTION("a dead node does not count") {
    nodes[2].alive = false;
    r = plan_placement_group(cpu_bundles({1, 1, 1}),
                             pg_strategy_kind::strict_spread, nodes);
    CHECK(r.kind == pg_plan_result::infeasible);
  }
}

TEST_CASE("pg planner: strict_spread finds a matching the greedy misses",
          "[cluster][pg]") {
  // Bundle 0 first takes a, the only node bundle 1 fits; it moves to b.
  std::vector<node_capacity> nodes{idle("a", {{"CPU", 1}, {"GPU", 1}}),
                                   idle("b", {{"CPU", 1}})};
  auto r = plan_placement_group({rs({{"CPU", 1}}), rs({{"GPU", 1}})},
                                pg_strategy_kind::strict_spread, nodes);
  REQUIRE(r.kind == pg_plan_result::placed);
  CHECK(r.nodes == ids{"b", "a"});
  r = plan_placement_group({rs({{"GPU", 1}}), rs({{"GPU", 1}})},
                           pg_strategy_kind::strict_spread, nodes);
  CHECK(r.kind == pg_plan_result::infeasible);
  CHECK_THAT(r.reason, Catch::Contains("distinct"));
}

TEST_CASE("pg planner: spread prefers distinct nodes, shares when it must",
          "[cluster][pg]") {
  std::vector<node_capacity> nodes{
    idle("a", {{"CPU", 4}}), idle("b", {{"CPU", 4}}), idle("c", {{"CPU", 4}})};
  auto r = plan_placement_group(cpu_bundles({1, 1, 1}),
                                pg_strategy_kind::spread, nodes);
  REQUIRE(r.kind == pg_plan_result::placed);
  CHECK(r.nodes == ids{"a", "b", "c"});
  // More bundles than nodes: evenly shared.
  r = plan_placement_group(cpu_bundles({1, 1, 1, 1, 1, 1}),
                           pg_strategy_kind::spread, nodes);
  REQUIRE(r.kind == pg_plan_result::placed);
  CHECK(r.nodes == ids{"a", "b", "c", "a", "b", "c"});
  // Two nodes full: the rest share the third, summed.
  nodes[0] = busy("a", {{"CPU", 4}}, {});
  nodes[1] = busy("b", {{"CPU", 4}}, {});
  r =
    plan_placement_group(cpu_bundles({2, 2}), pg_strategy_kind::spread, nodes);
  REQUIRE(r.kind == pg_plan_result::placed);
  CHECK(r.nodes == ids{"c", "c"});
  r = plan_placement_group(cpu_bundles({2, 2, 1}), pg_strategy_kind::spread,
                           nodes);
  CHECK(r.kind == pg_plan_result::wait);
  r = plan_placement_group(cpu_bundles({4, 4, 4, 1}), pg_strategy_kind::spread,
                           nodes);
  CHECK(r.kind == pg_plan_result::infeasible);
}

TEST_CASE("pg planner: fractional bundles add up exactly on a node",
          "[cluster][pg]") {
  std::vector<node_capacity> nodes{idle("a", {{"CPU", 0.3}})};
  auto r = plan_placement_group(cpu_bundles({0.1, 0.2}),
                                pg_strategy_kind::strict_pack, nodes);
  REQUIRE(r.kind == pg_plan_result::placed);
  CHECK(r.nodes == ids{"a", "a"});
  r = plan_placement_group(cpu_bundles({0.1, 0.2, 0.0001}),
                           pg_strategy_kind::pack, nodes);
  CHECK(r.kind == pg_plan_result::infeasible);
}

TEST_CASE("pg planner: dead nodes are never chosen", "[cluster][pg]") {
  std::vector<node_capacity> nodes{dead("big", {{"CPU", 64}, {"GPU", 8}}),
                                   idle("a", {{"CPU", 2}})};
  for (auto s :
       {pg_strategy_kind::pack, pg_strategy_kind::spread,
        pg_strategy_kind::strict_pack, pg_strategy_kind::strict_spread}) {
    auto r = plan_placement_group(cpu_bundles({1}), s, nodes);
    REQUIRE(r.kind == pg_plan_result::placed);
    CHECK(r.nodes == ids{"a"});
    r = plan_placement_group({rs({{"GPU", 1}})}, s, nodes);
    CHECK(r.kind == pg_plan_result::infeasible);
    CHECK_THAT(r.reason, Catch::Contains("fits no alive node"));
  }
  auto r = plan_placement_group(cpu_bundles({1}), pg_strategy_kind::pack,
                                {dead("big", {{"CPU", 64}})});
  CHECK(r.kind == pg_plan_result::infeasible);
}

TEST_CASE("pg planner: ties go to the node listed first", "[cluster][pg]") {
  std::vector<node_capacity> nodes{
    idle("z", {{"CPU", 4}}), idle("m", {{"CPU", 4}}), idle("a", {{"CPU", 4}})};
  for (auto s :
       {pg_strategy_kind::pack, pg_strategy_kind::spread,
        pg_strategy_kind::strict_pack, pg_strategy_kind::strict_spread}) {
    auto first = plan_placement_group(cpu_bundles({1, 1}), s, nodes);
    for (int i = 0; i < 5; ++i) {
      auto again = plan_placement_group(cpu_bundles({1, 1}), s, nodes);
      CHECK(again.kind == first.kind);
      CHECK(again.nodes == first.nodes);
    }
    REQUIRE(first.kind == pg_plan_result::placed);
    CHECK(first.nodes[0] == "z");
  }
  std::swap(nodes[0], nodes[2]);
  auto r = plan_placement_group(cpu_bundles({1, 1}),
                                pg_strategy_kind::strict_spread, nodes);
  CHECK(r.nodes == ids{"a", "m"});
}

TEST_CASE("pg planner: bundle resources are renamed per bundle",
          "[cluster][pg]") {
  CHECK(bundle_resource_name("CPU", "3f2a", 0) == "CPU_group_0_3f2a");
  CHECK(bundle_resource_name("memory", "pg", 12) == "memory_group_12_pg");
  CHECK_THROWS_AS(bundle_resource_name("", "pg", 0), error);
  CHECK_THROWS_AS(bundle_resource_name("CPU", "", 0), error);
  auto renamed = bundle_resources(rs({{"CPU", 1.5}, {"GPU", 1}}), "pg", 1);
  CHECK(renamed == rs({{"CPU_group_1_pg", 1.5}, {"GPU_group_1_pg", 1}}));
  CHECK(renamed.get("CPU") == 0.0);
  // A task asking for the renamed resource fits only there.
  CHECK(renamed.fits(rs({{"CPU_group_1_pg", 1}})));
  CHECK_FALSE(renamed.fits(rs({{"CPU_group_0_pg", 1}})));
  CHECK(bundle_resources(resource_set{}, "pg", 0).empty());
}

TEST_CASE("pg planner: a search cut short means wait, never infeasible",
          "[cluster][pg]") {
  // 31 bundles of 6 CPU on 30 nodes that hold one each: infeasible, but
  // the nodes all differ, so the exhaustive search runs out of steps.
  std::vector<node_capacity> nodes;
  for (int i = 0; i < 30; ++i)
    nodes.push_back(idle("n" + std::to_string(i), {{"CPU", 10 + i * 0.0001}}));
  std::vector<resource_set> bundles(31, rs({{"CPU", 6}}));
  for (auto s : {pg_strategy_kind::pack, pg_strategy_kind::spread}) {
    auto r = plan_placement_group(bundles, s, nodes);
    CHECK(r.kind == pg_plan_result::wait);
    CHECK_THAT(r.reason, Catch::Contains("cut short"));
  }
  // Strict spread decides it exactly.
  auto r =
    plan_placement_group(bundles, pg_strategy_kind::strict_spread, nodes);
  CHECK(r.kind == pg_plan_result::infeasible);
}

// Where the bundles of a placement group go. Plain logic behind the gcs
// actor's placement groups.
//
// A placement group reserves `bundles` (resource sets) on the cluster's
// nodes, all at once or not at all, following Ray's strategies:
//
// - strict_pack: every bundle on one node.
// - pack: as few nodes as possible (best effort: a greedy fill that takes
//   first the node holding most of the remaining bundles; several nodes
//   when no single one holds them all).
// - strict_spread: every bundle on a distinct node (an exact matching).
// - spread: distinct nodes where possible (the exact matching first);
//   otherwise the least-used nodes first, best effort.
//
// Only alive nodes count. Bundles that share a node must fit there
// together (their sum). Planning uses each node's `available` resources;
// when that fails it repeats with `total` to tell `wait` (could be placed
// on an idle cluster, so retry when resources free up or nodes join) from
// `infeasible` (no placement on these nodes even when idle; a node that
// joins later may still change that). Multi-node assignment is bin
// packing, so pack and spread fall back to a bounded exhaustive search;
// when that search runs out of steps on `total`, the answer is `wait`,
// never a false `infeasible`.
//
// Deterministic: the result depends only on the arguments. Ties go to the
// node listed first in `nodes` (the gcs passes them in registration
// order); node ids must be unique among alive nodes.
//
// A reserved bundle appears on its node as renamed resources, see
// `bundle_resource_name`.
//
// Thread safety: free functions on plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "scheduling/placement_policy.hpp"
#include "scheduling/resources.hpp"

namespace lumen::detail {

/// The placement strategies of Ray, `lumen::pg_strategy` in the runtime.
enum class pg_strategy_kind : std::uint8_t {
  pack,
  spread,
  strict_pack,
  strict_spread
};

/// The outcome of planning one placement group.
struct pg_plan_result {
  enum kind_t {
    /// `nodes[i]` is the node id for bundle `i`; reserve them now.
    placed,
    /// Not placeable with the resources available now, but with the
    /// nodes' totals: retry when resources are released or nodes join.
    wait,
    /// Not placeable on these nodes even when idle.
    infeasible
  };
  kind_t kind = infeasible;
  /// Node id per bundle when `placed`, empty otherwise.
  std::vector<std::string> nodes;
  /// Why, for `wait` and `infeasible` (for `lumen status` and logs).
  std::string reason;
};

/// Plans `bundles` with `strategy` on the alive members of `nodes`.
/// Throws lumen::error when `bundles` is empty, a bundle is empty, or two
/// alive nodes share an id.
pg_plan_result plan_placement_group(const std::vector<resource_set>& bundles,
                                    pg_strategy_kind strategy,
                                    const std::vector<node_capacity>& nodes);

/// Name of `resource` reserved by bundle `index` of placement group
/// `pg_id`: `<resource>_group_<index>_<pg_id>`, e.g. "CPU" of bundle 0 of
/// group "3f2a" is "CPU_group_0_3f2a" (Ray's naming). Once the bundle is
/// reserved, its node offers these renamed resources (and that much less
/// of the plain ones), so a task asking for {"CPU_group_0_3f2a": 1} can
/// only run in that bundle, and bundles never lend to other work. The name
/// is for matching, not for parsing. Throws lumen::error when `resource`
/// or `pg_id` is empty.
std::string bundle_resource_name(const std::string& resource,
                                 const std::string& pg_id, std::size_t index);

/// `bundle` with every resource renamed by `bundle_resource_name`, same
/// amounts: what bundle `index` of `pg_id` adds to its node.
/// The wildcard name of `resource` in any bundle of the group:
/// "<resource>_group_<pg_id>", for tasks that take any bundle (index -1).
std::string any_bundle_resource_name(const std::string& resource,
                                     const std::string& pg_id);

/// What a reserved bundle adds to its node: its resources under both the
/// bundle's own names and the group's wildcard names.
resource_set reserved_bundle(const resource_set& bundle,
                             const std::string& pg_id, std::size_t index);

resource_set bundle_resources(const resource_set& bundle,
                              const std::string& pg_id, std::size_t index);

} // namespace lumen::detail

// Where a ready task runs: this node, another node, nowhere yet, or
// nowhere ever. Plain logic behind the scheduler's placement (a task that
// goes elsewhere is spillback, sent by the cluster link).
//
// Default strategy: here while local resources allow; otherwise the live
// node where it fits now with the most of the task's argument bytes, then
// the most spare CPU; otherwise queue here if this node could ever run it;
// otherwise the node with the most spare CPU among those that could ever
// run it (it queues there); otherwise it is infeasible for now. Spread:
// round robin over the nodes that could ever run it, this one included.
// Node affinity: that node if it is alive and could ever run the task;
// otherwise the default strategy when soft, or a failure.
//
// Thread safety: none; owned by the scheduler actor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lumen/detail/runtime_api.hpp"
#include "scheduling/resources.hpp"

namespace lumen::detail {

/// One node as the scheduler sees it.
struct node_capacity {
  std::string id;
  bool alive = true;
  resource_set total;
  resource_set available;
};

struct placement_decision {
  enum kind_t { local, remote, infeasible, fail };
  kind_t kind = local;
  /// The node for `remote`.
  std::string node;
  /// Why, for `fail`.
  std::string reason;
};

class placement_policy {
 public:
  /// Decides for a task needing `req` with options `opts`. `self` is this
  /// node; `peers` the others; `arg_bytes` how many argument bytes each
  /// node holds.
  placement_decision
  decide(const task_options& opts, const resource_set& req,
         const node_capacity& self, const std::vector<node_capacity>& peers,
         const std::map<std::string, std::size_t>& arg_bytes = {});

 private:
  std::uint64_t spread_next_ = 0;
};

} // namespace lumen::detail

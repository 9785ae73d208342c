// Spillback decisions.
#include "scheduling/placement_policy.hpp"

namespace lumen::detail {

namespace {

double spare_cpu(const node_capacity& n) {
  return n.available.get(cpu_resource);
}

std::size_t bytes_on(const std::map<std::string, std::size_t>& arg_bytes,
                     const std::string& id) {
  auto i = arg_bytes.find(id);
  return i == arg_bytes.end() ? 0 : i->second;
}

placement_decision
default_decision(const resource_set& req, const node_capacity& self,
                 const std::vector<node_capacity>& peers,
                 const std::map<std::string, std::size_t>& arg_bytes) {
  if (self.available.fits(req))
    return {placement_decision::local, {}, {}};
  const node_capacity* best = nullptr;
  for (auto& p : peers) {
    if (!p.alive || !p.available.fits(req))
      continue;
    if (best == nullptr ||
        bytes_on(arg_bytes, p.id) > bytes_on(arg_bytes, best->id) ||
        (bytes_on(arg_bytes, p.id) == bytes_on(arg_bytes, best->id) &&
         spare_cpu(p) > spare_cpu(*best)))
      best = &p;
  }
  if (best != nullptr)
    return {placement_decision::remote, best->id, {}};
  if (self.total.fits(req))
    return {placement_decision::local, {}, {}};
  for (auto& p : peers)
    if (p.alive && p.total.fits(req) &&
        (best == nullptr || spare_cpu(p) > spare_cpu(*best)))
      best = &p;
  if (best != nullptr)
    return {placement_decision::remote, best->id, {}};
  return {placement_decision::infeasible, {}, {}};
}

} // namespace

placement_decision
placement_policy::decide(const task_options& opts, const resource_set& req,
                         const node_capacity& self,
                         const std::vector<node_capacity>& peers,
                         const std::map<std::string, std::size_t>& arg_bytes) {
  switch (opts.strategy) {
  case scheduling_strategy::default_strategy:
    break;
  case scheduling_strategy::spread: {
    std::vector<const node_capacity*> feasible;
    if (self.total.fits(req))
      feasible.push_back(&self);
    for (auto& p : peers)
      if (p.alive && p.total.fits(req))
        feasible.push_back(&p);
    if (feasible.empty())
      return {placement_decision::infeasible, {}, {}};
    auto* pick = feasible[spread_next_++ % feasible.size()];
    if (pick == &self)
      return {placement_decision::local, {}, {}};
    return {placement_decision::remote, pick->id, {}};
  }
  case scheduling_strategy::node_affinity: {
    if (opts.affinity_node == self.id && self.total.fits(req))
      return {placement_decision::local, {}, {}};
    for (auto& p : peers)
      if (p.id == opts.affinity_node && p.alive && p.total.fits(req))
        return {placement_decision::remote, p.id, {}};
    if (!opts.affinity_soft)
      return {placement_decision::fail,
              {},
              "node_affinity: node '" + opts.affinity_node +
                "' is unknown, dead, or can never hold " + req.to_string()};
    break;
  }
  }
  return default_decision(req, self, peers, arg_bytes);
}

} // namespace lumen::detail

// scheduler: here or elsewhere. Tasks and actors are placed on this node's
// copy of the peers' capacity (pushed by the cluster link, counted down by
// what this node sends them), so that a task ready here never waits for
// another actor's answer; a task for a peer is handed to the link.
#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "actors/scheduler.hpp"
#include "actors/scheduler_state.hpp"
#include "log/log.hpp"
#include "lumen/error.hpp"
#include "scheduling/fail_task.hpp"
#include "scheduling/local_scheduler.hpp"
#include "scheduling/placement_policy.hpp"

namespace lumen::detail_scheduler {

namespace {

/// How often the tasks no node can hold are named in the log.
constexpr auto warning_interval = std::chrono::seconds{10};

void fail_task(self_ptr self, const detail::task_ptr& task,
               detail::object_ptr err) {
  detail::fail_task(*self->state.table, task, std::move(err));
}

/// The copy of peer `id`, or null.
detail::node_capacity* peer_copy(scheduler_state& st, const std::string& id) {
  for (auto& p : st.cluster.peers)
    if (p.id == id)
      return &p;
  return nullptr;
}

/// Hands `task` to the cluster link for node `id`.
void spill_back(self_ptr self, detail::task_ptr task, const std::string& id) {
  auto& st = self->state;
  // Count the task against the copy of the peer's resources until its
  // result (or the next view) says otherwise, so that a burst of tasks
  // spreads instead of piling onto one node.
  if (auto* p = peer_copy(st, id))
    p->available -= detail::local_scheduler::request_of(*task);
  self->send(st.link, spillback_atom::value, std::move(task), id);
}

} // namespace

void make_ready(self_ptr self, detail::task_ptr task) {
  auto& st = self->state;
  // Outside a cluster (the embedded node: no address, no peers) every
  // task stays here; so does a task taken from a peer.
  if (!st.cluster.clustered || task->deliver) {
    enqueue_local(self, std::move(task));
    return;
  }
  detail::node_capacity me{st.node_id, true, st.sched.total(),
                           st.sched.available()};
  std::size_t local_bytes = 0;
  for (auto& arg : task->args)
    if (auto obj = arg.ref ? st.table->try_get(arg.ref.get()) : arg.value)
      local_bytes += obj->bytes.size();
  auto req = detail::local_scheduler::request_of(*task);
  auto d = st.policy.decide(task->options, req, me, st.cluster.peers,
                            {{st.node_id, local_bytes}});
  switch (d.kind) {
  case detail::placement_decision::local:
    for (auto& arg : task->args)
      if (arg.ref && !st.table->ready(arg.ref.get())) {
        await_args(self, std::move(task), true);
        return;
      }
    enqueue_local(self, std::move(task));
    return;
  case detail::placement_decision::remote:
    spill_back(self, std::move(task), d.node);
    return;
  case detail::placement_decision::infeasible:
    detail::log_warn("task '", task->options.name, "' needs ", req.to_string(),
                     " but no node of the cluster can ever hold it; it stays "
                     "pending until one joins");
    st.unplaceable.push_back(std::move(task));
    return;
  case detail::placement_decision::fail:
    fail_task(self, task,
              detail::make_error_object(detail::error_kind::runtime_error,
                                        d.reason, {}, task->options.name));
    return;
  }
}

void on_view(self_ptr self, detail::cluster_capacity_ptr view) {
  auto& st = self->state;
  if (!view)
    return;
  st.cluster = *view;
  auto waiting = std::move(st.unplaceable);
  st.unplaceable.clear();
  for (auto& t : waiting)
    make_ready(self, std::move(t));
}

void on_result(self_ptr self, const std::string& node,
               const detail::task_ptr& task, const object_id& id,
               bool held_there) {
  auto& st = self->state;
  if (task)
    if (auto* p = peer_copy(st, node))
      p->available += detail::local_scheduler::request_of(*task);
  if (!held_there)
    return;
  // The value stays where it was made: record it, and release tasks that
  // may now go where it is.
  st.held_elsewhere.insert(id);
  if (auto w = st.waiters.find(id); w != st.waiters.end()) {
    auto tasks = std::move(w->second);
    st.waiters.erase(w);
    for (auto& t : tasks)
      arg_arrived(self, t, id);
  }
}

caf::result<std::string, caf::actor> on_where(self_ptr self,
                                              detail::placement_ptr what) {
  auto& st = self->state;
  if (!st.cluster.gcs || what->workers_only || what->workers == 0)
    return {std::string{}, caf::actor{}};
  auto can_hold = [&](const detail::resource_set& total) {
    return total.fits(what->hold) &&
           (!what->needs_cpu_node || total.get(detail::cpu_resource) >= 1.0);
  };
  bool local_ok = can_hold(st.sched.total());
  auto& peers = st.cluster.peers;
  auto& links = st.cluster.links;
  // Whether an actor may go to peer `i`.
  auto usable = [&](std::size_t i) {
    return peers[i].alive && i < links.size() && links[i] &&
           can_hold(peers[i].total);
  };
  auto at = [&](std::size_t i) -> caf::result<std::string, caf::actor> {
    return {peers[i].id, links[i]};
  };
  if (what->strategy == detail::scheduling_strategy::node_affinity) {
    if (what->affinity_node == st.node_id && local_ok)
      return {std::string{}, caf::actor{}};
    for (std::size_t i = 0; i < peers.size(); ++i)
      if (peers[i].id == what->affinity_node && usable(i))
        return at(i);
    if (!what->affinity_soft)
      return caf::make_error(caf::sec::invalid_argument,
                             "node_affinity: node '" + what->affinity_node +
                               "' is unknown, dead, or cannot hold " +
                               what->hold.to_string());
  }
  constexpr auto here = static_cast<std::size_t>(-1);
  if (what->strategy == detail::scheduling_strategy::spread) {
    std::vector<std::size_t> feasible;
    if (local_ok)
      feasible.push_back(here);
    for (std::size_t i = 0; i < peers.size(); ++i)
      if (usable(i))
        feasible.push_back(i);
    if (!feasible.empty()) {
      auto i = feasible[st.actor_spread_next++ % feasible.size()];
      if (i == here)
        return {std::string{}, caf::actor{}};
      return at(i);
    }
  }
  if (local_ok && st.sched.available().fits(what->hold))
    return {std::string{}, caf::actor{}};
  auto spare = [&](std::size_t i) {
    return peers[i].available.get(detail::cpu_resource);
  };
  auto best = here;
  auto best_now = here;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    if (!usable(i))
      continue;
    if (peers[i].available.fits(what->hold) &&
        (best_now == here || spare(i) > spare(best_now)))
      best_now = i;
    if (best == here || spare(i) > spare(best))
      best = i;
  }
  auto pick = best_now != here ? best_now : (local_ok ? here : best);
  if (pick == here)
    return {std::string{}, caf::actor{}};
  // Count it against the copy of the peer until the next view.
  peers[pick].available -= what->hold;
  return at(pick);
}

std::vector<std::pair<std::string, std::size_t>>
infeasible_shapes(const scheduler_state& st) {
  std::map<std::string, std::size_t> shapes;
  for (auto& t : st.unplaceable)
    ++shapes[detail::local_scheduler::request_of(*t).to_string()];
  for (auto& t : st.sched.infeasible())
    ++shapes[detail::local_scheduler::request_of(*t).to_string()];
  for (auto& p : st.infeasible_placements)
    ++shapes[p.what->hold.to_string()];
  return {shapes.begin(), shapes.end()};
}

void warn_unplaceable(self_ptr self) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  if (st.unplaceable.empty() || now - st.last_warning <= warning_interval)
    return;
  st.last_warning = now;
  detail::log_warn(
    st.unplaceable.size(), " task(s) wait for resources no node has, e.g. ",
    detail::local_scheduler::request_of(*st.unplaceable.front()).to_string());
}

} // namespace lumen::detail_scheduler

// node_manager across nodes: this node's record, views from the GCS,
// tasks sent to and taken from peers, and where actors live.
#include <exception>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/actor_host.hpp"
#include "actors/node_manager.hpp"
#include "actors/node_manager_state.hpp"
#include "actors/object_store.hpp"
#include "gcs/declared_dead.hpp"
#include "log/log.hpp"
#include "scheduling/local_scheduler.hpp"
#include "scheduling/placement_policy.hpp"
#include "scheduling/remote_task.hpp"
#include "wire/cluster_types.hpp"

namespace lumen::detail_node_manager {

namespace {

void fail_task(self_ptr self, const detail::task_ptr& task,
               detail::object_ptr err) {
  detail::log_warn("task '", task->options.name,
                   "' failed: ", err && err->error ? err->error->message : "");
  if (task->deliver)
    task->deliver(std::move(err));
  else
    self->state.table->fulfill(task->return_id, std::move(err));
}

/// Sends `task` to node `id`; false if that is impossible right now.
bool send_to_peer(self_ptr self, const detail::task_ptr& task,
                  const std::string& id) {
  auto& st = self->state;
  auto i = st.peers.find(id);
  if (i == st.peers.end() || !i->second.manager)
    return false;
  std::vector<char> bytes;
  try {
    bytes = detail::encode_for_peer(*task, *st.table, detail::inline_limit,
                                    lineage_for_peer(self, task));
  } catch (const std::exception& e) {
    fail_task(self, task,
              detail::make_error_object(detail::error_kind::runtime_error,
                                        e.what(), {}, task->options.name));
    return true;
  }
  self->send(i->second.manager, spillback_atom::value,
             caf::actor_cast<caf::actor>(self), std::move(bytes));
  // Count the task against our copy of the peer's resources until its
  // result (or the peer's next heartbeat) says otherwise, so that a burst
  // of tasks spreads instead of piling onto one node.
  i->second.capacity.available -= detail::local_scheduler::request_of(*task);
  st.sent.emplace(task->id, sent_task{task, id});
  detail::log_debug("task '", task->options.name, "' goes to node ", id);
  return true;
}

} // namespace

detail::node_record own_record(const node_manager_state& st) {
  detail::node_record rec;
  rec.id = st.identity.id;
  rec.address = st.identity.address;
  rec.bulk_address = st.identity.bulk_address;
  rec.head = st.identity.head;
  rec.driver = st.identity.driver;
  rec.total = st.sched.total().to_doubles();
  rec.available = st.sched.available().to_doubles();
  for (auto& [k, v] : rec.available)
    if (v < 0)
      v = 0;
  auto objs = st.table->memory_use(); // no walk over every entry
  rec.object_store_used = objs.used_bytes;
  rec.object_store_capacity = objs.capacity_bytes;
  std::map<std::string, std::size_t> shapes;
  for (auto& t : st.unplaceable)
    ++shapes[detail::local_scheduler::request_of(*t).to_string()];
  for (auto& t : st.sched.infeasible())
    ++shapes[detail::local_scheduler::request_of(*t).to_string()];
  for (auto& p : st.infeasible_placements)
    ++shapes[p.what->hold.to_string()];
  rec.infeasible.assign(shapes.begin(), shapes.end());
  if (st.actors > 0)
    rec.actors["alive"] = st.actors;
  if (auto n = st.placements.size() + st.infeasible_placements.size())
    rec.actors["pending"] = n;
  return rec;
}

void make_ready(self_ptr self, detail::task_ptr task) {
  auto& st = self->state;
  // Outside a cluster (the embedded node: no address, no peers) every
  // task stays here.
  if (!st.gcs || task->deliver ||
      (st.peers.empty() && st.identity.address.empty())) {
    enqueue_local(self, std::move(task));
    return;
  }
  std::vector<detail::node_capacity> peers;
  for (auto& kv : st.peers)
    peers.push_back(kv.second.capacity);
  detail::node_capacity me{st.identity.id, true, st.sched.total(),
                           st.sched.available()};
  std::size_t local_bytes = 0;
  for (auto& arg : task->args)
    if (auto obj = arg.ref ? st.table->try_get(arg.ref.get()) : arg.value)
      local_bytes += obj->bytes.size();
  auto req = detail::local_scheduler::request_of(*task);
  auto d = st.policy.decide(task->options, req, me, peers,
                            {{st.identity.id, local_bytes}});
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
    if (send_to_peer(self, task, d.node))
      return;
    // A live peer the GCS lists without a handle (it is registering again
    // after a lost connection): the task waits for the view that brings one.
    if (auto i = st.peers.find(d.node);
        i != st.peers.end() && i->second.capacity.alive) {
      st.unreachable.push_back(std::move(task));
      return;
    }
    enqueue_local(self, std::move(task));
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

void apply_view(self_ptr self, const std::vector<char>& bytes,
                const std::vector<caf::actor>& managers,
                const std::vector<caf::actor>& stores) {
  auto& st = self->state;
  detail::cluster_view view;
  try {
    view = detail::decode_cluster_view(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    detail::log_warn("dropped a bad cluster view: ", e.what());
    return;
  }
  auto before = std::move(st.peers);
  st.peers.clear();
  detail::peer_map stores_by_id;
  for (std::size_t i = 0; i < view.nodes.size(); ++i) {
    auto& rec = view.nodes[i];
    if (rec.id == st.identity.id) {
      if (!rec.alive) // the GCS's notice (gcs.cpp, tell_dead)
        detail::declared_dead(rec.id, "its cluster view says so");
      continue;
    }
    peer p;
    p.capacity.id = rec.id;
    p.capacity.alive = rec.alive;
    p.capacity.total = detail::resource_set::from_doubles(rec.total);
    p.capacity.available = detail::resource_set::from_doubles(rec.available);
    if (i < managers.size() && rec.alive) {
      auto m = managers[i];
      // After a head restart the GCS lists a node it has not heard from
      // again without a handle: the one of the last view still reaches it.
      if (auto j = before.find(rec.id); !m && j != before.end())
        m = caf::actor_cast<caf::actor>(j->second.manager);
      auto s = i < stores.size() ? stores[i] : caf::actor{};
      if (auto j = before.find(rec.id); !s && j != before.end())
        s = j->second.store;
      if (m) {
        p.manager = caf::actor_cast<node_manager_actor>(m);
        p.store = s;
        stores_by_id[rec.id] = detail::peer_store{m, s, rec.bulk_address};
      }
    }
    p.rec = std::move(rec);
    st.peers.emplace(p.rec.id, std::move(p));
  }
  for (auto& [id, old] : before) {
    auto now = st.peers.find(id);
    bool alive = now != st.peers.end() && now->second.capacity.alive;
    if (old.capacity.alive && !alive)
      detail::log_info("node ", id, " is gone: the GCS declared it dead");
    else if (!old.capacity.alive && alive)
      detail::log_debug("node ", id, " is alive again");
  }
  link_peers(self);
  self->send(st.store, peers_atom::value, std::move(stores_by_id));
  // Tasks sent to nodes that are gone run again while retries allow.
  std::vector<detail::task_ptr> lost;
  for (auto i = st.sent.begin(); i != st.sent.end();) {
    auto j = st.peers.find(i->second.node);
    if (j == st.peers.end() || !j->second.capacity.alive) {
      lost.push_back(std::move(i->second.task));
      i = st.sent.erase(i);
    } else {
      ++i;
    }
  }
  for (auto& t : lost) {
    auto retries = t->options.max_retries;
    if (retries >= 0 && static_cast<int>(t->attempt) >= retries) {
      fail_task(self, t,
                detail::make_error_object(
                  detail::error_kind::runtime_error,
                  "task '" + t->options.name +
                    "' was lost with its node and has no retries left",
                  {}, t->options.name));
      continue;
    }
    ++t->attempt;
    detail::log_warn("task '", t->options.name,
                     "' was lost with the node it ran on; it runs again "
                     "(attempt ",
                     t->attempt + 1, ")");
    make_ready(self, std::move(t));
  }
  auto waiting = std::move(st.unplaceable);
  st.unplaceable.clear();
  for (auto& t : st.unreachable)
    waiting.push_back(std::move(t));
  st.unreachable.clear();
  for (auto& t : waiting)
    make_ready(self, std::move(t));
}

void on_spillback(self_ptr self, caf::actor owner,
                  const std::vector<char>& bytes) {
  auto& st = self->state;
  detail::task_ptr task;
  std::vector<object_id> to_fetch;
  try {
    task = detail::decode_from_peer(bytes, *st.table, to_fetch);
  } catch (const std::exception& e) {
    detail::log_warn("dropped a task from another node: ", e.what());
    return;
  }
  detail::log_debug("took task '", task->options.name, "' from another node");
  stash_received(self, task);
  for (auto& id : to_fetch)
    self->send(st.store, fetch_atom::value, detail::id_bytes(id), owner);
  auto id = task->return_id;
  auto store = st.store;
  task->deliver = [owner, id, store](detail::object_ptr result) {
    if (!result->error && result->bytes.size() > detail::inline_limit &&
        result->refs.empty())
      caf::anon_send(store, host_atom::value,
                     detail::hosted_object{id, std::move(result), owner});
    else
      caf::anon_send(caf::actor_cast<node_manager_actor>(owner),
                     result_atom::value, detail::encode_result(id, result));
  };
  await_args(self, std::move(task), true);
}

void on_result(self_ptr self, const std::vector<char>& bytes) {
  auto& st = self->state;
  detail::received_result r;
  try {
    r = detail::decode_result(bytes, *st.table);
  } catch (const std::exception& e) {
    detail::log_warn("dropped a result from another node: ", e.what());
    return;
  }
  auto i = st.sent.find(r.id.task);
  if (i == st.sent.end())
    return; // a late answer for a task already sent elsewhere
  rebuilt(self, r.id);
  if (auto j = st.peers.find(i->second.node); j != st.peers.end())
    j->second.capacity.available +=
      detail::local_scheduler::request_of(*i->second.task);
  st.sent.erase(i);
  if (r.value) {
    st.table->fulfill(r.id, std::move(r.value));
    return;
  }
  // The value stays where it was made: record it, let the store know,
  // and release tasks that may now go where it is.
  st.held_elsewhere.insert(r.id);
  self->send(st.store, located_atom::value, detail::id_bytes(r.id), r.location,
             r.size);
  if (auto w = st.waiters.find(r.id); w != st.waiters.end()) {
    auto tasks = std::move(w->second);
    st.waiters.erase(w);
    for (auto& t : tasks)
      arg_arrived(self, t, r.id);
  }
}

caf::result<std::string, caf::actor> on_where(self_ptr self,
                                              detail::placement_ptr what) {
  auto& st = self->state;
  if (!st.gcs || what->workers_only || what->workers == 0)
    return {std::string{}, caf::actor{}};
  auto can_hold = [&](const detail::resource_set& total) {
    return total.fits(what->hold) &&
           (!what->needs_cpu_node || total.get(detail::cpu_resource) >= 1.0);
  };
  bool local_ok = can_hold(st.sched.total());
  auto peer_at = [&](const std::string& id) -> const peer* {
    auto i = st.peers.find(id);
    if (i == st.peers.end() || !i->second.capacity.alive ||
        !i->second.manager || !can_hold(i->second.capacity.total))
      return nullptr;
    return &i->second;
  };
  if (what->strategy == detail::scheduling_strategy::node_affinity) {
    if (what->affinity_node == st.identity.id && local_ok)
      return {std::string{}, caf::actor{}};
    if (auto* p = peer_at(what->affinity_node))
      return {p->rec.id, caf::actor_cast<caf::actor>(p->manager)};
    if (!what->affinity_soft)
      return caf::make_error(caf::sec::invalid_argument,
                             "node_affinity: node '" + what->affinity_node +
                               "' is unknown, dead, or cannot hold " +
                               what->hold.to_string());
  }
  if (what->strategy == detail::scheduling_strategy::spread) {
    std::vector<const peer*> feasible;
    if (local_ok)
      feasible.push_back(nullptr); // this node
    for (auto& kv : st.peers)
      if (auto* p = peer_at(kv.first))
        feasible.push_back(p);
    if (!feasible.empty()) {
      auto* p = feasible[st.actor_spread_next++ % feasible.size()];
      if (p == nullptr)
        return {std::string{}, caf::actor{}};
      return {p->rec.id, caf::actor_cast<caf::actor>(p->manager)};
    }
  }
  if (local_ok && st.sched.available().fits(what->hold))
    return {std::string{}, caf::actor{}};
  const peer* best = nullptr;
  const peer* best_now = nullptr;
  for (auto& kv : st.peers) {
    auto& p = kv.second;
    if (!p.capacity.alive || !p.manager || !can_hold(p.capacity.total))
      continue;
    auto spare = p.capacity.available.get(detail::cpu_resource);
    if (p.capacity.available.fits(what->hold) &&
        (!best_now ||
         spare > best_now->capacity.available.get(detail::cpu_resource)))
      best_now = &p;
    if (!best || spare > best->capacity.available.get(detail::cpu_resource))
      best = &p;
  }
  auto* pick = best_now ? best_now : (local_ok ? nullptr : best);
  if (!pick)
    return {std::string{}, caf::actor{}};
  // Count it against our copy of the peer until its next heartbeat.
  st.peers[pick->rec.id].capacity.available -= what->hold;
  return {pick->rec.id, caf::actor_cast<caf::actor>(pick->manager)};
}

caf::result<caf::actor> on_spawn(self_ptr self, caf::actor forwarder,
                                 caf::actor owner,
                                 const std::vector<char>& spec_bytes,
                                 const std::vector<char>& option_bytes) {
  auto& st = self->state;
  std::vector<object_id> to_fetch;
  detail::task_ptr call;
  detail::remote_actor_options opts;
  try {
    call = detail::decode_from_peer(spec_bytes, *st.table, to_fetch);
    opts =
      detail::decode_actor_options(option_bytes.data(), option_bytes.size());
  } catch (const std::exception& e) {
    detail::log_warn("refused an actor from another node: ", e.what());
    return caf::make_error(caf::sec::invalid_argument, e.what());
  }
  for (auto& id : to_fetch)
    self->send(st.store, fetch_atom::value, detail::id_bytes(id), owner);
  auto spec = std::make_shared<detail::actor_spec>();
  spec->id = call->id;
  spec->factory = call->function;
  spec->class_hash = opts.class_hash;
  spec->args = std::move(call->args);
  spec->options = std::move(opts.options);
  actor_host_args args;
  args.spec = std::move(spec);
  args.table = st.table;
  args.node_manager = node_manager_actor{self};
  args.store = st.store;
  args.pinned = true;
  args.forwarder = std::move(forwarder);
  args.restarted = opts.restarted;
  if (args.spec->options.detached)
    args.gcs = st.gcs; // it registers itself, to outlive its owner
  return caf::actor_cast<caf::actor>(
    spawn_pinned_actor_host(self->system(), std::move(args)));
}

} // namespace lumen::detail_node_manager

// node_manager: argument tracking, dispatch and CPU hand-back.
#include "actors/node_manager.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <iostream>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/actor_host.hpp"
#include "actors/gcs.hpp"
#include "actors/task_executor.hpp"
#include "cluster/cluster_types.hpp"
#include "cluster/pg_planner.hpp"
#include "cluster/remote_task.hpp"
#include "cluster/spill_policy.hpp"
#include "runtime/local_scheduler.hpp"

namespace lumen {

namespace {

struct running_task {
  detail::task_ptr spec;
  detail::resource_set acquired;
  detail::worker_pool::worker* worker = nullptr;
  bool blocked = false;
};

struct pending_placement {
  detail::placement_ptr what;
  caf::typed_response_promise<detail::worker_list> promise;
};

/// Another node, as the last view showed it.
struct peer {
  detail::node_record rec;
  detail::node_capacity capacity;
  node_manager_actor manager;
};

/// A task this node sent to another node, until its result comes back.
struct sent_task {
  detail::task_ptr task;
  std::string node;
};

struct node_manager_state {
  detail::local_scheduler sched{detail::resource_set{}};
  node_identity identity;
  /// Set once the node joined a cluster.
  caf::actor gcs;
  std::map<std::string, peer> peers;
  detail::spill_policy policy;
  std::unordered_map<task_id, sent_task> sent;
  /// Tasks no live node can hold now; retried whenever the view changes.
  std::vector<detail::task_ptr> unplaceable;
  /// Round robin position of actors created with spread().
  std::uint64_t actor_spread_next = 0;
  std::chrono::steady_clock::time_point last_warning;
  /// Actors waiting for resources, first come first served.
  std::deque<pending_placement> placements;
  std::vector<pending_placement> infeasible_placements;
  std::size_t actors = 0;
  detail::object_table* table = nullptr;
  detail::worker_pool* pool = nullptr;
  /// Tasks waiting for arguments, with the ids still missing.
  std::unordered_map<task_id, std::set<object_id>> waiting;
  /// Tasks waiting for each missing id.
  std::unordered_map<object_id, std::vector<detail::task_ptr>> waiters;
  /// Objects owned here whose values are held on other nodes.
  std::unordered_set<object_id> held_elsewhere;
  object_store_actor store;
  std::unordered_map<task_id, running_task> running;
  std::size_t blocked = 0;

  const char* name = "lumen.node_manager";
};

using self_ptr = node_manager_actor::stateful_pointer<node_manager_state>;

/// The CPU part of a resource set: what a blocked task gives back.
detail::resource_set cpu_part(const detail::resource_set& rs) {
  detail::resource_set result;
  result.set(detail::cpu_resource, rs.get(detail::cpu_resource));
  return result;
}

/// Places waiting actors while the head of the line fits.
void place_actors(self_ptr self) {
  auto& st = self->state;
  while (!st.placements.empty()) {
    auto& p = st.placements.front();
    if (!st.sched.available().fits(p.what->hold))
      return;
    detail::worker_list workers;
    for (std::size_t i = 0; i < p.what->workers; ++i) {
      auto* w = st.pool->acquire();
      if (w == nullptr) {
        for (auto* x : workers.workers)
          st.pool->release(x);
        return;
      }
      workers.workers.push_back(w);
    }
    st.sched.force_acquire(p.what->hold);
    if (!p.what->workers_only)
      ++st.actors;
    p.promise.deliver(std::move(workers));
    st.placements.pop_front();
  }
}

bool feasible(const node_manager_state& st, const detail::placement& p) {
  return st.sched.total().fits(p.hold) &&
         (!p.needs_cpu_node ||
          st.sched.total().get(detail::cpu_resource) >= 1.0);
}

void dispatch(self_ptr self) {
  auto& st = self->state;
  place_actors(self);
  while (st.sched.queued() > 0) {
    auto* worker = st.pool->acquire();
    if (worker == nullptr)
      return;
    auto task = st.sched.next();
    if (!task) {
      st.pool->release(worker);
      return;
    }
    auto acquired = detail::local_scheduler::request_of(*task);
    st.running.emplace(task->id,
                       running_task{task, std::move(acquired), worker, false});
    spawn_task_executor(self,
                        task_executor_args{std::move(task), worker, st.table,
                                           node_manager_actor{self}});
  }
}

/// This node's record, as it goes into heartbeats and the view.
detail::node_record own_record(const node_manager_state& st) {
  detail::node_record rec;
  rec.id = st.identity.id;
  rec.address = st.identity.address;
  rec.head = st.identity.head;
  rec.driver = st.identity.driver;
  rec.total = st.sched.total().to_doubles();
  rec.available = st.sched.available().to_doubles();
  for (auto& [k, v] : rec.available)
    if (v < 0)
      v = 0;
  auto objs = st.table->get_stats();
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

std::vector<char> to_vector(const detail::byte_buffer& buf) {
  return std::vector<char>(buf.data(), buf.data() + buf.size());
}

void fail_task(self_ptr self, const detail::task_ptr& task,
               detail::object_ptr err) {
  if (task->deliver)
    task->deliver(std::move(err));
  else
    self->state.table->fulfill(task->return_id, std::move(err));
}

void enqueue_local(self_ptr self, detail::task_ptr task);
void make_ready(self_ptr self, detail::task_ptr task);

/// Sends `task` to node `id`; false if that is impossible right now.
bool send_to_peer(self_ptr self, const detail::task_ptr& task,
                  const std::string& id) {
  auto& st = self->state;
  auto i = st.peers.find(id);
  if (i == st.peers.end() || !i->second.manager)
    return false;
  std::vector<char> bytes;
  try {
    bytes = detail::encode_for_peer(*task, *st.table, detail::inline_limit);
  } catch (const std::exception& e) {
    fail_task(self, task,
              detail::make_error_object(detail::error_kind::runtime_error,
                                        e.what(), {}, task->options.name));
    return true;
  }
  self->send(i->second.manager, spill_atom::value,
             caf::actor_cast<caf::actor>(self), std::move(bytes));
  // Count the task against our copy of the peer's resources until its
  // result (or the peer's next heartbeat) says otherwise, so that a burst
  // of tasks spreads instead of piling onto one node.
  i->second.capacity.available -= detail::local_scheduler::request_of(*task);
  st.sent.emplace(task->id, sent_task{task, id});
  return true;
}

/// Waits for the ref arguments that are neither ready here nor (when the
/// task may go elsewhere) held on another node; `make_ready` once none is
/// missing. `local` demands every value here, fetching those held
/// elsewhere.
void await_args(self_ptr self, detail::task_ptr task, bool local) {
  auto& st = self->state;
  std::set<object_id> missing;
  for (auto& arg : task->args) {
    if (!arg.ref || st.table->try_get(arg.ref.get()))
      continue;
    auto& id = arg.ref.id();
    if (st.held_elsewhere.count(id) > 0) {
      if (!local)
        continue;
      self->send(st.store, fetch_atom::value, detail::id_bytes(id),
                 caf::actor{});
    }
    missing.insert(id);
  }
  if (missing.empty()) {
    make_ready(self, std::move(task));
    return;
  }
  node_manager_actor handle{self};
  for (auto& arg : task->args) {
    if (!arg.ref || missing.count(arg.ref.id()) == 0)
      continue;
    st.waiters[arg.ref.id()].push_back(task);
    st.table->when_ready(arg.ref.get(), [handle, task, id = arg.ref.id()] {
      caf::anon_send(handle, deps_atom::value, task, id);
    });
  }
  st.waiting[task->id] = std::move(missing);
}

/// Argument `id` of `task` arrived (or is known to be held elsewhere).
void arg_arrived(self_ptr self, const detail::task_ptr& task,
                 const object_id& id) {
  auto& st = self->state;
  auto i = st.waiting.find(task->id);
  if (i == st.waiting.end() || i->second.erase(id) == 0 || !i->second.empty())
    return;
  st.waiting.erase(i);
  make_ready(self, task);
}

void make_ready(self_ptr self, detail::task_ptr task) {
  auto& st = self->state;
  // Outside a cluster (the embedded node: no address, no peers) every
  // task stays here.
  if (!st.gcs || task->deliver
      || (st.peers.empty() && st.identity.address.empty())) {
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
      if (arg.ref && !st.table->try_get(arg.ref.get())) {
        await_args(self, std::move(task), true);
        return;
      }
    enqueue_local(self, std::move(task));
    return;
  case detail::placement_decision::remote:
    if (!send_to_peer(self, task, d.node))
      enqueue_local(self, std::move(task));
    return;
  case detail::placement_decision::infeasible:
    std::cerr << "lumen: warning: task '" << task->options.name << "' needs "
              << req.to_string()
              << " but no node of the cluster can ever hold it; it stays "
                 "pending until one joins\n";
    st.unplaceable.push_back(std::move(task));
    return;
  case detail::placement_decision::fail:
    fail_task(self, task,
              detail::make_error_object(detail::error_kind::runtime_error,
                                        d.reason, {}, task->options.name));
    return;
  }
}

/// Applies a view from the GCS: peers, lost tasks, tasks that now fit.
void apply_view(self_ptr self, const std::vector<char>& bytes,
                const std::vector<caf::actor>& managers) {
  auto& st = self->state;
  detail::cluster_view view;
  try {
    view = detail::decode_cluster_view(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    std::cerr << "lumen: dropped a bad cluster view: " << e.what() << '\n';
    return;
  }
  st.peers.clear();
  std::map<std::string, caf::actor> managers_by_id;
  for (std::size_t i = 0; i < view.nodes.size(); ++i) {
    auto& rec = view.nodes[i];
    if (rec.id == st.identity.id)
      continue;
    peer p;
    p.capacity.id = rec.id;
    p.capacity.alive = rec.alive;
    p.capacity.total = detail::resource_set::from_doubles(rec.total);
    p.capacity.available = detail::resource_set::from_doubles(rec.available);
    if (i < managers.size() && rec.alive) {
      p.manager = caf::actor_cast<node_manager_actor>(managers[i]);
      managers_by_id[rec.id] = managers[i];
    }
    p.rec = std::move(rec);
    st.peers.emplace(p.rec.id, std::move(p));
  }
  self->send(st.store, peers_atom::value, std::move(managers_by_id));
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
    make_ready(self, std::move(t));
  }
  auto waiting = std::move(st.unplaceable);
  st.unplaceable.clear();
  for (auto& t : waiting)
    make_ready(self, std::move(t));
}

void enqueue_local(self_ptr self, detail::task_ptr task) {
  auto& st = self->state;
  if (!st.sched.enqueue(task)) {
    std::cerr << "lumen: warning: task '" << task->options.name << "' needs "
              << detail::local_scheduler::request_of(*task).to_string()
              << " but this node has " << st.sched.total().to_string()
              << " in total; it stays pending\n";
    return;
  }
  dispatch(self);
}

constexpr auto heartbeat_interval = std::chrono::milliseconds{500};
constexpr auto warning_interval = std::chrono::seconds{10};

node_manager_actor::behavior_type
node_manager(self_ptr self, detail::resource_set total,
             detail::object_table* table, detail::worker_pool* pool,
             node_identity identity, object_store_actor store) {
  self->state.identity = std::move(identity);
  self->state.store = std::move(store);
  self->state.sched = detail::local_scheduler{std::move(total)};
  self->state.table = table;
  self->state.pool = pool;
  return {
    [=](submit_atom, detail::task_ptr task) {
      await_args(self, std::move(task), false);
    },
    [=](deps_atom, detail::task_ptr task, const object_id& id) {
      auto& st = self->state;
      if (auto i = st.waiters.find(id); i != st.waiters.end()) {
        auto& ts = i->second;
        ts.erase(std::remove(ts.begin(), ts.end(), task), ts.end());
        if (ts.empty())
          st.waiters.erase(i);
      }
      arg_arrived(self, task, id);
    },
    [=](done_atom, task_id id) {
      auto& st = self->state;
      auto i = st.running.find(id);
      if (i == st.running.end())
        return;
      auto& r = i->second;
      auto give_back = r.acquired;
      if (r.blocked) {
        give_back -= cpu_part(r.acquired);
        --st.blocked;
      }
      st.sched.release(give_back);
      st.pool->release(r.worker);
      st.running.erase(i);
      dispatch(self);
    },
    [=](blocked_atom, task_id id) {
      auto& st = self->state;
      auto i = st.running.find(id);
      if (i == st.running.end() || i->second.blocked)
        return;
      i->second.blocked = true;
      ++st.blocked;
      st.sched.release(cpu_part(i->second.acquired));
      dispatch(self);
    },
    [=](unblocked_atom, task_id id) {
      auto& st = self->state;
      auto i = st.running.find(id);
      if (i == st.running.end() || !i->second.blocked)
        return;
      i->second.blocked = false;
      --st.blocked;
      st.sched.force_acquire(cpu_part(i->second.acquired));
    },
    [=](place_atom, detail::placement_ptr what)
      -> caf::typed_response_promise<detail::worker_list> {
      auto& st = self->state;
      auto promise = self->make_response_promise<detail::worker_list>();
      if (!feasible(st, *what)) {
        std::cerr << "lumen: warning: actor '" << what->name << "' needs "
                  << what->hold.to_string()
                  << (what->needs_cpu_node ? " on a node with a CPU" : "")
                  << " but this node has " << st.sched.total().to_string()
                  << " in total; it stays pending\n";
        st.infeasible_placements.push_back({std::move(what), promise});
        return promise;
      }
      st.placements.push_back({std::move(what), promise});
      dispatch(self);
      return promise;
    },
    [=](release_atom, detail::placement_ptr what,
        const detail::worker_list& workers) {
      // A null placement returns workers only (an ended actor's workers
      // once their last call finished).
      auto& st = self->state;
      if (what && !what->workers_only) {
        st.sched.release(what->hold);
        --st.actors;
      }
      for (auto* w : workers.workers)
        st.pool->release(w);
      dispatch(self);
    },
    [=](join_atom, caf::actor gcs,
        const std::vector<char>& who) -> caf::typed_response_promise<bool> {
      auto promise = self->make_response_promise<bool>();
      try {
        auto rec = detail::decode_node_record(who.data(), who.size());
        auto& id = self->state.identity;
        id.address = rec.address;
        id.head = rec.head;
        id.driver = rec.driver;
      } catch (const std::exception& e) {
        promise.deliver(caf::make_error(caf::sec::invalid_argument, e.what()));
        return promise;
      }
      auto g = caf::actor_cast<gcs_actor>(gcs);
      auto rec = to_vector(detail::encode_node_record(own_record(self->state)));
      self
        ->request(g, std::chrono::seconds(10), register_atom::value, rec,
                  caf::actor_cast<caf::actor>(self))
        .then(
          [=](std::vector<char>& view,
              std::vector<caf::actor>& managers) mutable {
            self->state.gcs = gcs;
            apply_view(self, view, managers);
            self->send(self, tick_atom::value);
            promise.deliver(true);
          },
          [=](caf::error& err) mutable {
            promise.deliver(err);
          });
      return promise;
    },
    [=](view_atom, const std::vector<char>& bytes,
        const std::vector<caf::actor>& managers) {
      apply_view(self, bytes, managers);
      dispatch(self);
    },
    [=](spill_atom, caf::actor owner, const std::vector<char>& bytes) {
      auto& st = self->state;
      detail::task_ptr task;
      std::vector<object_id> to_fetch;
      try {
        task = detail::decode_from_peer(bytes, *st.table, to_fetch);
      } catch (const std::exception& e) {
        std::cerr << "lumen: dropped a task from another node: " << e.what()
                  << '\n';
        return;
      }
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
    },
    [=](result_atom, const std::vector<char>& bytes) {
      auto& st = self->state;
      detail::received_result r;
      try {
        r = detail::decode_result(bytes, *st.table);
      } catch (const std::exception& e) {
        std::cerr << "lumen: dropped a result from another node: " << e.what()
                  << '\n';
        return;
      }
      auto i = st.sent.find(r.id.task);
      if (i == st.sent.end())
        return; // a late answer for a task already sent elsewhere
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
      self->send(st.store, located_atom::value, detail::id_bytes(r.id),
                 r.location, r.size);
      if (auto w = st.waiters.find(r.id); w != st.waiters.end()) {
        auto tasks = std::move(w->second);
        st.waiters.erase(w);
        for (auto& t : tasks)
          arg_arrived(self, t, r.id);
      }
    },
    [=](pull_atom, const std::vector<char>& id, std::uint64_t offset,
        std::uint64_t len) {
      return self->delegate(self->state.store, pull_atom::value, id, offset,
                            len);
    },
    [=](locate_atom, const std::vector<char>& id) {
      return self->delegate(self->state.store, locate_atom::value, id);
    },
    [=](located_atom, const std::vector<char>& id, const std::string& node,
        std::uint64_t size) {
      self->send(self->state.store, located_atom::value, id, node, size);
    },
    [=](free_atom, const std::vector<char>& id) {
      self->send(self->state.store, free_atom::value, id);
    },
    [=](nodes_atom) {
      auto& st = self->state;
      detail::cluster_view view;
      view.nodes.push_back(own_record(st));
      for (auto& kv : st.peers)
        view.nodes.push_back(kv.second.rec);
      return to_vector(detail::encode_cluster_view(view));
    },
    [=](tick_atom) {
      auto& st = self->state;
      if (!st.gcs)
        return;
      auto rec = to_vector(detail::encode_node_record(own_record(st)));
      self->send(caf::actor_cast<gcs_actor>(st.gcs), heartbeat_atom::value,
                 std::move(rec));
      auto now = std::chrono::steady_clock::now();
      if (!st.unplaceable.empty() && now - st.last_warning > warning_interval) {
        st.last_warning = now;
        std::cerr << "lumen: warning: " << st.unplaceable.size()
                  << " task(s) wait for resources no node has, e.g. "
                  << detail::local_scheduler::request_of(
                       *st.unplaceable.front())
                       .to_string()
                  << "\n";
      }
      self->delayed_send(self, heartbeat_interval, tick_atom::value);
    },
    [=](where_atom,
        detail::placement_ptr what) -> caf::result<std::string, caf::actor> {
      auto& st = self->state;
      if (!st.gcs || what->workers_only || what->workers == 0)
        return {std::string{}, caf::actor{}};
      auto can_hold = [&](const detail::resource_set& total) {
        return total.fits(what->hold) &&
               (!what->needs_cpu_node ||
                total.get(detail::cpu_resource) >= 1.0);
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
    },
    [=](spawn_atom, caf::actor forwarder, caf::actor owner,
        const std::vector<char>& spec_bytes,
        const std::vector<char>& option_bytes) -> caf::result<caf::actor> {
      auto& st = self->state;
      std::vector<object_id> to_fetch;
      detail::task_ptr call;
      detail::remote_actor_options opts;
      try {
        call = detail::decode_from_peer(spec_bytes, *st.table, to_fetch);
        opts = detail::decode_actor_options(option_bytes.data(),
                                            option_bytes.size());
      } catch (const std::exception& e) {
        std::cerr << "lumen: refused an actor from another node: " << e.what()
                  << '\n';
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
      return caf::actor_cast<caf::actor>(
        spawn_pinned_actor_host(self->system(), std::move(args)));
    },
    [=](reserve_atom, const std::string& pg, std::uint64_t index,
        const std::map<std::string, double>& bundle) {
      auto& st = self->state;
      try {
        auto general = detail::resource_set::from_doubles(bundle);
        st.sched.force_acquire(general);
        st.sched.change_capacity(detail::reserved_bundle(general, pg, index),
                                 false);
      } catch (const std::exception& e) {
        std::cerr << "lumen: refused a bundle: " << e.what() << '\n';
        return;
      }
      dispatch(self);
    },
    [=](unreserve_atom, const std::string& pg, std::uint64_t index,
        const std::map<std::string, double>& bundle) {
      auto& st = self->state;
      try {
        auto general = detail::resource_set::from_doubles(bundle);
        st.sched.change_capacity(detail::reserved_bundle(general, pg, index),
                                 true);
        st.sched.release(general);
      } catch (const std::exception& e) {
        std::cerr << "lumen: refused a bundle release: " << e.what() << '\n';
        return;
      }
      dispatch(self);
    },
    [=](stats_atom) {
      auto& st = self->state;
      node_stats result;
      result.total = st.sched.total().to_doubles();
      result.available = st.sched.available().to_doubles();
      result.waiting_for_args = st.waiting.size();
      result.queued = st.sched.queued();
      result.running = st.running.size();
      result.blocked = st.blocked;
      result.infeasible = st.sched.infeasible().size() + st.unplaceable.size();
      result.worker_threads = st.pool->size();
      result.actors = st.actors;
      result.pending_actors =
        st.placements.size() + st.infeasible_placements.size();
      return result;
    },
  };
}

} // namespace

node_manager_actor
make_node_manager(caf::actor_system& sys, detail::resource_set total,
                  detail::object_table* table, detail::worker_pool* pool,
                  node_identity identity, object_store_actor store) {
  return sys.spawn(node_manager, std::move(total), table, pool,
                   std::move(identity), std::move(store));
}

} // namespace lumen

// node_manager: argument tracking, dispatch and CPU hand-back.
#include "actors/node_manager.hpp"

#include <deque>
#include <iostream>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/task_executor.hpp"
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

struct node_manager_state {
  detail::local_scheduler sched{detail::resource_set{}};
  /// Actors waiting for resources, first come first served.
  std::deque<pending_placement> placements;
  std::vector<pending_placement> infeasible_placements;
  std::size_t actors = 0;
  detail::object_table* table = nullptr;
  detail::worker_pool* pool = nullptr;
  /// Tasks waiting for arguments, with the number still missing.
  std::unordered_map<task_id, std::size_t> waiting;
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
    ++st.actors;
    p.promise.deliver(std::move(workers));
    st.placements.pop_front();
  }
}

bool feasible(const node_manager_state& st, const detail::placement& p) {
  return st.sched.total().fits(p.hold)
         && (!p.needs_cpu_node
             || st.sched.total().get(detail::cpu_resource) >= 1.0);
}

void dispatch(self_ptr self) {
  auto& st = self->state;
  place_actors(self);
  for (;;) {
    auto* worker = st.pool->acquire();
    if (worker == nullptr)
      return;
    auto task = st.sched.next();
    if (!task) {
      st.pool->release(worker);
      return;
    }
    auto acquired = detail::local_scheduler::request_of(*task);
    st.running.emplace(task->id, running_task{task, std::move(acquired),
                                              worker, false});
    spawn_task_executor(self, task_executor_args{std::move(task), worker,
                                                 st.table,
                                                 node_manager_actor{self}});
  }
}

void make_ready(self_ptr self, detail::task_ptr task) {
  auto& st = self->state;
  if (!st.sched.enqueue(task)) {
    std::cerr << "lumen: warning: task '" << task->options.name
              << "' needs "
              << detail::local_scheduler::request_of(*task).to_string()
              << " but this node has " << st.sched.total().to_string()
              << " in total; it stays pending\n";
    return;
  }
  dispatch(self);
}

node_manager_actor::behavior_type
node_manager(self_ptr self, detail::resource_set total,
             detail::object_table* table, detail::worker_pool* pool) {
  self->state.sched = detail::local_scheduler{std::move(total)};
  self->state.table = table;
  self->state.pool = pool;
  return {
    [=](submit_atom, detail::task_ptr task) {
      auto& st = self->state;
      std::size_t missing = 0;
      for (auto& arg : task->args)
        if (arg.ref && !st.table->try_get(arg.ref.get()))
          ++missing;
      if (missing == 0) {
        make_ready(self, std::move(task));
        return;
      }
      st.waiting.emplace(task->id, missing);
      node_manager_actor handle{self};
      for (auto& arg : task->args)
        if (arg.ref && !st.table->try_get(arg.ref.get()))
          st.table->when_ready(arg.ref.get(), [handle, task] {
            caf::anon_send(handle, deps_atom::value, task);
          });
    },
    [=](deps_atom, detail::task_ptr task) {
      auto& st = self->state;
      auto i = st.waiting.find(task->id);
      if (i == st.waiting.end() || --i->second > 0)
        return;
      st.waiting.erase(i);
      make_ready(self, std::move(task));
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
      auto& st = self->state;
      st.sched.release(what->hold);
      for (auto* w : workers.workers)
        st.pool->release(w);
      --st.actors;
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
      result.infeasible = st.sched.infeasible().size();
      result.worker_threads = st.pool->size();
      result.actors = st.actors;
      result.pending_actors
        = st.placements.size() + st.infeasible_placements.size();
      return result;
    },
  };
}

} // namespace

node_manager_actor make_node_manager(caf::actor_system& sys,
                                     detail::resource_set total,
                                     detail::object_table* table,
                                     detail::worker_pool* pool) {
  return sys.spawn(node_manager, std::move(total), table, pool);
}

} // namespace lumen

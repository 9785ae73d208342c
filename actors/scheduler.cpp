// scheduler: argument tracking, dispatch and CPU hand-back (see
// scheduler.hpp). Here or elsewhere: scheduler_placement.cpp.
#include "actors/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/scheduler_state.hpp"
#include "actors/task_actor.hpp"
#include "log/log.hpp"
#include "scheduling/local_scheduler.hpp"
#include "scheduling/pg_planner.hpp"

namespace lumen {

namespace detail_scheduler {

namespace {

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

bool feasible(const scheduler_state& st, const detail::placement& p) {
  return st.sched.total().fits(p.hold) &&
         (!p.needs_cpu_node ||
          st.sched.total().get(detail::cpu_resource) >= 1.0);
}

/// How many tasks one worker may hold: one running, the rest queued on the
/// worker behind it, so it goes from task to task without waiting for the
/// scheduler (as Ray pipelines tasks to a leased worker).
constexpr std::size_t pipeline_depth = 16;

/// Runs `task` on `w` under lease `l` (the worker's queue keeps the order):
/// spawns its task actor, or, for a task whose call was taken back, posts
/// that call (its actor waits for it).
void post_task(self_ptr self, detail::worker_pool::worker* w, lease& l,
               detail::task_ptr task) {
  auto& st = self->state;
  l.tasks.push_back(task);
  const void* tag = task.get();
  if (auto d = st.detached.find(task.get()); d != st.detached.end()) {
    st.running.emplace(task->id, running_task{w, std::move(d->second.actor)});
    detail::worker_pool::post(w, std::move(d->second.call), tag);
    st.detached.erase(d);
    return;
  }
  auto id = task->id;
  auto actor =
    spawn_task_actor(self, std::move(task), w, st.table, scheduler_actor{self});
  ++st.task_actors_spawned;
  st.running.emplace(id, running_task{w, std::move(actor)});
}

/// Another execution of this task runs here: the copy a dead owner left
/// behind, and now its retry from the new owner. Both would create the
/// same child ids and share one entry in `running`; the newcomer runs once
/// the other one ended.
bool park_if_running(scheduler_state& st, detail::task_ptr& task) {
  if (st.running.count(task->id) == 0)
    return false;
  st.parked[task->id].push_back(std::move(task));
  return true;
}

/// Starts queued tasks on idle workers while resources allow.
void start_tasks(self_ptr self) {
  auto& st = self->state;
  while (st.sched.queued() > 0) {
    auto* worker = st.pool->acquire();
    if (worker == nullptr)
      return;
    detail::resource_set acquired;
    auto task = st.sched.next(&acquired);
    if (!task) {
      st.pool->release(worker);
      return;
    }
    if (park_if_running(st, task)) {
      st.sched.release(acquired);
      st.pool->release(worker);
      continue;
    }
    auto& l = st.leases[worker];
    l.acquired = std::move(acquired);
    post_task(self, worker, l, std::move(task));
  }
}

/// Queues waiting tasks behind running ones that hold the same resources,
/// evenly, up to pipeline_depth per worker. Not while actors wait for a
/// place: they come before queued tasks.
void pipeline(self_ptr self) {
  auto& st = self->state;
  if (!st.placements.empty())
    return;
  for (std::size_t fill = 1; fill < pipeline_depth; ++fill) {
    for (auto& [w, l] : st.leases) {
      if (st.sched.queued() == 0)
        return;
      if (l.blocked || l.tasks.size() != fill)
        continue;
      auto task = st.sched.next_like(l.acquired);
      if (!task || park_if_running(st, task))
        continue;
      post_task(self, w, l, std::move(task));
    }
  }
}

/// Moves `task` (on `l`, its call taken back from the worker) into the
/// scheduler's queue again; its actor stays, waiting for the call.
void detach(scheduler_state& st, lease& l,
            std::deque<detail::task_ptr>::iterator i,
            detail::worker_pool::job call) {
  auto task = std::move(*i);
  l.tasks.erase(i);
  auto r = st.running.find(task->id);
  st.detached.emplace(
    task.get(), detached_task{std::move(r->second.actor), std::move(call)});
  st.running.erase(r);
  st.sched.enqueue(std::move(task));
}

/// Ends lease `l` on `w` if it holds no task any more.
void end_if_empty(scheduler_state& st, detail::worker_pool::worker* w,
                  lease& l) {
  if (l.tasks.empty()) {
    st.sched.release(l.acquired);
    st.pool->release(w);
    st.leases.erase(w);
  }
}

} // namespace

/// Takes the tasks queued behind the running one on `w` back into the
/// scheduler's queue; ends the lease if none of its tasks started. With
/// `close`, a task actor that has not posted its call yet gets it back
/// (bounced) instead of queueing behind the running task.
void take_back(self_ptr self, detail::worker_pool::worker* w, lease& l,
               bool close) {
  auto& st = self->state;
  for (auto& taken : detail::worker_pool::take_back(w, close)) {
    auto i = std::find_if(l.tasks.begin(), l.tasks.end(),
                          [tag = taken.tag](const detail::task_ptr& t) {
                            return t.get() == tag;
                          });
    if (i != l.tasks.end())
      detach(st, l, i, std::move(taken.j));
  }
  end_if_empty(st, w, l);
}

namespace {

/// Resources are free but nothing waits in the queue while workers hold
/// pipelined tasks: take those back so they spread out again.
bool rebalance(self_ptr self) {
  auto& st = self->state;
  std::vector<detail::worker_pool::worker*> crowded;
  for (auto& [w, l] : st.leases)
    if (!l.blocked && l.tasks.size() > 1 &&
        st.sched.available().fits(l.acquired))
      crowded.push_back(w);
  for (auto* w : crowded)
    take_back(self, w, st.leases[w], false);
  return !crowded.empty();
}

} // namespace

void dispatch(self_ptr self) {
  auto& st = self->state;
  place_actors(self);
  start_tasks(self);
  if (st.sched.queued() == 0 && rebalance(self))
    start_tasks(self);
  pipeline(self);
}

void await_args(self_ptr self, detail::task_ptr task, bool local) {
  auto& st = self->state;
  std::set<object_id> missing;
  for (auto& arg : task->args) {
    if (!arg.ref || st.table->ready(arg.ref.get()))
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
  scheduler_actor handle{self};
  for (auto& arg : task->args) {
    if (!arg.ref || missing.count(arg.ref.id()) == 0)
      continue;
    st.waiters[arg.ref.id()].push_back(task);
    // The listener stays on the entry until it is ready, which a value
    // held on another node never is here: a strong task pointer would then
    // keep the task, and with it the ref to this very entry, alive for
    // ever (the value leaked on the node that made it). `waiters` keeps
    // the task alive while it waits.
    st.table->when_ready(
      arg.ref.get(), [handle, weak = std::weak_ptr{task}, id = arg.ref.id()] {
        if (auto t = weak.lock())
          caf::anon_send(handle, deps_atom::value, std::move(t), id);
      });
  }
  st.waiting[task.get()] = std::move(missing);
}

void arg_arrived(self_ptr self, const detail::task_ptr& task,
                 const object_id& id) {
  auto& st = self->state;
  auto i = st.waiting.find(task.get());
  if (i == st.waiting.end() || i->second.erase(id) == 0 || !i->second.empty())
    return;
  st.waiting.erase(i);
  make_ready(self, task);
}

void enqueue_local(self_ptr self, detail::task_ptr task) {
  auto& st = self->state;
  if (!st.sched.enqueue(task)) {
    detail::log_warn("task '", task->options.name, "' needs ",
                     detail::local_scheduler::request_of(*task).to_string(),
                     " but this node has ", st.sched.total().to_string(),
                     " in total; it stays pending");
    return;
  }
  dispatch(self);
}

namespace {

scheduler_actor::behavior_type
scheduler(self_ptr self, detail::resource_set total,
          detail::object_table* table, detail::worker_pool* pool,
          std::string node_id, object_store_actor store,
          lineage_setup lineage) {
  self->state.node_id = std::move(node_id);
  self->state.lineage = std::move(lineage);
  self->state.store = std::move(store);
  self->state.sched = detail::local_scheduler{std::move(total)};
  self->state.table = table;
  self->state.pool = pool;
  return {
    [=](submit_atom, detail::task_ptr task) {
      if (self->state.unmatched_cancels.empty() ||
          !cancelled_on_arrival(self, task))
        submit_task(self, std::move(task));
    },
    [=](resubmit_atom, detail::task_ptr task) {
      await_args(self, std::move(task), false);
    },
    [=](rebuilding_atom, bool pending) {
      self->state.rebuilds_pending = pending;
    },
    [=](lost_atom, const object_id& id) {
      self->state.held_elsewhere.erase(id);
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
    [=](done_atom, task_id id, detail::task_ptr& again) {
      auto& st = self->state;
      ++st.task_executions;
      auto i = st.running.find(id);
      if (i == st.running.end())
        return;
      auto* w = i->second.worker;
      st.running.erase(i);
      if (!again && st.rebuilds_pending) // a task's one return is index 1
        rebuilt(self, object_id{id, 1});
      auto li = st.leases.find(w);
      if (li == st.leases.end())
        return;
      auto& l = li->second;
      auto t = std::find_if(l.tasks.begin(), l.tasks.end(),
                            [&id](const detail::task_ptr& x) {
                              return x->id == id;
                            });
      if (t != l.tasks.end())
        l.tasks.erase(t);
      auto give_back = l.acquired;
      if (l.blocked) {
        // The next task on this worker starts unblocked.
        l.blocked = false;
        --st.blocked;
        detail::worker_pool::reopen(w);
        if (l.tasks.empty())
          give_back -= cpu_part(l.acquired);
        else
          st.sched.force_acquire(cpu_part(l.acquired));
      }
      if (l.tasks.empty()) {
        st.sched.release(give_back);
        st.pool->release(w);
        st.leases.erase(li);
      }
      if (again) // a retry: a new execution, queued as its own task
        enqueue_local(self, std::move(again));
      if (auto p = st.parked.find(id); p != st.parked.end()) {
        auto next = std::move(p->second.front());
        p->second.pop_front();
        if (p->second.empty())
          st.parked.erase(p);
        enqueue_local(self, std::move(next));
        return;
      }
      dispatch(self);
    },
    [=](bounced_atom, task_id id, detail::user_call& call) {
      auto& st = self->state;
      auto i = st.running.find(id);
      if (i == st.running.end())
        return;
      auto* w = i->second.worker;
      auto& l = st.leases[w];
      auto t = std::find_if(l.tasks.begin(), l.tasks.end(),
                            [&id](const detail::task_ptr& x) {
                              return x->id == id;
                            });
      if (t == l.tasks.end())
        return;
      detach(st, l, t, std::move(call.run));
      end_if_empty(st, w, l);
      dispatch(self);
    },
    [=](blocked_atom, task_id id) {
      auto& st = self->state;
      auto i = st.running.find(id);
      if (i == st.running.end())
        return;
      auto* w = i->second.worker;
      auto& l = st.leases[w];
      if (l.blocked)
        return;
      l.blocked = true;
      ++st.blocked;
      st.sched.release(cpu_part(l.acquired));
      // What waits behind a blocked task might be what it waits for; task
      // actors that have not posted yet bounce off the closed worker.
      take_back(self, w, l, true);
      dispatch(self);
    },
    [=](unblocked_atom, task_id id) {
      auto& st = self->state;
      auto i = st.running.find(id);
      if (i == st.running.end())
        return;
      auto& l = st.leases[i->second.worker];
      if (!l.blocked)
        return;
      l.blocked = false;
      --st.blocked;
      detail::worker_pool::reopen(i->second.worker);
      st.sched.force_acquire(cpu_part(l.acquired));
    },
    [=](place_atom, detail::placement_ptr what)
      -> caf::typed_response_promise<detail::worker_list> {
      auto& st = self->state;
      auto promise = self->make_response_promise<detail::worker_list>();
      if (!feasible(st, *what)) {
        detail::log_warn("actor '", what->name, "' needs ",
                         what->hold.to_string(),
                         (what->needs_cpu_node ? " on a node with a CPU" : ""),
                         " but this node has ", st.sched.total().to_string(),
                         " in total; it stays pending");
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
    [=](join_atom, caf::actor link, caf::actor rebuilder) {
      // They stop together.
      auto& st = self->state;
      self->link_to(link);
      self->link_to(rebuilder);
      st.link = caf::actor_cast<cluster_link_actor>(std::move(link));
      st.reconstruction = caf::actor_cast<reconstruction_actor>(rebuilder);
    },
    [=](view_atom, detail::cluster_capacity_ptr view) {
      on_view(self, std::move(view));
      dispatch(self);
    },
    [=](spillback_atom, detail::task_ptr task) {
      if (self->state.unmatched_cancels.empty() ||
          !cancelled_on_arrival(self, task))
        await_args(self, std::move(task), true);
    },
    [=](bounced_atom, detail::task_ptr task) {
      // The link could not send it: its node died after this copy of the
      // view chose it. Place it again on the view the link pushed first (a
      // node that can never run it, such as a driver, must not keep it).
      make_ready(self, std::move(task));
    },
    [=](retry_atom, detail::task_ptr task) {
      make_ready(self, std::move(task));
    },
    [=](result_atom, const std::string& node, const detail::task_ptr& task,
        const object_id& id, bool held_there) {
      on_result(self, node, task, id, held_there);
    },
    [=](where_atom,
        detail::placement_ptr what) -> caf::result<std::string, caf::actor> {
      return on_where(self, std::move(what));
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
        detail::log_warn("refused a bundle: ", e.what());
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
        detail::log_warn("refused a bundle release: ", e.what());
        return;
      }
      dispatch(self);
    },
    [=](cancel_atom, const detail::cancel_inbox_ptr& inbox) {
      for (auto& r : inbox->take())
        add_cancel(self, r);
      apply_cancels(self);
    },
    [=](cancel_atom, const task_id& id, bool force, bool recursive) {
      add_cancel(self, detail::cancel_request{id, force, recursive});
    },
    [=](cancel_atom) {
      apply_cancels(self);
    },
    [=](cancel_atom, const std::string& job) {
      cancel_job(self, job);
    },
    [=](stats_atom) {
      auto& st = self->state;
      warn_unplaceable(self); // asked for at each heartbeat
      detail::node_stats result;
      result.total = st.sched.total().to_doubles();
      result.available = st.sched.available().to_doubles_over(st.sched.total());
      // Tasks pipelined behind a running one count as queued.
      result.queued = st.waiting.size() + st.sched.queued() +
                      st.running.size() - st.leases.size();
      for (auto& kv : st.parked)
        result.queued += kv.second.size();
      result.running = st.leases.size();
      result.blocked = st.blocked;
      result.infeasible = st.sched.infeasible().size() + st.unplaceable.size();
      result.worker_threads = st.pool->size();
      result.actors = st.actors;
      result.pending_actors =
        st.placements.size() + st.infeasible_placements.size();
      result.infeasible_shapes = infeasible_shapes(st);
      result.task_actors_spawned = st.task_actors_spawned;
      result.task_executions = st.task_executions;
      // Who holds the resources: each running task's, by its job.
      for (auto& [worker, l] : st.leases) {
        if (l.tasks.empty())
          continue;
        auto& hold = result.held[l.tasks.front()->job.to_string()];
        ++hold.tasks;
        for (auto& [name, amount] : l.acquired.to_doubles())
          if (!(l.blocked && name == detail::cpu_resource)) // lent out
            hold.resources[name] += amount;
      }
      return result;
    },
  };
}

} // namespace

} // namespace detail_scheduler

scheduler_actor make_scheduler(caf::actor_system& sys,
                               detail::resource_set total,
                               detail::object_table* table,
                               detail::worker_pool* pool, std::string node_id,
                               object_store_actor store,
                               lineage_setup lineage) {
  return sys.spawn(detail_scheduler::scheduler, std::move(total), table, pool,
                   std::move(node_id), std::move(store), std::move(lineage));
}

} // namespace lumen

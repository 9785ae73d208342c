// The scheduler's state and what its files share; private to them:
// scheduler.cpp assembles the behavior and schedules locally (arguments,
// dispatch, actor placements, blocked tasks); scheduler_placement.cpp
// decides what runs elsewhere (tasks and actors, on the copy of the peers'
// capacity) and takes results of tasks sent away; scheduler_lineage.cpp
// commits lineage ahead of a task and tells reconstruction what ended.
// Talking to peers is the cluster link's (cluster_link.hpp).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/result.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/cluster_link.hpp"
#include "actors/scheduler.hpp"
#include "scheduling/local_scheduler.hpp"
#include "scheduling/placement_policy.hpp"

namespace lumen::detail_scheduler {

/// A worker thread running tasks that hold one set of resources between
/// them: the first task in `tasks` runs (or is about to), the others are
/// queued on the worker behind it (pipelined) and may be taken back. Each
/// has its task actor (task_actor.hpp), which posts its user call there.
struct lease {
  detail::resource_set acquired;
  std::deque<detail::task_ptr> tasks;
  /// The running task waits in `get`: its CPU part is given back, and
  /// nothing more is pipelined behind it.
  bool blocked = false;
};

/// A task given a worker: its task actor, the task's address.
struct running_task {
  detail::worker_pool::worker* worker = nullptr;
  caf::actor actor;
};

/// A task whose user call was taken back from its worker (or bounced off
/// it) and waits in the queue again; its actor waits for the call's
/// result, wherever the call runs.
struct detached_task {
  caf::actor actor;
  detail::worker_pool::job call;
};

struct pending_placement {
  detail::placement_ptr what;
  caf::typed_response_promise<detail::worker_list> promise;
};

struct scheduler_state {
  detail::local_scheduler sched{detail::resource_set{}};
  /// This node's id.
  std::string node_id;
  /// The GCS and the peers' capacity, as the cluster link last pushed
  /// them; a peer's copy counts what this node sent it since.
  detail::cluster_capacity cluster;
  /// The node's cluster link (cluster_link.hpp): tasks for peers go there.
  cluster_link_actor link;
  detail::placement_policy policy;
  /// Tasks no live node can hold now; placed again with every view.
  std::vector<detail::task_ptr> unplaceable;
  /// Tasks for a live peer the last view gave no handle for (it registers
  /// again); placed again with the next view.
  std::vector<detail::task_ptr> unreachable;
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
  /// Keyed by the spec, not the task id: two executions of one task (a
  /// dead owner's and its retry's) may wait here at once.
  std::unordered_map<const detail::task_spec*, std::set<object_id>> waiting;
  /// Tasks waiting for each missing id.
  std::unordered_map<object_id, std::vector<detail::task_ptr>> waiters;
  /// Objects owned here whose values are held on other nodes.
  std::unordered_set<object_id> held_elsewhere;
  object_store_actor store;
  /// Workers running tasks, and where each task runs (or is queued) with
  /// its task actor.
  std::unordered_map<detail::worker_pool::worker*, lease> leases;
  std::unordered_map<task_id, running_task> running;
  /// Queued again after their call was taken back from a worker.
  std::unordered_map<const detail::task_spec*, detached_task> detached;
  /// Task actors spawned, and task executions reported (retries count).
  std::uint64_t task_actors_spawned = 0;
  std::uint64_t task_executions = 0;
  /// Tasks that came while another execution of the same task (same id)
  /// ran here, each to run once that one ended (see dispatch).
  std::unordered_map<task_id, std::deque<detail::task_ptr>> parked;
  std::size_t blocked = 0;
  lineage_setup lineage;
  /// Rebuilds lost objects (reconstruction.hpp); linked.
  reconstruction_actor reconstruction;
  /// Whether it has rebuilds pending (its last (rebuilding, ...)): then
  /// tasks ending here are reported to it.
  bool rebuilds_pending = false;

  /// Cancels not applied yet; whether a (cancel) to apply them is on its
  /// way; recent cancels that found no task here, for a task that comes
  /// after its cancel (scheduler_cancel.cpp).
  std::unordered_map<task_id, detail::cancel_request> cancels;
  bool cancel_posted = false;
  std::unordered_map<task_id, std::pair<detail::cancel_request,
                                        std::chrono::steady_clock::time_point>>
    unmatched_cancels;

  const char* name = "lumen.scheduler";

  scheduler_state() = default;
  scheduler_state(const scheduler_state&) = delete;
  scheduler_state& operator=(const scheduler_state&) = delete;

  /// The scheduler stopped: so do the task actors it ran (each fails
  /// its task as it ends), so that none waits for a worker that is gone.
  ~scheduler_state() {
    for (auto& kv : running)
      caf::anon_send_exit(kv.second.actor, caf::exit_reason::user_shutdown);
    for (auto& kv : detached)
      caf::anon_send_exit(kv.second.actor, caf::exit_reason::user_shutdown);
  }
};

using self_ptr = scheduler_actor::stateful_pointer<scheduler_state>;

// -- local scheduling (scheduler.cpp) ----------------------------------------

void enqueue_local(self_ptr self, detail::task_ptr task);

/// Waits for the ref arguments that are neither ready here nor (when the
/// task may go elsewhere) held on another node; `make_ready` once none is
/// missing. `local` demands every value here, fetching those held
/// elsewhere.
void await_args(self_ptr self, detail::task_ptr task, bool local);

/// Argument `id` of `task` arrived (or is known to be held elsewhere).
void arg_arrived(self_ptr self, const detail::task_ptr& task,
                 const object_id& id);

/// Starts what resources and workers allow (actors first).
void dispatch(self_ptr self);

/// Takes the tasks queued behind the running one on `w` back into the
/// queue (see scheduler.cpp).
void take_back(self_ptr self, detail::worker_pool::worker* w, lease& l,
               bool close);

// -- cancel (scheduler_cancel.cpp)
// ----------------------------------------------

/// Gathers a cancel; applied with the others at the next (cancel).
void add_cancel(self_ptr self, const detail::cancel_request& r);

/// Applies the gathered cancels (see scheduler.hpp).
void apply_cancels(self_ptr self);

/// Cancels every task of job `job` (32 hex digits) here: its driver
/// ended.
void cancel_job(self_ptr self, const std::string& job);

/// Whether `task`, just arrived, was cancelled before it came; if so it
/// is failed as cancelled.
bool cancelled_on_arrival(self_ptr self, const detail::task_ptr& task);

// -- here or elsewhere (scheduler_placement.cpp) ------------------------------

/// Runs `task` here or hands it to the cluster link for a peer, as
/// placement_policy decides on the copy of the peers' capacity.
void make_ready(self_ptr self, detail::task_ptr task);

/// Takes a new copy of the cluster from the link; places again the tasks
/// no node could hold.
void on_view(self_ptr self, detail::cluster_capacity_ptr view);

/// A task sent to `node` ended there: its resources count as free again in
/// the copy; with `held_there`, its value stays there.
void on_result(self_ptr self, const std::string& node,
               const detail::task_ptr& task, const object_id& id,
               bool held_there);

caf::result<std::string, caf::actor> on_where(self_ptr self,
                                              detail::placement_ptr what);

/// The shapes of work waiting here that no node can hold, with counts.
std::vector<std::pair<std::string, std::size_t>>
infeasible_shapes(const scheduler_state& st);

/// Warns now and then while tasks wait for resources no node has.
void warn_unplaceable(self_ptr self);

// -- lineage (scheduler_lineage.cpp) ------------------------------------------

/// A task submitted on this node: with write_ahead, commits its spec to the
/// GCS first; then waits for its arguments.
void submit_task(self_ptr self, detail::task_ptr task);

/// The task making `id` ended here: tells the reconstruction actor, while
/// it has rebuilds pending.
void rebuilt(self_ptr self, const object_id& id);

} // namespace lumen::detail_scheduler

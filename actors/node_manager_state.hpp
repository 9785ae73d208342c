// node_manager's state and what its files share; private to them:
// node_manager.cpp assembles the behavior and schedules locally (arguments,
// dispatch, actor placements, blocked tasks); node_manager_cluster.cpp
// decides what runs elsewhere and talks to peers (records, views, spillbacks,
// results, where actors live); node_manager_lineage.cpp keeps lineage with
// tasks (write-ahead commits, stashing and forwarding it). Rebuilding lost
// objects is the reconstruction actor's (reconstruction.hpp).
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

#include "actors/node_manager.hpp"
#include "scheduling/local_scheduler.hpp"
#include "scheduling/placement_policy.hpp"
#include "wire/cluster_types.hpp"

namespace lumen::detail_node_manager {

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

/// Another node, as the last view showed it.
struct peer {
  detail::node_record rec;
  detail::node_capacity capacity;
  node_manager_actor manager;
  /// Its object store (this node's object_store talks to it).
  caf::actor store;
};

/// A task this node sent to another node, until its result comes back.
struct sent_task {
  detail::task_ptr task;
  std::string node;
};

struct node_manager_state {
  detail::local_scheduler sched{detail::resource_set{}};
  /// Who this node is: the id, address, head and driver of its record
  /// (the rest is filled in each time the record is sent).
  detail::node_record identity;
  /// Set once the node joined a cluster.
  caf::actor gcs;
  std::map<std::string, peer> peers;
  /// Peers this node connected to directly (node_manager_links.cpp).
  std::set<std::string> linked;
  detail::placement_policy policy;
  std::unordered_map<task_id, sent_task> sent;
  /// Tasks no live node can hold now; retried whenever the view changes.
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
  /// Rebuilds lost objects (reconstruction.hpp); spawned linked.
  reconstruction_actor reconstruction;
  /// Whether it has rebuilds pending (its last (rebuilding, ...)): then
  /// tasks ending here and results from peers are reported to it.
  bool rebuilds_pending = false;

  const char* name = "lumen.node_manager";

  node_manager_state() = default;
  node_manager_state(const node_manager_state&) = delete;
  node_manager_state& operator=(const node_manager_state&) = delete;

  /// The node manager stopped: so do the task actors it ran (each fails
  /// its task as it ends), so that none waits for a worker that is gone.
  ~node_manager_state() {
    for (auto& kv : running)
      caf::anon_send_exit(kv.second.actor, caf::exit_reason::user_shutdown);
    for (auto& kv : detached)
      caf::anon_send_exit(kv.second.actor, caf::exit_reason::user_shutdown);
  }
};

using self_ptr = node_manager_actor::stateful_pointer<node_manager_state>;

// -- local scheduling (node_manager.cpp) --------------------------------------

void enqueue_local(self_ptr self, detail::task_ptr task);

/// Waits for the ref arguments that are neither ready here nor (when the
/// task may go elsewhere) held on another node; `make_ready` once none is
/// missing. `local` demands every value here, fetching those held
/// elsewhere.
void await_args(self_ptr self, detail::task_ptr task, bool local);

/// Argument `id` of `task` arrived (or is known to be held elsewhere).
void arg_arrived(self_ptr self, const detail::task_ptr& task,
                 const object_id& id);

// -- across nodes (node_manager_cluster.cpp) ----------------------------------

/// This node's record, as it goes into heartbeats and the view.
detail::node_record own_record(const node_manager_state& st);

/// Runs `task` here or has a peer run it, as placement_policy decides.
void make_ready(self_ptr self, detail::task_ptr task);

/// Connects straight to every live peer not connected yet
/// (node_manager_links.cpp).
void link_peers(self_ptr self);

/// Applies a view from the GCS: peers, lost tasks, tasks that now fit.
void apply_view(self_ptr self, const std::vector<char>& bytes,
                const std::vector<caf::actor>& managers,
                const std::vector<caf::actor>& stores);

/// The handlers of (spillback ...), (result ...), (where ...) and (spawn ...);
/// see node_manager.hpp.
void on_spillback(self_ptr self, caf::actor owner,
                  const std::vector<char>& bytes);

void on_result(self_ptr self, const std::vector<char>& bytes);

caf::result<std::string, caf::actor> on_where(self_ptr self,
                                              detail::placement_ptr what);

// -- lineage (node_manager_lineage.cpp) --------------------------------------

/// Appends a task that arrived from a peer, and the lineage it carries, to
/// this node's stash.
void stash_received(self_ptr self, const detail::task_ptr& task);

/// The uncommitted specs `task` depends on, to send along with it.
std::vector<std::string> lineage_for_peer(self_ptr self,
                                          const detail::task_ptr& task);

/// A task submitted on this node: with write_ahead, commits its spec to the
/// GCS first; then waits for its arguments.
void submit_task(self_ptr self, detail::task_ptr task);

/// The task making `id` ended here, or its result came from a peer: tells
/// the reconstruction actor, while it has rebuilds pending.
void rebuilt(self_ptr self, const object_id& id);

caf::result<caf::actor> on_spawn(self_ptr self, caf::actor forwarder,
                                 caf::actor owner,
                                 const std::vector<char>& spec_bytes,
                                 const std::vector<char>& option_bytes);

} // namespace lumen::detail_node_manager

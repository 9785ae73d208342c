// node_manager: the node's local scheduler.
//
// Accepts tasks, waits until their arguments are ready, queues them by
// priority (local_scheduler), and when resources and a worker thread are
// free spawns the task's actor (task_actor.hpp) on that worker: one per
// execution, kept by task id while the task runs. While no resources are
// free, further tasks asking for the same resources queue on busy workers
// (up to 16 each) and are taken back when their worker's task blocks or
// resources free up elsewhere. A task blocked in `get` gives its CPU back
// until it wakes up.
//
// Messages:
// - (submit, task_ptr) -> void: run this task once its arguments are ready.
// - (deps, task_ptr, object_id) -> void: that argument became ready (or,
//   for a spillback, known to be held on some node).
// - (done, task_id, again) -> void: a task actor ended its execution;
//   `again` (or null) is the next execution to queue (a retry).
// - (bounced, task_id, user_call) -> void: a task actor's worker was
//   closed (blocked); queue the task again with its call.
// - (blocked, task_id) -> void: the task waits in get; release its CPU.
// - (unblocked, task_id) -> void: the task runs again; take its CPU back.
// - (place, placement_ptr) -> worker_list: reserve an actor's resources
//   and dedicated workers; answered once they are free (first come, first
//   served, before queued tasks).
// - (release, placement_ptr, worker_list) -> void: the actor is gone (a
//   null placement returns workers only).
// - (stats) -> node_stats: resources, queue lengths, task actor counts.
//
// In a cluster (after `join`):
// - (join, gcs, NodeRecord bytes) -> bool: register this node with the GCS
//   and start heartbeats; answered once registered (the reconstruction
//   actor then gets the GCS, to read lineage from).
// - (view, ClusterView bytes, node managers, object stores) -> void: the
//   GCS's view; the object stores go to this node's object_store, which
//   peers' stores talk to directly (no object message passes here).
// - (spillback, owner node manager, TaskSpec bytes) -> void: run this task
//   here; its result goes back to the owner.
// - (result, ObjectPayload bytes) -> void: a task this node sent elsewhere
//   finished.
// - (nodes) -> ClusterView bytes: the view with this node's own record
//   fresh (a one-node view outside a cluster).
// - (tick) -> void: internal heartbeat timer.
// - (where, placement) -> (node id, node manager): where an actor should
//   live: "" for this node, else a peer (placement_policy on what it holds).
// - (spawn, forwarder, owner node manager, factory TaskSpec bytes,
//   ActorOptions bytes) -> host: host here an actor owned by another node.
// - (reserve, group id, index, bundle) -> void: set a placement group's
//   bundle aside: its resources leave the general pool and come back under
//   the bundle's own names (see pg_planner.hpp), which only tasks and
//   actors of that bundle ask for. (unreserve, ...) undoes it.
//
// Lineage (node_manager_lineage.cpp; rebuilding lost objects is the
// reconstruction actor's job, reconstruction.hpp, which this actor spawns,
// linked, and hands to the object_store for its (lost, id) reports):
// - (resubmit, task_ptr) -> void: from the reconstruction actor: run this
//   task again to rebuild its lost return; its spec is recorded already,
//   so it waits for its arguments at once (no write-ahead commit).
// - (rebuilding, bool) -> void: from the reconstruction actor: whether
//   rebuilds are pending. While they are, each task ending here (done
//   without a retry) and each result from a peer is reported to it as
//   (rebuilt, object id).
// - (lost, object_id) -> void: from the reconstruction actor: the
//   object's copies elsewhere are gone; a task taking it waits for it here.
// With lineage = write_ahead, a submitted task waits until the GCS has
// committed its spec; with stash, the runtime appends specs itself and
// tasks sent to peers carry their uncommitted ancestors, which the peer
// stashes.
//
// Scheduling across nodes follows placement_policy (src/scheduling): here while
// local resources allow, else elsewhere. A task sent to a node that dies is
// sent again while its max_retries allow.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"
#include "actors/object_store.hpp"
#include "actors/reconstruction.hpp"
#include "lumen/config.hpp"
#include "scheduling/resources.hpp"
#include "scheduling/worker_pool.hpp"
#include "wire/cluster_types.hpp"

namespace lumen {

namespace detail {
class lineage_stash;
} // namespace detail

/// A snapshot of one node's scheduler.
struct node_stats {
  std::map<std::string, double> total;
  std::map<std::string, double> available;
  std::size_t waiting_for_args = 0;
  std::size_t queued = 0;
  std::size_t running = 0;
  std::size_t blocked = 0;
  std::size_t infeasible = 0;
  std::size_t worker_threads = 0;
  std::size_t actors = 0;
  std::size_t pending_actors = 0;
  /// Task actors spawned so far, and task executions ended so far
  /// (retries and rebuilds included): one actor per execution.
  std::uint64_t task_actors_spawned = 0;
  std::uint64_t task_executions = 0;
};

using node_manager_actor = caf::typed_actor<
  caf::reacts_to<submit_atom, detail::task_ptr>,
  caf::reacts_to<deps_atom, detail::task_ptr, object_id>,
  caf::reacts_to<done_atom, task_id, detail::task_ptr>,
  caf::reacts_to<bounced_atom, task_id, detail::user_call>,
  caf::reacts_to<blocked_atom, task_id>,
  caf::reacts_to<unblocked_atom, task_id>,
  caf::replies_to<place_atom, detail::placement_ptr>::with<detail::worker_list>,
  caf::reacts_to<release_atom, detail::placement_ptr, detail::worker_list>,
  caf::replies_to<stats_atom>::with<node_stats>,
  caf::replies_to<join_atom, caf::actor, std::vector<char>>::with<bool>,
  caf::reacts_to<view_atom, std::vector<char>, std::vector<caf::actor>,
                 std::vector<caf::actor>>,
  caf::reacts_to<spillback_atom, caf::actor, std::vector<char>>,
  caf::reacts_to<result_atom, std::vector<char>>,
  caf::replies_to<nodes_atom>::with<std::vector<char>>,
  caf::reacts_to<tick_atom>,
  caf::replies_to<where_atom, detail::placement_ptr>::with<std::string,
                                                           caf::actor>,
  caf::replies_to<spawn_atom, caf::actor, caf::actor, std::vector<char>,
                  std::vector<char>>::with<caf::actor>,
  caf::reacts_to<reserve_atom, std::string, std::uint64_t,
                 std::map<std::string, double>>,
  caf::reacts_to<unreserve_atom, std::string, std::uint64_t,
                 std::map<std::string, double>>,
  caf::reacts_to<resubmit_atom, detail::task_ptr>,
  caf::reacts_to<rebuilding_atom, bool>, caf::reacts_to<lost_atom, object_id>>;

/// How this node keeps lineage.
struct lineage_setup {
  lineage_mode mode = lineage_mode::off;
  /// The node's stash; null when the mode is off.
  detail::lineage_stash* stash = nullptr;
  /// Woken with (tick) when the stash had nothing queued.
  caf::actor stash_actor;
};

/// Spawns the node manager. `table`, `pool` and the stash must outlive it.
node_manager_actor
make_node_manager(caf::actor_system& sys, detail::resource_set total,
                  detail::object_table* table, detail::worker_pool* pool,
                  detail::node_record identity, object_store_actor store,
                  lineage_setup lineage = {});

} // namespace lumen

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::node_stats)

// scheduler: the node's local scheduler.
//
// Takes tasks, waits until their arguments are ready, decides "here or
// elsewhere" (placement_policy, on its copy of the peers' capacity that the
// cluster link pushes), queues what runs here by priority
// (detail::local_scheduler, its queue and resources), and when resources
// and a worker thread are free spawns the task's actor (task_actor.hpp) on
// that worker, one per execution. While no resources are free, tasks asking
// for the same ones queue on busy workers (up to 16 each) and are taken
// back when their worker's task blocks or resources free up elsewhere. A
// task blocked in `get` gives its CPU back until it wakes up. It also
// places actors (resources, dedicated workers) and placement-group bundles.
//
// Messages it takes:
// - (submit, task) -> void: run this task once its arguments are ready.
// - (deps, task, id) -> void: that argument became ready.
// - (done, task id, again) -> void: a task actor ended its execution;
//   `again` (or null) is the next execution to queue (a retry).
// - (bounced, task id, user_call) -> void: the task actor's worker was
//   closed (blocked); queue the task again with its call.
// - (blocked | unblocked, task id) -> void: the task waits in `get` (its
//   CPU is lent out) / runs again.
// - (place, placement) -> worker_list: an actor's resources and workers,
//   once free (before tasks); (release, placement, worker_list): it left.
// - (where, placement) -> (node id, cluster link): where an actor should
//   live ("" for here).
// - (reserve | unreserve, group id, index, bundle) -> void: set a placement
//   group's bundle aside under its own names (pg_planner.hpp), or undo it.
// - (stats) -> node_stats: resources, queues, task actor counts.
// From the cluster link (cluster_link.hpp):
// - (join, link, reconstruction) -> void: once, at start: the node's
//   cluster link and reconstruction actor (linked to this one).
// - (view, cluster_capacity) -> void: the GCS and the peers' capacity;
//   tasks no node could hold are placed again.
// - (spillback, task) -> void: a task from a peer: run it here.
// - (bounced, task) -> void: the peer chosen for it is dead or unknown:
//   place it again (here, on another node, or once one can hold it).
// - (retry, task) -> void: a task lost with its node: place it again.
// - (result, node id, task, id, held there) -> void: a task sent to that
//   node ended; with `held there`, the value stays on that node.
// From reconstruction: (resubmit, task), (rebuilding, bool), (lost, id).
// Cancels (scheduler_cancel.cpp, lumen/cancel.hpp):
// - (cancel, inbox) from the runtime, (cancel, task id, force, recursive)
//   for one task (a child, a peer's cancel), (cancel) internal: apply
//   those gathered, in one pass; tasks not found go to the cluster link.
// - (cancel, job id) -> void: that job's driver ended: cancel its tasks.
//
// Messages it sends: (spillback, task, node id) to the link; (rebuilt, id)
// to reconstruction; (fetch, ...) to the store; (lincommit, ...) to the GCS
// with lineage = write_ahead.
#pragma once

#include <cstdint>
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
#include "scheduling/node_stats.hpp"
#include "scheduling/resources.hpp"
#include "scheduling/worker_pool.hpp"

namespace lumen {

namespace detail {
class lineage_stash;
} // namespace detail

using scheduler_actor = caf::typed_actor<
  caf::reacts_to<submit_atom, detail::task_ptr>,
  caf::reacts_to<deps_atom, detail::task_ptr, object_id>,
  caf::reacts_to<done_atom, task_id, detail::task_ptr>,
  caf::reacts_to<bounced_atom, task_id, detail::user_call>,
  caf::reacts_to<blocked_atom, task_id>,
  caf::reacts_to<unblocked_atom, task_id>,
  caf::replies_to<place_atom, detail::placement_ptr>::with<detail::worker_list>,
  caf::reacts_to<release_atom, detail::placement_ptr, detail::worker_list>,
  caf::replies_to<where_atom, detail::placement_ptr>::with<std::string,
                                                           caf::actor>,
  caf::reacts_to<reserve_atom, std::string, std::uint64_t,
                 std::map<std::string, double>>,
  caf::reacts_to<unreserve_atom, std::string, std::uint64_t,
                 std::map<std::string, double>>,
  caf::replies_to<stats_atom>::with<detail::node_stats>,
  caf::reacts_to<join_atom, caf::actor, caf::actor>,
  caf::reacts_to<view_atom, detail::cluster_capacity_ptr>,
  caf::reacts_to<spillback_atom, detail::task_ptr>,
  caf::reacts_to<bounced_atom, detail::task_ptr>,
  caf::reacts_to<retry_atom, detail::task_ptr>,
  caf::reacts_to<result_atom, std::string, detail::task_ptr, object_id, bool>,
  caf::reacts_to<resubmit_atom, detail::task_ptr>,
  caf::reacts_to<rebuilding_atom, bool>, caf::reacts_to<lost_atom, object_id>,
  caf::reacts_to<cancel_atom, detail::cancel_inbox_ptr>,
  caf::reacts_to<cancel_atom, task_id, bool, bool>, caf::reacts_to<cancel_atom>,
  caf::reacts_to<cancel_atom, std::string>>;

/// How this node keeps lineage.
struct lineage_setup {
  lineage_mode mode = lineage_mode::off;
  /// The node's stash; null when the mode is off.
  detail::lineage_stash* stash = nullptr;
  /// Woken with (tick) when the stash had nothing queued.
  caf::actor stash_actor;
};

/// Spawns the scheduler of node `node_id`. `table`, `pool` and the stash
/// must outlive it. Send it (join, link, reconstruction) before any task.
scheduler_actor make_scheduler(caf::actor_system& sys,
                               detail::resource_set total,
                               detail::object_table* table,
                               detail::worker_pool* pool, std::string node_id,
                               object_store_actor store,
                               lineage_setup lineage = {});

} // namespace lumen

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::node_stats)

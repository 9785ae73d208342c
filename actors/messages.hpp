// Atoms and message types shared by the system actors of one node.
//
// Types that only travel inside one process are shared pointers to
// immutable runtime structs; CAF is told they never leave the process.
// Messages between nodes use Cap'n Proto bytes instead (src/wire).
#pragma once

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <memory>
#include <vector>

#include "lumen/ids.hpp"
#include "objects/object_table.hpp"
#include "scheduling/actor_spec.hpp"
#include "scheduling/cancel_state.hpp"
#include "scheduling/placement_policy.hpp"
#include "scheduling/resources.hpp"
#include "scheduling/worker_pool.hpp"
#include "wire/task_spec.hpp"

namespace lumen::detail {

/// What an actor (or a native CAF actor) asks the scheduler for: the
/// resources it holds while it lives and its own worker threads.
struct placement {
  task_id owner;
  std::string name;
  resource_set hold;
  /// Placed only on a node with at least one CPU in total.
  bool needs_cpu_node = false;
  /// Dedicated worker threads (its max_concurrency), 0 for native actors.
  std::size_t workers = 0;
  /// Only fresh workers for an actor placed already (a restart while its
  /// old workers are busy): holds nothing, counts no new actor.
  bool workers_only = false;
  /// Where it may go in a cluster (as for tasks).
  scheduling_strategy strategy = scheduling_strategy::default_strategy;
  std::string affinity_node;
  bool affinity_soft = false;
};

using placement_ptr = std::shared_ptr<const placement>;

/// Registers the message types nodes send each other beyond CAF's
/// built-in ones; every actor system that talks to a node calls it.
void register_wire_types(caf::actor_system_config& cfg);

/// The dedicated workers of one actor.
struct worker_list {
  std::vector<worker_pool::worker*> workers;
};

/// A task's user call, ready to run on a worker thread (task_actor.hpp).
struct user_call {
  worker_pool::job run;
};

/// The cluster as the scheduler places work in it: what the cluster link
/// (cluster_link.hpp) pushes to the scheduler (scheduler.hpp) once joined
/// and with every view, so that "here or elsewhere" needs no round trip.
struct cluster_capacity {
  /// The GCS; null before the node joined.
  caf::actor gcs;
  /// Whether work may go to other nodes: false for the embedded one-node
  /// cluster (no address, no peers).
  bool clustered = false;
  /// The other nodes, as the view showed them (dead ones included).
  std::vector<node_capacity> peers;
  /// Their cluster links, in the same order (null: not reachable now).
  std::vector<caf::actor> links;
};

using cluster_capacity_ptr = std::shared_ptr<const cluster_capacity>;

} // namespace lumen::detail

namespace lumen {

using submit_atom = caf::atom_constant<caf::atom("submit")>;
using deps_atom = caf::atom_constant<caf::atom("deps")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using blocked_atom = caf::atom_constant<caf::atom("blocked")>;
using unblocked_atom = caf::atom_constant<caf::atom("unblocked")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using finished_atom = caf::atom_constant<caf::atom("finished")>;
using place_atom = caf::atom_constant<caf::atom("place")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using call_atom = caf::atom_constant<caf::atom("call")>;
using created_atom = caf::atom_constant<caf::atom("created")>;
using kill_atom = caf::atom_constant<caf::atom("kill")>;
using orphan_atom = caf::atom_constant<caf::atom("orphan")>;
/// A borrowed handle's host on another node attaches to the actor's.
using attach_atom = caf::atom_constant<caf::atom("hattach")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using view_atom = caf::atom_constant<caf::atom("view")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using spillback_atom = caf::atom_constant<caf::atom("spillback")>;
using result_atom = caf::atom_constant<caf::atom("result")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using nodes_atom = caf::atom_constant<caf::atom("nodes")>;
using pull_atom = caf::atom_constant<caf::atom("pull")>;
using locate_atom = caf::atom_constant<caf::atom("locate")>;
using located_atom = caf::atom_constant<caf::atom("located")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using free_atom = caf::atom_constant<caf::atom("free")>;
using host_atom = caf::atom_constant<caf::atom("host")>;
using peers_atom = caf::atom_constant<caf::atom("peers")>;
using where_atom = caf::atom_constant<caf::atom("where")>;
using spawn_atom = caf::atom_constant<caf::atom("spawnactor")>;
using rcall_atom = caf::atom_constant<caf::atom("rcall")>;
using rstream_atom = caf::atom_constant<caf::atom("rstream")>;
using flush_timer_atom = caf::atom_constant<caf::atom("flushtimer")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using pg_create_atom = caf::atom_constant<caf::atom("pgcreate")>;
using pg_wait_atom = caf::atom_constant<caf::atom("pgwait")>;
using pg_remove_atom = caf::atom_constant<caf::atom("pgremove")>;
using pg_find_atom = caf::atom_constant<caf::atom("pgfind")>;
using reserve_atom = caf::atom_constant<caf::atom("reserve")>;
using unreserve_atom = caf::atom_constant<caf::atom("unreserve")>;
using kv_put_atom = caf::atom_constant<caf::atom("kvput")>;
using kv_get_atom = caf::atom_constant<caf::atom("kvget")>;
using kv_del_atom = caf::atom_constant<caf::atom("kvdel")>;
using kv_keys_atom = caf::atom_constant<caf::atom("kvkeys")>;
using actor_add_atom = caf::atom_constant<caf::atom("actoradd")>;
using actor_dead_atom = caf::atom_constant<caf::atom("actordead")>;
using actor_find_atom = caf::atom_constant<caf::atom("actorfind")>;
using actor_get_atom = caf::atom_constant<caf::atom("actorget")>;
using lineage_commit_atom = caf::atom_constant<caf::atom("lincommit")>;
using lineage_batch_atom = caf::atom_constant<caf::atom("linbatch")>;
using lineage_pump_atom = caf::atom_constant<caf::atom("linpump")>;
using lineage_get_atom = caf::atom_constant<caf::atom("linget")>;
using lineage_count_atom = caf::atom_constant<caf::atom("lincount")>;
using lineage_delete_atom = caf::atom_constant<caf::atom("lindel")>;
using lineage_bytes_atom = caf::atom_constant<caf::atom("linbytes")>;
using lost_atom = caf::atom_constant<caf::atom("lost")>;
using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;
using bounced_atom = caf::atom_constant<caf::atom("bounced")>;
using lend_atom = caf::atom_constant<caf::atom("lend")>;
using borrow_atom = caf::atom_constant<caf::atom("borrow")>;
using unborrow_atom = caf::atom_constant<caf::atom("unborrow")>;
using giveback_atom = caf::atom_constant<caf::atom("giveback")>;
using borrow_stats_atom = caf::atom_constant<caf::atom("borrowst")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;

} // namespace lumen

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::task_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::task_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::object_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::object_table::stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::placement_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::worker_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::user_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::actor_call_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::cluster_capacity_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::cancel_inbox_ptr)

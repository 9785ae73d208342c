// cluster_link: this node's link to the rest of the cluster.
//
// Joins the GCS and keeps the node alive there (heartbeats), applies the
// views the GCS pushes (peers, direct connections to them, the peers'
// stores to the object store, the peers' capacity to the scheduler), sends
// tasks to peers and takes their results, takes tasks and actors peers send
// here. It is the node's handle in the cluster: the GCS lists it in views,
// and peers send it their tasks, results and actors. Local work never
// passes through it: the scheduler decides "here or elsewhere" on its own
// copy of the peers' capacity.
//
// Messages it takes:
// - (join, gcs, NodeRecord bytes) -> bool: from the runtime: register this
//   node with the GCS and start heartbeats; answered once registered.
// - (view, ClusterView bytes, links, stores) -> void: from the GCS: the
//   view, with each node's cluster link and object store.
// - (tick) -> void: internal heartbeat timer.
// - (nodes) -> ClusterView bytes: the view with this node's own record
//   fresh (asks the scheduler for its load).
// - (spillback, task, node id) -> void: from the scheduler: send the task
//   to that node; the task runs again (placed anew) if the node dies while
//   its max_retries allow.
// - (spillback, owner link, TaskSpec bytes) -> void: from a peer: run this
//   task here; its result goes back to the owner.
// - (result, ObjectPayload bytes) -> void: from a peer: a task this node
//   sent there finished.
// - (stream, items, producer link), (streamack, ack), (streamflsh,
//   channel) -> void: a streaming task's items from a peer, acks for one
//   running here, and a local channel's batch to send
//   (scheduling/stream_channel.hpp).
// - (spawn, forwarder, owner, factory TaskSpec bytes, ActorOptions bytes)
//   -> actor host: from a peer: host here an actor owned by it.
// - (cancel, task id, force, recursive) -> void: from the scheduler: a
//   cancel that found no task there; passed on to the node the task was
//   sent to, if any (cluster_link_cancel.cpp).
// - (cancel, id hi, id lo, force, recursive) -> void: from a peer: a
//   cancel for a task it sent here; passed on to the scheduler.
// - (reserve | unreserve, group id, index, bundle) -> void: from the GCS:
//   passed on to the scheduler.
//
// Messages it sends: (register, ...) and (heartbeat, NodeRecord bytes) to
// the GCS; (stats) to the scheduler for the node's load; to the scheduler
// (view, cluster_capacity), (spillback, task) for a task from a peer,
// (bounced, task) for one it could not send, (retry, task) for one lost
// with its node, (result, node, task, id, held there) for each result;
// (rebuilt, id) to reconstruction for each result from a peer; (peers,
// ...), (fetch, ...), (located, ...) and (host, ...) to the object store.
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
#include "actors/scheduler.hpp"
#include "scheduling/stream_channel.hpp"
#include "wire/cluster_types.hpp"

namespace lumen {

using cluster_link_actor = caf::typed_actor<
  caf::replies_to<join_atom, caf::actor, std::vector<char>>::with<bool>,
  caf::reacts_to<view_atom, std::vector<char>, std::vector<caf::actor>,
                 std::vector<caf::actor>>,
  caf::reacts_to<tick_atom>,
  caf::replies_to<nodes_atom>::with<std::vector<char>>,
  caf::reacts_to<spillback_atom, detail::task_ptr, std::string>,
  caf::reacts_to<spillback_atom, caf::actor, std::vector<char>>,
  caf::reacts_to<result_atom, std::vector<char>>,
  caf::reacts_to<cancel_atom, task_id, bool, bool>,
  caf::reacts_to<cancel_atom, std::uint64_t, std::uint64_t, bool, bool>,
  caf::reacts_to<stream_atom, std::vector<char>, caf::actor>,
  caf::reacts_to<stream_ack_atom, std::vector<char>>,
  caf::reacts_to<stream_flush_atom, detail::stream_channel_ptr>,
  caf::replies_to<spawn_atom, caf::actor, caf::actor, std::vector<char>,
                  std::vector<char>>::with<caf::actor>,
  caf::reacts_to<reserve_atom, std::string, std::uint64_t,
                 std::map<std::string, double>>,
  caf::reacts_to<unreserve_atom, std::string, std::uint64_t,
                 std::map<std::string, double>>>;

/// Spawns the cluster link of the node `identity` names (its id, address,
/// head and driver). `table` and the stash must outlive it.
cluster_link_actor
make_cluster_link(caf::actor_system& sys, detail::node_record identity,
                  detail::object_table* table, object_store_actor store,
                  scheduler_actor scheduler,
                  reconstruction_actor reconstruction, lineage_setup lineage);

} // namespace lumen

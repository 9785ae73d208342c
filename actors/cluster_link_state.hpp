// The cluster link's state and what its files share; private to them:
// cluster_link.cpp assembles the behavior and keeps the membership (join,
// heartbeats, views); cluster_link_tasks.cpp sends tasks to peers and takes
// theirs (spillbacks, results, actors, the lineage that travels with
// tasks); cluster_link_peers.cpp connects straight to peers.
#pragma once

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/cluster_link.hpp"
#include "scheduling/node_stats.hpp"
#include "wire/cluster_types.hpp"

namespace lumen::detail_cluster_link {

/// Another node, as the last view showed it.
struct peer {
  detail::node_record rec;
  /// Its cluster link (null: not reachable now).
  cluster_link_actor link;
  /// Its object store (this node's object_store talks to it).
  caf::actor store;
};

/// A task this node sent to another node, until its result comes back.
struct sent_task {
  detail::task_ptr task;
  std::string node;
};

struct cluster_link_state {
  /// Who this node is: the id, address, head and driver of its record
  /// (the rest is filled in each time the record is sent).
  detail::node_record identity;
  /// The scheduler's last answer to (stats): its part of the record.
  detail::node_stats load;
  /// Set once the node joined a cluster.
  caf::actor gcs;
  std::map<std::string, peer> peers;
  /// Peers this node connected to directly (cluster_link_peers.cpp).
  std::set<std::string> linked;
  std::unordered_map<task_id, sent_task> sent;
  /// Tasks for a live peer the view lists without a handle (it registers
  /// again after a lost connection): placed again with the next view.
  std::vector<detail::task_ptr> unreachable;
  detail::object_table* table = nullptr;
  object_store_actor store;
  scheduler_actor scheduler;
  reconstruction_actor reconstruction;
  lineage_setup lineage;

  const char* name = "lumen.cluster_link";
};

using self_ptr = cluster_link_actor::stateful_pointer<cluster_link_state>;

// -- membership (cluster_link.cpp) --------------------------------------------

/// This node's record, as it goes into heartbeats and the view.
detail::node_record own_record(const cluster_link_state& st);

// -- tasks and actors across nodes (cluster_link_tasks.cpp) -------------------

/// Fails `task` with `err` (its owner sees the error).
void fail_task(self_ptr self, const detail::task_ptr& task,
               detail::object_ptr err);

/// Sends `task` to node `id`, or back to the scheduler to run here if that
/// node is out of reach.
void send_to_peer(self_ptr self, detail::task_ptr task, const std::string& id);

/// Tasks sent to nodes that are gone: placed again while retries allow.
void resend_lost(self_ptr self);

/// The handlers of (spillback, owner, bytes), (result, bytes) and
/// (spawn, ...); see cluster_link.hpp.
void on_spillback(self_ptr self, caf::actor owner,
                  const std::vector<char>& bytes);

void on_result(self_ptr self, const std::vector<char>& bytes);

caf::result<caf::actor> on_spawn(self_ptr self, caf::actor forwarder,
                                 caf::actor owner,
                                 const std::vector<char>& spec_bytes,
                                 const std::vector<char>& option_bytes);

// -- cancels (cluster_link_cancel.cpp)
// -----------------------------------------

/// A cancel from the scheduler: goes to the node `id` was sent to.
void on_cancel(self_ptr self, const task_id& id, bool force, bool recursive);

/// A cancel from a peer for a task it sent here.
void on_peer_cancel(self_ptr self, const task_id& id, bool force,
                    bool recursive);

// -- direct connections (cluster_link_peers.cpp) ------------------------------

/// Connects straight to every live peer not connected yet.
void link_peers(self_ptr self);

} // namespace lumen::detail_cluster_link

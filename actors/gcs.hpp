// gcs: the global control store, on the head node only.
//
// Holds the cluster's tables: nodes (registration, heartbeats, failure
// detection, the cluster view it pushes), actors and their names, placement
// groups, key-value rows and committed lineage; with a store, every change
// is written before it is acknowledged. Records and views travel as Cap'n
// Proto bytes (src/wire/cluster.capnp) inside CAF messages.
// Details: docs/architecture.md, "gcs and gcs_client".
//
// Messages it takes:
// - (register, NodeRecord bytes, cluster link, object store) ->
//   (ClusterView bytes, cluster links, object stores): join the cluster, or
//   rejoin it after a head restart; the handles follow the view's nodes.
// - (heartbeat, NodeRecord bytes) -> void: the sender's current record.
// - (view) -> ClusterView bytes: the current view (for `lumen status`).
// - (tick) -> void: internal timer: failure detection, view pushes, pending
//   placement groups.
// - (pgcreate, id, name, strategy, bundles) -> id: a placement group under
//   the id its caller chose, placed once the nodes' free resources allow.
// - (pgwait, id) -> bool: true once placed, false if removed;
//   (pgremove, id) -> bool: gives the bundles back.
// - (pgfind, id, name) -> (id, bundles, state): a group by id, else by name
//   (state 0 unknown, 1 pending, 2 placed).
// - (kvput, ns, key, value, overwrite) -> bool, (kvget, ns, key) ->
//   (found, value), (kvdel, ns, key) -> bool, (kvkeys, ns, prefix) -> keys.
// - (actoradd, id, name, ns, class, host, detached) -> bool: records (or
//   updates) an actor's row; false if its name is taken in its namespace.
// - (actordead, id, host) -> void: the actor's host `host` ended.
// - (actorfind, name, ns) -> (id, class, host): a live named actor ("" if
//   none); (actorget, id) -> (class, host, alive): a known actor.
// - (lincommit, task ids, specs) -> rows written, (linbatch, rows) -> rows
//   written: commit lineage (the scheduler's write-ahead, a lineage stash).
// - (linget, task id) -> spec bytes (empty if unknown), (lincount) ->
//   distinct task ids, (lindel, task ids) -> rows deleted, (linbytes) ->
//   bytes the committed lineage takes.
//
// Messages it sends:
// - (view, ClusterView bytes, cluster links, object stores) to every live
//   cluster link when the view changes, and to a node declared dead.
// - (reserve | unreserve, group id, index, bundle) to the cluster link of a
//   node holding a placement group's bundle.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"
#include "gcs/failure_detector.hpp"

namespace lumen::detail {

class rocks_db;
class pg_board;
struct local_lineage_log;

} // namespace lumen::detail

namespace lumen {

using gcs_actor = caf::typed_actor<
  caf::replies_to<register_atom, std::vector<char>, caf::actor, caf::actor>::
    with<std::vector<char>, std::vector<caf::actor>, std::vector<caf::actor>>,
  caf::reacts_to<heartbeat_atom, std::vector<char>>,
  caf::replies_to<view_atom>::with<std::vector<char>>,
  caf::reacts_to<tick_atom>,
  caf::replies_to<
    pg_create_atom, std::string, std::string, std::uint8_t,
    std::vector<std::map<std::string, double>>>::with<std::string>,
  caf::replies_to<pg_wait_atom, std::string>::with<bool>,
  caf::replies_to<pg_remove_atom, std::string>::with<bool>,
  caf::replies_to<pg_find_atom, std::string,
                  std::string>::with<std::string, std::uint64_t, std::uint8_t>,
  caf::replies_to<kv_put_atom, std::string, std::string, std::string,
                  bool>::with<bool>,
  caf::replies_to<kv_get_atom, std::string, std::string>::with<bool,
                                                               std::string>,
  caf::replies_to<kv_del_atom, std::string, std::string>::with<bool>,
  caf::replies_to<kv_keys_atom, std::string,
                  std::string>::with<std::vector<std::string>>,
  caf::replies_to<actor_add_atom, std::string, std::string, std::string,
                  std::uint64_t, caf::actor, bool>::with<bool>,
  caf::reacts_to<actor_dead_atom, std::string, caf::actor_addr>,
  caf::replies_to<actor_find_atom, std::string,
                  std::string>::with<std::string, std::uint64_t, caf::actor>,
  caf::replies_to<actor_get_atom, std::string>::with<std::uint64_t, caf::actor,
                                                     bool>,
  caf::replies_to<lineage_commit_atom, std::vector<std::string>,
                  std::vector<std::string>>::with<std::uint64_t>,
  caf::replies_to<lineage_batch_atom, std::string>::with<std::uint64_t>,
  caf::replies_to<lineage_get_atom, std::string>::with<std::vector<char>>,
  caf::replies_to<lineage_count_atom>::with<std::uint64_t>,
  caf::replies_to<lineage_delete_atom,
                  std::vector<std::string>>::with<std::uint64_t>,
  caf::replies_to<lineage_bytes_atom>::with<std::uint64_t>>;

/// Timing of membership.
struct gcs_timing {
  /// How often the GCS checks for silent nodes and pushes changes.
  std::chrono::milliseconds tick{200};
  /// How long a node loaded from the store that registered again has to
  /// announce its actors again.
  std::chrono::milliseconds node_timeout{5000};
  /// Whether lineage commits wait for the disk: false only for a private
  /// store that outlives nothing (the embedded cluster in stash mode).
  bool sync_lineage = true;
  /// Whether the node, actor, placement group and key-value tables go to
  /// the store: false for a private store that holds only lineage (the
  /// embedded cluster's), whose tables live in memory as without a store.
  bool durable_tables = true;
  /// How long an actorget of an unknown actor waits for its actoradd.
  std::chrono::milliseconds actor_lookup_grace{10000};
  /// When a silent or cut-off node is dead (failure_detector.hpp).
  detail::failure_detector_config failure{};
};

/// Ended actors the GCS remembers, to answer their lookups at once.
inline constexpr std::size_t max_ended_actors = 100000;

/// Spawns the GCS. With `store`, its tables persist there and are loaded
/// from it first (throws lumen::error when the store cannot be read);
/// without, they live in memory only. With `board`, the GCS publishes the
/// state of every placement group there for the callers in this process
/// (pg_board.hpp). With `local`, and a store, it is set to the GCS's
/// lineage log, for the lineage stash of this process to commit to
/// directly (lineage_log.hpp).
gcs_actor make_gcs(caf::actor_system& sys, gcs_timing timing,
                   std::shared_ptr<detail::rocks_db> store = nullptr,
                   std::shared_ptr<detail::pg_board> board = nullptr,
                   detail::local_lineage_log* local = nullptr);

} // namespace lumen

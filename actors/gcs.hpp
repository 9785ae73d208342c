// gcs: the global control store, on the head node only.
//
// Holds the node table: every node (workers, the head itself, drivers)
// registers with its record and the handles of its cluster link and its
// object store (peers talk to both directly), then sends a
// heartbeat with its current record every heartbeat interval. The failure
// detector (gcs/failure_detector.hpp) suspects a node whose heartbeats
// stop (phi accrual) or whose connection drops (CAF down message; its
// handles then leave the view until it registers again), and the GCS
// marks it dead once it stayed suspected for the grace; never the head's
// own node, and nobody within the grace after a stall of the head itself.
// The GCS pushes the cluster view with every live node's handles to all
// live cluster links whenever it changes (checked every tick), and sends
// a node declared dead the view that says so (again, at most once a
// second, while its heartbeats still come). A node's death also ends the
// actor rows whose host was on it (their names become free).
//
// Only the process that registered a node id speaks for it: heartbeats and
// registrations for the id from another CAF node, registrations naming a
// cluster link of another process, and heartbeats that change a node's
// role are refused and logged.
//
// Durability: with a store (make_gcs), every change of the node, actor,
// placement group, key-value and lineage tables is written before it is
// acknowledged (gcs_store.hpp says which writes are synced; heartbeats are
// not written). A GCS started on a non-empty store loads the tables: nodes
// that were alive are "recovering", alive as if just heard from, and dead
// like any other if they do not register again; the previous head is dead
// at once. Actor rows come back without their host handle:
// the nodes re-announce their actors (actoradd) when they reconnect, and
// finds of such an actor wait until then (or until its node is dead).
//
// Wire form: records and views are Cap'n Proto bytes (src/wire/cluster.capnp)
// inside these CAF messages, so the interface is the same on every node.
//
// Messages:
// - (register, NodeRecord bytes, cluster link, object store) ->
//   (ClusterView bytes, cluster links, object stores): join the cluster (or
//   rejoin it with the same id after a head restart); the handles follow
//   the view's nodes. Pushed views are (view, bytes, managers, stores).
// - (heartbeat, NodeRecord bytes) -> void: the sender's current record.
// - (view) -> ClusterView bytes: the current view (for `lumen status`).
// - (tick) -> void: internal timer: expire silent nodes, push changes,
//   place pending placement groups.
// - (pgcreate, id, name, strategy, bundles) -> id: a placement group under
//   the id its caller chose (a random task id; a create of a known id
//   changes nothing, so a create sent again after a head restart makes no
//   second group); placed (each bundle reserved on its node through the
//   cluster link's `reserve`) as soon as the nodes' reported free
//   resources allow, pending groups oldest first.
// - (pgwait, id) -> bool: answered true once placed, false if removed.
// - (pgremove, id) -> bool: gives the bundles back.
// - (kvput, ns, key, value, overwrite) -> bool, (kvget, ns, key) ->
//   (found, value), (kvdel, ns, key) -> bool, (kvkeys, ns, prefix) ->
//   keys: the key-value table.
// - (actoradd, id, name, ns, class, host, detached) -> bool: records an
//   actor, its host (the handle that answers its calls) and, derived from
//   the host, the host's node; false if the name is taken in its namespace
//   by another actor. Adding a known id again updates its row (a new host,
//   or the same row announced again after a head restart).
// - (actordead, id, host) -> void: the actor's host `host` ended. The row
//   ends (its name is free) when `host` is the host the row names, or the
//   row names none: a detached actor living on another node is found
//   through its own host there, so the end of its creator's forwarder
//   (the creating driver exiting) leaves its row and name in place.
// - (actorfind, name, ns) -> (id, class, host): a live named actor ("" if
//   none).
// - (actorget, id) -> (class, host, alive): a known actor, for handles
//   that travel to other nodes. An id the GCS has not heard of waits for
//   its actoradd up to `actor_lookup_grace` (the creator registers its
//   actor without waiting, so a handle may reach another node first); an
//   actor that ended (one of the last `max_ended_actors`) is answered
//   `alive` false at once.
// - (lincommit, task ids, specs) -> rows written: commits lineage, row
//   `lineage/<task id>` = spec, in one synced batch (ids and specs pair up
//   by position).
// - (linget, task id) -> spec bytes: committed lineage (empty if unknown).
// - (lincount) -> number of distinct task ids committed.
// - (lindel, task ids) -> rows deleted: the owners collected this lineage
//   (lineage/lineage_pins.hpp); a copy committed within 10 - 20 s after is
//   not kept (lineage_log.hpp).
// - (linbytes) -> bytes the committed lineage takes (as written).
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

// The gcs actor's state and what its two files share; private to them:
// gcs.cpp assembles the behavior and keeps the node table (registration,
// heartbeats, deaths, views, loading the tables at start);
// gcs_tables.cpp keeps the actor, placement group, key-value and lineage
// tables.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/node_id.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/gcs.hpp"
#include "gcs/failure_detector.hpp"
#include "gcs/gcs_store.hpp"
#include "gcs/kv_table.hpp"
#include "gcs/node_table.hpp"
#include "gcs/pg_board.hpp"
#include "scheduling/pg_planner.hpp"

namespace lumen::detail_gcs {

/// One placement group.
struct group {
  std::string name;
  detail::pg_strategy_kind strategy = detail::pg_strategy_kind::pack;
  std::vector<std::map<std::string, double>> bundles;
  /// Node id per bundle once placed.
  std::vector<std::string> nodes;
  bool placed = false;
  std::vector<caf::typed_response_promise<bool>> waiters;
  std::string last_reason;
};

using find_promise =
  caf::typed_response_promise<std::string, std::uint64_t, caf::actor>;

using get_promise =
  caf::typed_response_promise<std::uint64_t, caf::actor, bool>;

/// One actor as the GCS knows it.
struct actor_row {
  std::string name;
  std::string ns;
  std::uint64_t class_hash = 0;
  /// Null for a row loaded from the store until its node announces it.
  caf::actor host;
  bool detached = false;
  /// Node id of the host ("" if unknown).
  std::string host_node;
  /// Finds and gets waiting for the host of a loaded row.
  std::vector<find_promise> finds;
  std::vector<get_promise> gets;
};

/// A get of an actor the GCS has not heard of, waiting for its actoradd.
struct early_get {
  detail::node_table::clock::time_point until;
  get_promise promise;
};

struct gcs_state {
  detail::node_table nodes;
  std::map<std::string, actor_row> actors;
  std::map<std::pair<std::string, std::string>, std::string> actor_names;
  /// Gets of actors not known yet, by actor id (on_actor_get).
  std::map<std::string, std::vector<early_get>> early_gets;
  /// Recently ended actors (id -> its entry in `ended_order`), at most
  /// max_ended_actors, oldest first in `ended_order`.
  std::map<std::string, std::uint64_t> ended;
  std::deque<std::pair<std::string, std::uint64_t>> ended_order;
  std::uint64_t ended_count = 0;
  std::map<std::string, group> groups;
  /// Ids of the groups not placed yet, oldest first (removed ones are
  /// skipped and dropped when met).
  std::deque<std::string> pending_groups;
  /// Where the callers in this process read the groups' states (null if
  /// not published).
  std::shared_ptr<detail::pg_board> board;
  detail::kv_table kv;
  detail::gcs_store store;
  /// Node managers by node id, for pushes and for the view's handles.
  std::map<std::string, caf::actor> managers;
  /// Object stores by node id, for the view's handles.
  std::map<std::string, caf::actor> stores;
  /// Node id by the manager's address, to name the node of a down message.
  std::map<caf::actor_addr, std::string> by_addr;
  /// Node id by the CAF node of its manager, to name an actor's host node.
  std::map<caf::node_id, std::string> by_caf_node;
  /// Nodes loaded from the store that registered again, with when: their
  /// actor rows not announced again by node_timeout later are gone.
  std::map<std::string, detail::node_table::clock::time_point> rejoined;
  /// Which live nodes are silent or cut off, and which are dead
  /// (failure_detector.hpp).
  detail::failure_detector detector;
  /// The cluster links of nodes declared dead, to tell each that it is
  /// when its heartbeats still come (at most once per notice_interval).
  std::map<std::string, caf::actor> declared;
  std::map<std::string, detail::node_table::clock::time_point> noticed;
  /// When a refused heartbeat was last logged, by claimed node id.
  std::map<std::string, detail::node_table::clock::time_point> refusals;
  /// The CAF node of the process that registered each live node: the only
  /// one that may speak for it (heartbeats, registering again).
  std::map<std::string, caf::node_id> owners;
  std::uint64_t pushed_version = 0;
  /// Bumped whenever a node's handles change (registered, connection
  /// lost): the view is pushed again even if no record changed.
  std::uint64_t handles_version = 0;
  std::uint64_t pushed_handles = 0;
  gcs_timing timing;
  const char* name = "lumen.gcs";
};

using self_ptr = gcs_actor::stateful_pointer<gcs_state>;

// -- nodes (gcs.cpp)
// ------------------------------------------------------------

void push_view(self_ptr self);

// -- tables (gcs_tables.cpp)
// ----------------------------------------------------

/// Fills the actor, group and key-value tables from the store's snapshot
/// (the node table is loaded first).
void restore_tables(self_ptr self, detail::gcs_snapshot& snap);

/// Node `id` died: its actor rows end.
void drop_actors_of(self_ptr self, const std::string& id);

/// Node `id` registered again a while ago: its actor rows it did not
/// announce again end.
void drop_unannounced(self_ptr self, const std::string& id);

/// Places pending placement groups the nodes' last reported free
/// resources allow, oldest first.
void place_groups(self_ptr self);

caf::result<std::string>
on_pg_create(self_ptr self, const std::string& id, const std::string& name,
             std::uint8_t strategy,
             const std::vector<std::map<std::string, double>>& bundles);

caf::result<bool> on_pg_wait(self_ptr self, const std::string& id);

caf::result<bool> on_pg_remove(self_ptr self, const std::string& id);

/// The group with id `id`, or (for an empty id) the live one named `name`
/// (its namespace included, see gcs_pg_find.cpp): its id ("" if none), its
/// bundle count, and 0 if unknown or removed, 1 pending, 2 placed.
caf::result<std::string, std::uint64_t, std::uint8_t>
on_pg_find(self_ptr self, const std::string& id, const std::string& name);

caf::result<bool> on_actor_add(self_ptr self, const std::string& id,
                               const std::string& name, const std::string& ns,
                               std::uint64_t class_hash, caf::actor host,
                               bool detached);

void on_actor_dead(self_ptr self, const std::string& id,
                   const caf::actor_addr& host);

caf::result<std::string, std::uint64_t, caf::actor>
on_actor_find(self_ptr self, const std::string& name, const std::string& ns);

caf::result<std::uint64_t, caf::actor, bool>
on_actor_get(self_ptr self, const std::string& id);

/// Answers the gets of unknown actors that waited past the grace period.
void expire_early_gets(self_ptr self,
                       detail::node_table::clock::time_point now);

caf::result<bool> on_kv_put(self_ptr self, const std::string& ns,
                            const std::string& key, std::string& value,
                            bool overwrite);

caf::result<bool> on_kv_del(self_ptr self, const std::string& ns,
                            const std::string& key);

caf::result<std::uint64_t>
on_lineage_commit(self_ptr self, const std::vector<std::string>& ids,
                  const std::vector<std::string>& specs);

/// Commits a lineage batch (wire/lineage_batch.hpp) as one row of the log.
/// A batch from another process has each spec decoded first; rows that are
/// not the TaskSpec of their task id are dropped (logged).
caf::result<std::uint64_t> on_lineage_batch(self_ptr self, std::string& batch);

/// Deletes collected lineage (the owners' lineage_pins let it go).
caf::result<std::uint64_t>
on_lineage_delete(self_ptr self, const std::vector<std::string>& ids);

caf::result<std::vector<char>> on_lineage_get(self_ptr self,
                                              const std::string& id);

} // namespace lumen::detail_gcs

// The GCS's table of nodes: membership, liveness, the last reported state.
//
// Plain logic behind the gcs actor: a node is alive from its registration
// until it misses heartbeats for longer than the timeout or its connection
// drops; a dead node stays in the table (shown as dead) and never comes
// back under the same id. A node restored from the GCS's store (after a
// head restart) counts as alive, as if it had just sent a heartbeat: it
// dies like any other node unless it registers again within the timeout.
//
// Thread safety: none; owned by the gcs actor.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "wire/cluster_types.hpp"

namespace lumen::detail {

class node_table {
 public:
  using clock = std::chrono::steady_clock;

  /// Adds a node or refreshes a live one's record and heartbeat time.
  /// Returns false (and changes nothing) for a node already dead.
  bool update(node_record rec, clock::time_point now);

  /// Adds a node read back from the GCS's store, at position `order` of
  /// the registration order; alive ones are seen at `now`. Ignored if the
  /// id is known already.
  void restore(node_record rec, std::uint64_t order, clock::time_point now);

  /// Marks a node dead; returns whether it was alive.
  bool mark_dead(const std::string& id);

  /// Ids of the live nodes whose last heartbeat is older than `timeout`
  /// (the caller marks them dead).
  std::vector<std::string> expire(clock::time_point now,
                                  std::chrono::milliseconds timeout);

  /// Whether `id` is known and alive.
  bool alive(const std::string& id) const;

  /// The node's record, or null.
  const node_record* find(const std::string& id) const;

  /// The node's position in registration order (0 if unknown).
  std::uint64_t order(const std::string& id) const;

  /// All nodes, in registration order.
  cluster_view view() const;

  /// The same records without copies, valid until the table changes.
  std::vector<const node_record*> records() const;

  /// Bumped whenever membership or a record changes.
  std::uint64_t version() const noexcept {
    return version_;
  }

 private:
  struct row {
    node_record rec;
    clock::time_point last_seen;
    std::uint64_t order = 0;
  };
  std::map<std::string, row> rows_;
  std::uint64_t version_ = 0;
  std::uint64_t next_order_ = 0;
};

} // namespace lumen::detail

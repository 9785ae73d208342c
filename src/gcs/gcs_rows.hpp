// The rows of the GCS's durable tables, in the runtime's own types, and
// their stored form (src/wire/gcs_tables.capnp).
//
// Encoding is faithful and deterministic; decoding reads bytes from disk
// that may be damaged and throws lumen::decode_error naming the row kind
// and the field (gcs_store skips such a row with a warning).
//
// Thread safety: plain values and free functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lumen/detail/byte_buffer.hpp"
#include "wire/cluster_types.hpp"

namespace lumen::detail {

/// One node of the node table, with its place in registration order.
struct stored_node {
  std::uint64_t order = 0;
  node_record rec;
};

/// One actor of the actor table. The host's CAF handle cannot be stored:
/// after a restart the node named by `host_node` announces it again.
struct stored_actor {
  std::string id;
  std::string name;
  std::string ns;
  std::uint64_t class_hash = 0;
  bool detached = false;
  /// The node whose host answers the actor's calls; "" if unknown.
  std::string host_node;
};

/// One placement group.
struct stored_group {
  std::string id;
  std::string name;
  /// A pg_strategy_kind.
  std::uint8_t strategy = 0;
  std::vector<std::map<std::string, double>> bundles;
  /// Node id per bundle once placed (empty before).
  std::vector<std::string> nodes;
  bool placed = false;
};

byte_buffer encode_stored_node(const stored_node& x);
/// `id` is the row's key part; it must match the record's id.
stored_node decode_stored_node(const std::string& id, const char* data,
                               std::size_t size);

byte_buffer encode_stored_actor(const stored_actor& x);
/// `id` comes from the row's key.
stored_actor decode_stored_actor(const std::string& id, const char* data,
                                 std::size_t size);

byte_buffer encode_stored_group(const stored_group& x);
/// `id` comes from the row's key.
stored_group decode_stored_group(const std::string& id, const char* data,
                                 std::size_t size);

} // namespace lumen::detail

// What nodes tell each other about themselves and about objects, in the
// runtime's own types; src/wire/cluster.capnp is their wire form.
//
// Thread safety: plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "lumen/detail/byte_buffer.hpp"
#include "lumen/detail/object_data.hpp"
#include "lumen/detail/runtime_api.hpp"
#include "lumen/ids.hpp"

namespace lumen::detail {

/// What the running tasks of one job hold on a node.
struct job_hold {
  /// Tasks of the job running there (blocked in `get` included).
  std::size_t tasks = 0;
  /// The resources they hold (a task blocked in `get` lends its CPU out).
  std::map<std::string, double> resources;

  friend bool operator==(const job_hold& x, const job_hold& y) {
    return x.tasks == y.tasks && x.resources == y.resources;
  }
};

/// One node as the GCS and every node's scheduler see it.
struct node_record {
  /// 32 hex digits, random per node process.
  std::string id;
  /// HOST:PORT where the node's middleman listens (empty: none).
  std::string address;
  bool head = false;
  /// A driver (a program that called lumen::init with an address).
  bool driver = false;
  bool alive = true;
  std::map<std::string, double> total;
  /// Every name of `total`, zeros included (a zero is all in use).
  std::map<std::string, double> available;
  std::size_t object_store_used = 0;
  std::size_t object_store_capacity = 0;
  /// Shapes of work waiting here that no node can hold, with counts.
  std::vector<std::pair<std::string, std::size_t>> infeasible;
  /// Actors hosted here by state ("alive", "pending", "dead", ...).
  std::map<std::string, std::size_t> actors;
  /// HOST:PORT of its object channel (empty: none).
  std::string bulk_address;
  /// Task actors spawned and task executions ended on it so far.
  std::uint64_t task_actors_spawned = 0;
  std::uint64_t task_executions = 0;
  /// Resources held by tasks running here, by job (task_spec::job as 32
  /// hex digits: the driver that submitted them), whether or not that
  /// driver is still alive.
  std::map<std::string, job_hold> held;
  /// Set by the GCS (Unix milliseconds): when it first registered the
  /// node, and when it declared it dead (0 while alive). For a driver,
  /// its job's start and end.
  std::uint64_t started_ms = 0;
  std::uint64_t ended_ms = 0;
};

/// Every node the GCS knows, dead ones included.
struct cluster_view {
  /// Bumped by the GCS whenever a node joins, dies or changes.
  std::uint64_t version = 0;
  std::vector<node_record> nodes;
};

/// A task's result on its way from the node that ran it to the node that
/// owns it (the caller's node).
struct object_payload {
  object_id id;
  /// The encoded value (object_data::bytes), empty for an error.
  byte_buffer bytes;
  /// Ids of the object_refs nested in the value.
  std::vector<object_id> nested;
  /// The node owning each of `nested` (same length), or empty: unknown.
  std::vector<std::string> nested_owners;
  /// Set for an error object.
  bool has_error = false;
  error_info error;
  /// Node id holding the value when it is too large to travel inline
  /// (`bytes` is then empty and the owner pulls it on demand).
  std::string location;
  /// Size of the value held at `location`.
  std::uint64_t size = 0;
};

/// The options of an actor placed on another node, with its class.
struct remote_actor_options {
  std::uint64_t class_hash = 0;
  actor_options options;
  /// Whether this instance replaces one that died or was killed
  /// (lumen::was_current_actor_restarted() inside it).
  bool restarted = false;
};

byte_buffer encode_actor_options(const remote_actor_options& x);
remote_actor_options decode_actor_options(const char* data, std::size_t size);

byte_buffer encode_node_record(const node_record& x);
node_record decode_node_record(const char* data, std::size_t size);

byte_buffer encode_cluster_view(const cluster_view& x);
cluster_view decode_cluster_view(const char* data, std::size_t size);

byte_buffer encode_object_payload(const object_payload& x);
object_payload decode_object_payload(const char* data, std::size_t size);

} // namespace lumen::detail

// `lumen::config`: how `lumen::init` starts or joins a cluster.
//
//   lumen::init(lumen::config{.num_cpus = 2,
//                             .resources = {{"accelerator", 1}}});
//
// Every field has a default that suits the embedded one-node cluster.
//
// Thread safety: a plain value.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace lumen {

/// How task lineage is kept for reconstruction after a node dies.
enum class lineage_mode {
  /// Each node appends specs to its local RocksDB stash without waiting,
  /// forwards uncommitted lineage with the tasks it sends, and commits it
  /// to the GCS in background batches (the default).
  stash,
  /// Each spec is committed to the GCS, durably, before its task may run.
  write_ahead,
  /// No lineage is kept: objects lost with a node are not rebuilt.
  off,
};

/// Start-up options of one node (the driver's own node with `init`).
struct config {
  /// `HOST:PORT` of a head node to join; empty starts the embedded
  /// one-node cluster inside this process.
  std::string address{};

  /// CPUs this node offers to tasks; default: the hardware threads.
  std::optional<double> num_cpus{};

  /// Custom resources this node offers, e.g. {{"GPU", 2}, {"ssd", 1}}.
  std::map<std::string, double> resources{};

  /// Bytes the object store may hold; 0 means 30% of physical memory.
  std::size_t object_store_memory = 0;
  /// Lineage mode; see lineage_mode.
  lineage_mode lineage = lineage_mode::stash;
  /// Fraction of object_store_memory above which objects with no pending
  /// reader spill to disk, oldest first; above 0 and at most 1.
  double object_spilling_threshold = 0.8;
  /// Directory spilled objects go to: the node writes into a directory of
  /// its own inside it, `lumen-spill-<node id>`, and removes that at
  /// shutdown. Empty: `<runtime directory>/spill` ($LUMEN_RUNTIME_DIR, else
  /// /tmp/lumen-<uid>).
  std::string spill_directory{};
  /// Bytes the spill directory may hold for this node; 0: until the disk
  /// is full. `put` throws object_store_full_error only when memory and
  /// this are both exhausted.
  std::size_t spill_capacity = 0;
};

/// Default share of physical memory given to the object store.
inline constexpr double default_object_store_fraction = 0.3;

} // namespace lumen

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
};

/// Default share of physical memory given to the object store.
inline constexpr double default_object_store_fraction = 0.3;

} // namespace lumen

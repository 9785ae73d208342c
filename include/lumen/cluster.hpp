// The nodes of the cluster this process belongs to.
//
//   for (auto& n : lumen::nodes())
//     std::printf("%s %s %s\n", n.id.c_str(), n.address.c_str(),
//                 n.alive ? "alive" : "dead");
//
// Node ids are what `task(f).node_affinity(id)` takes. In the embedded
// one-node cluster there is one node, this process.
//
// Thread safety: both functions may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lumen {

/// One node as this process last heard of it.
struct node_info {
  /// 32 hex digits, random per node process.
  std::string id{};
  /// HOST:PORT the node listens on (empty for the embedded node).
  std::string address{};
  bool alive = true;
  bool head = false;
  /// A driver: a program that joined with lumen::init.
  bool driver = false;
  std::map<std::string, double> resources_total{};
  /// Every resource of resources_total, 0 when all of it is in use.
  std::map<std::string, double> resources_available{};
  /// Resources held by the tasks running on the node, by job: the id of
  /// the driver (node) whose code submitted them, directly or through
  /// other tasks, listed whether that driver is alive or not. A task an
  /// actor's method submits counts for the node hosting the actor.
  std::map<std::string, std::map<std::string, double>> resources_by_job{};
  /// Tasks running on the node, by job.
  std::map<std::string, std::size_t> tasks_by_job{};
  std::size_t object_store_used = 0;
  std::size_t object_store_capacity = 0;
  /// Task actors the node spawned so far, and task executions that ended
  /// on it so far (retries and rebuilds included): one actor per
  /// execution, so the two are equal once no task runs there. Fresh for
  /// this node; as of its last heartbeat for the others.
  std::uint64_t task_actors_spawned = 0;
  std::uint64_t task_executions = 0;
};

/// The id of the node the caller runs on (inside a task: the node running
/// it).
std::string node_id();

/// Every node known to this process, this one first, dead ones included.
std::vector<node_info> nodes();

} // namespace lumen

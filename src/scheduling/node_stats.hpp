// node_stats: one node's load, as its scheduler reports it.
//
// The scheduler actor (actors/scheduler.hpp) answers (stats) with it; the
// cluster link builds the node's record (heartbeats, the view) from it, and
// embedded_runtime::snapshot() adds the object table's figures. Plain data,
// no thread-safety of its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "wire/cluster_types.hpp"

namespace lumen::detail {

struct node_stats {
  // -- the scheduler's part --------------------------------------------------

  std::map<std::string, double> total;
  std::map<std::string, double> available;
  /// Tasks queued here: waiting for their arguments or for resources
  /// (pipelined behind a running task included).
  std::size_t queued = 0;
  /// Workers running a task.
  std::size_t running = 0;
  /// Tasks blocked in `get`.
  std::size_t blocked = 0;
  /// Tasks that no node can hold (yet).
  std::size_t infeasible = 0;
  std::size_t worker_threads = 0;
  std::size_t actors = 0;
  std::size_t pending_actors = 0;
  /// Shapes of work waiting here that no node can hold (tasks and
  /// actors), with counts, in the order they are reported.
  std::vector<std::pair<std::string, std::size_t>> infeasible_shapes;
  /// Task actors spawned so far, and task executions ended so far
  /// (retries and rebuilds included): one actor per execution, equal once
  /// no task runs.
  std::uint64_t task_actors_spawned = 0;
  std::uint64_t task_executions = 0;
  /// What the running tasks hold, by job (the driver that submitted
  /// them); a task blocked in `get` lends its CPU out.
  std::map<std::string, job_hold> held;

  // -- the object table's part (embedded_runtime::snapshot) ------------------

  std::size_t objects = 0;
  std::size_t object_bytes = 0;
  std::size_t object_capacity = 0;
  /// Objects on disk only, their bytes, and values read back so far.
  std::size_t spilled_objects = 0;
  std::size_t spilled_bytes = 0;
  std::size_t restored_objects = 0;
};

} // namespace lumen::detail

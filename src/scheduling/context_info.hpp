// What `lumen::context()` reports about the task or actor method a thread
// runs, beyond the ids execution_context already has: the namespace, the
// resources the execution holds, the actor, and the placement group its
// children are captured in. The runner (task actor, actor host) fills one
// on its stack, pointing into the spec it runs, and hangs it on the
// execution context for the call's duration; nothing is copied.
//
// Thread safety: read only by the thread that installed it.
#pragma once

#include <map>
#include <string>

#include "lumen/detail/runtime_api.hpp"
#include "lumen/ids.hpp"

namespace lumen::detail {

struct context_info {
  /// The actor whose factory or method runs; nil in a task.
  task_id actor;
  /// The job's namespace (task_spec::ns, actor_options::ns); null: this
  /// process's default (config::ns).
  const std::string* ns = nullptr;
  /// Custom resources held, and CPUs: for a task or actor in a placement
  /// group these are the bundle's resource names, CPUs included.
  const std::map<std::string, double>* resources = nullptr;
  double num_cpus = 0;
  /// Placement group that tasks and actors submitted here go to unless
  /// they ask for another placement (capture_child_tasks); null or empty:
  /// none.
  const std::string* capture_pg = nullptr;
};

/// What a task or actor (options `o`, task_options or actor_options)
/// submitted by code running under `info` inherits: the captured
/// placement group (any bundle), unless it asks for a placement of its
/// own; it captures its own children in turn.
template <class Options>
void inherit_context(const context_info& info, Options& o) {
  if (info.capture_pg != nullptr && !info.capture_pg->empty() &&
      o.pg_id.empty() && o.strategy == scheduling_strategy::default_strategy) {
    o.pg_id = *info.capture_pg;
    o.pg_bundle = -1;
    o.capture_pg = o.pg_id;
  }
}

} // namespace lumen::detail

// The runtime's description of one task: what to run, with what, where its
// result goes, and how it may be scheduled and retried. The in-process form
// of the Cap'n Proto `TaskSpec` (src/wire/task_spec.capnp).
//
// Thread safety: immutable once submitted; shared by pointer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lumen/detail/registry.hpp"
#include "lumen/detail/runtime_api.hpp"
#include "lumen/ids.hpp"

namespace lumen::detail {

class stream_channel;

struct task_spec {
  /// This task's id, derived from `parent` and the parent's counter.
  task_id id;
  /// The task (or driver root) that submitted it.
  task_id parent;
  /// The job it belongs to: the node id (32 hex digits, as 128 bits) of
  /// the driver whose code submitted it, directly or through the tasks it
  /// ran; a task an actor's method submits counts for the node hosting
  /// the actor. Shown with the resources its execution holds (`lumen
  /// status`); zero if unknown.
  task_id job;
  /// The job's namespace: where names the task's code uses without one
  /// go (lumen::context().ns); "" the default namespace.
  std::string ns;
  /// Nesting depth: 0 for tasks a driver submits. The scheduler runs
  /// deeper tasks first, which keeps nested task trees depth-first.
  std::uint32_t depth = 0;
  /// Registered function name.
  std::string function;
  /// Its registry entry, when known here (a task submitted on this node);
  /// null for tasks from other nodes, which look the name up.
  const function_entry* entry = nullptr;
  /// Arguments in call order.
  std::vector<task_arg> args;
  /// Resources, retries and display name.
  task_options options;
  /// Where the return value goes.
  object_id return_id;
  /// Which execution this is: 0 for the first, counting retries.
  std::uint32_t attempt = 0;
  /// On a task sent to another node: the encoded specs of the ancestors it
  /// depends on that the sender's lineage stash has not committed to the
  /// GCS yet; the receiver stashes them too. Empty otherwise.
  std::vector<std::string> lineage;
  /// Set on a task sent here by another node: runs here (never spilled
  /// again) and its result goes back through `deliver` instead of into
  /// this node's object table.
  std::function<void(object_ptr)> deliver;
  /// Set on a streaming task (options.streaming): where its items go
  /// (scheduling/stream_channel.hpp).
  std::shared_ptr<stream_channel> stream;
};

using task_ptr = std::shared_ptr<task_spec>;

} // namespace lumen::detail

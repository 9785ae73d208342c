// `lumen::context()`: what the calling code runs as.
//
//   auto ctx = lumen::context();
//   if (ctx.was_actor_restarted()) reload_checkpoint();
//   log(ctx.job_id.to_string(), ctx.task_id.to_string(), ctx.node_id);
//
// In a task: its job, its id, the node it runs on, the job's namespace and
// the resources it holds. In an actor's factory or method: the same, with
// the actor's id and the resources the actor holds; the task id is the
// call's. In the driver's own code: the driver's job and root id.
//
// The job of a driver is its node id (as 128 bits); a task a driver
// submits, and every task below it, carries that job wherever it runs. An
// actor's own tasks count for the node hosting it (`job_id` inside an
// actor is that node's).
//
// Thread safety: context() may be called from any thread; the result is a
// plain value.
#pragma once

#include <map>
#include <string>

#include "lumen/ids.hpp"

namespace lumen {

struct runtime_context;

/// The calling code's context; throws not_initialized_error when lumen is
/// not running.
runtime_context context();

struct runtime_context {
  /// The job the code runs for.
  lumen::task_id job_id;
  /// The running task or actor call (the factory: the actor's id); in the
  /// driver's code, the driver's root id.
  lumen::task_id task_id;
  /// The actor whose factory or method runs; nil outside an actor.
  lumen::task_id actor_id;
  /// This process's node id (see lumen::nodes()).
  std::string node_id;
  /// The namespace named actors and placement groups default to.
  std::string ns;
  /// Resources the task or actor holds, "CPU" included; in a placement
  /// group, the bundle's resource names (e.g. "CPU_group_<id>"). Empty in
  /// the driver's code.
  std::map<std::string, double> resources;

  /// Whether the code runs inside an actor.
  bool in_actor() const noexcept {
    return !actor_id.nil();
  }

  /// Whether the actor running this code was restarted at least once (a
  /// kill asking for a restart, or its node died and it was re-created on
  /// another). False outside an actor.
  bool was_actor_restarted() const noexcept {
    return restarted_;
  }

 private:
  friend runtime_context context();
  bool restarted_ = false;
};

} // namespace lumen

// task_executor: one ephemeral actor per task execution.
//
// Collects the task's arguments from the object table (a failed argument
// fails the task at once, passing the original error on), hands the call
// to the worker thread it was given (user code never runs on a scheduler
// thread), and when the worker reports back tells the node manager and
// quits. The worker stores the result in the object table itself, so a
// waiting `get` wakes up without another hop.
//
// Messages:
// - (finished) -> void: the worker is done with the task.
#pragma once

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"
#include "actors/node_manager.hpp"
#include "runtime/worker_pool.hpp"

namespace lumen {

using task_executor_actor = caf::typed_actor<caf::reacts_to<finished_atom>>;

/// What an executor needs; the pointers outlive it.
struct task_executor_args {
  detail::task_ptr task;
  detail::worker_pool::worker* worker = nullptr;
  detail::object_table* table = nullptr;
  node_manager_actor node_manager;
};

/// Spawns an executor for one task from inside `parent`.
task_executor_actor spawn_task_executor(caf::local_actor* parent,
                                        task_executor_args args);

} // namespace lumen

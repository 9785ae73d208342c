// task_actor: one ephemeral, event-based CAF actor per task execution.
//
// The node manager spawns one when it gives a task a worker thread (and the
// resources it asks for); every execution gets its own, so a retry or a
// lineage re-execution is a new actor. While it lives it is the task's
// address: the node manager keeps task id -> task actor for every task it
// runs, so whatever must reach a running task (a cancel, a timeline event)
// sends to it.
//
// Life of one actor:
// 1. Resolves the arguments from the object table: reads each value (a
//    spilled one is read back), waits for one not ready here; an argument
//    holding an error fails the task at once with that error. (The node
//    manager queues a task only once its arguments are ready here, fetched
//    from peers if need be, so the wait is rare.)
// 2. Hands only the user call to its worker thread: user code never runs
//    on a scheduler thread, `lumen::get` inside it works (nested too), and
//    a call blocked in `get` tells the node manager (blocked / unblocked)
//    so that its CPU is lent out meanwhile.
// 3. Stores the returns (this node's table, or the owner's node for a task
//    sent here), then reports to the node manager and quits.
//
// Messages it takes:
// - (finished, object_ptr): from the worker, the call's result or error.
// - (deps): an argument it waited for became ready.
// Messages it sends:
// - (done, task id, again) to the node manager, once, as it quits; `again`
//   is null or the next execution's spec (retry_exceptions within
//   max_retries), which the node manager queues as a new task execution.
// - (bounced, task id, user_call) to the node manager when its worker was
//   closed (the task ahead of it blocked in `get`): the node manager gives
//   the call to another worker later; the actor stays the task's address.
//
// Failure: the node manager monitors nothing else for a task; a task whose
// actor ends without reporting (killed, or its worker gone) is failed by
// the actor's exit: the node manager kills every task actor it holds when
// it stops, and a worker pool that stops runs each queued call as
// cancelled, whose actor then stores a clear "shut down before it ran"
// error. The counts of actors spawned and executions reported are in
// node_stats (task_actors_spawned, task_executions); they are equal once
// no task runs.
#pragma once

#include <caf/fwd.hpp>

#include "actors/node_manager.hpp"
#include "runtime/worker_pool.hpp"

namespace lumen {

/// Spawns the actor for one execution of `task` on worker `w`, from the
/// node manager `parent`; `table` outlives it.
caf::actor spawn_task_actor(caf::local_actor* parent, detail::task_ptr task,
                            detail::worker_pool::worker* w,
                            detail::object_table* table, node_manager_actor nm);

} // namespace lumen

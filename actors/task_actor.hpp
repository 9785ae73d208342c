// task_actor: one ephemeral, event-based CAF actor per task execution.
//
// The scheduler spawns one (lazy_init) when it gives a task a worker
// thread and the resources it asks for; every execution gets its own, so a
// retry or a lineage re-execution is a new actor. While it lives it is the
// task's address: the scheduler keeps task id -> task actor for every
// task it runs, so whatever must reach a running task (a cancel, a timeline
// event) sends to it.
//
// Life of one actor:
// 1. start (right after the spawn, before anything can run it): resolves
//    the arguments: waits until each is ready in the object table (rare:
//    the scheduler queues a task once its arguments are here, fetched
//    from peers if need be).
// 2. Hands only the user call to its worker thread: user code never runs
//    on a scheduler thread, `lumen::get` inside it works (nested too), and
//    a call blocked in `get` tells the scheduler (blocked / unblocked)
//    so that its CPU is lent out meanwhile. The values are read from the
//    table as the call starts (a queued task pins none in memory; a
//    spilled one is read back there); one holding an error fails the task
//    with it, without calling the function.
// 3. On the call's result: stores the returns (this node's table, or the
//    owner's node for a task sent here), reports, quits. The worker thread
//    delivers the result as the actor's execution unit, so this last step
//    runs there, after the call, without waking a scheduler thread.
//
// Messages it takes:
// - (finished, object_ptr, threw[, worker died]): the call's result (or
//   error); `worker died`: its thread ended inside the call (pthread_exit
//   or a cancellation in user code): run again within max_retries, as a
//   task lost with its node, else fail (the pool replaces the thread).
// - (deps): an argument it waited for is ready.
// - (cancel, force, recursive[, call dropped]): from the scheduler (see
//   lumen/cancel.hpp): a call not started yet never starts (the task
//   fails as cancelled at once); a running one sees lumen::cancelled()
//   and its result becomes task_cancelled_error (at once with `force`,
//   the late result dropped); `recursive` cancels the children it
//   submitted so far through the scheduler. `done` still waits for the
//   call on the worker, if any, so the worker stays counted as busy.
// Messages it sends to the scheduler:
// - (done, task id, again), once, as it ends: `again` is null, or the next
//   execution's spec (the call threw, retry_exceptions, max_retries left),
//   which the scheduler queues as a new execution with a new actor.
// - (bounced, task id, user_call): its worker was closed (the task ahead
//   of it blocked in `get`); the scheduler runs the call elsewhere and
//   the actor stays the task's address.
//
// Failure: an actor that ends before its call's result (killed, e.g. when
// the scheduler stops, which kills those it holds) stores an error
// naming the reason as the task's result and still reports `done`, so the
// scheduler frees the worker; a late result is then dropped. A worker
// pool that stops runs each queued call as cancelled: its actor stores
// "shut down before it ran". node_stats counts task_actors_spawned and
// task_executions (each `done`); they are equal once no task runs.
#pragma once

#include <caf/fwd.hpp>

#include "actors/scheduler.hpp"
#include "scheduling/worker_pool.hpp"

namespace lumen {

/// Spawns and starts the actor for one execution of `task` on worker `w`,
/// from the scheduler `parent`; `table` outlives it.
caf::actor spawn_task_actor(caf::local_actor* parent, detail::task_ptr task,
                            detail::worker_pool::worker* w,
                            detail::object_table* table, scheduler_actor nm);

/// Gives `cfg`'s system CAF's work-sharing scheduler with a clock that
/// skips the timeout cleanup at a task actor's end (it sets none; the
/// cleanup would wake the clock's thread once per task).
void use_task_actor_scheduler(caf::actor_system_config& cfg);

} // namespace lumen

// task_runner: the job that runs one task on a worker thread.
//
// The node manager posts one job per task to the worker it picked; no actor
// is spawned per task. The job collects the task's arguments from the
// object table (a failed argument fails the task at once, passing the
// original error on), runs the user's function (user code never runs on a
// scheduler thread), stores the result (this node's table, or the owner's
// node), then sends (done, task id) to the node manager. The result is
// stored before `done`, so a waiting `get` wakes up without another hop.
#pragma once

#include "actors/node_manager.hpp"
#include "runtime/worker_pool.hpp"

namespace lumen {

/// The job that runs `task` on a worker; `table` outlives it.
detail::worker_pool::job make_task_job(detail::task_ptr task,
                                       detail::object_table* table,
                                       node_manager_actor nm);

} // namespace lumen

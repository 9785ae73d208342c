// Ending a task with an error, wherever it was placed: its owner sees the
// error as the task's result.
//
// Thread safety: as the object table's fulfill; called from the actor that
// holds the task (the scheduler or the cluster link).
#pragma once

#include "lumen/detail/object_data.hpp"
#include "wire/task_spec.hpp"

namespace lumen::detail {

class object_table;

/// Logs why `task` failed, then hands `err` to its `deliver` (a task run
/// for a peer) or stores it as its return in `table`.
void fail_task(object_table& table, const task_ptr& task, object_ptr err);

} // namespace lumen::detail

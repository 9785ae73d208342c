#include "scheduling/fail_task.hpp"

#include <utility>

#include "log/log.hpp"
#include "objects/object_table.hpp"

namespace lumen::detail {

void fail_task(object_table& table, const task_ptr& task, object_ptr err) {
  log_warn("task '", task->options.name,
           "' failed: ", err && err->error ? err->error->message : "");
  if (task->deliver)
    task->deliver(std::move(err));
  else
    table.fulfill(task->return_id, std::move(err));
}

} // namespace lumen::detail

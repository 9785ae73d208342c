// task_runner: argument collection, the user's function, the report.
#include "actors/task_runner.hpp"

#include <caf/send.hpp>

#include "lumen/detail/registry.hpp"
#include "runtime/execution_context.hpp"
#include "runtime/log.hpp"
#include "runtime/task_errors.hpp"

namespace lumen {

namespace {

using detail::object_ptr;

/// Stores the result where it belongs: this node's table, or the owner's
/// node for a task sent here by another node.
void deliver(const detail::task_spec& task, detail::object_table& table,
             object_ptr result) {
  if (task.deliver)
    task.deliver(std::move(result));
  else
    table.fulfill(task.return_id, std::move(result));
}

/// Runs on the worker thread: the user's function, then the result.
void run_task(const detail::task_spec& task, std::vector<object_ptr>& args,
              detail::object_table& table, node_manager_actor nm,
              bool cancelled) {
  object_ptr result;
  if (cancelled) {
    result = detail::make_error_object(detail::error_kind::runtime_error,
                                       "lumen was shut down before task '" +
                                         task.options.name + "' ran");
  } else if (auto* fn =
               task.entry ? task.entry : detail::find_function(task.function);
             !fn || fn->kind != detail::function_kind::free_function) {
    result = detail::make_error_object(
      detail::error_kind::function_not_found,
      "function '" + task.function + "' is not registered on this node " +
        "(add LUMEN_REMOTE(" + task.function + ") to a source file the " +
        "node runs or loads)",
      {}, task.options.name);
    detail::log_warn("task '", task.options.name,
                     "' failed: ", result->error->message);
  } else {
    detail::execution_context ctx;
    ctx.task = task.id;
    ctx.child_depth = task.depth + 1;
    auto id = task.id;
    ctx.on_block = [nm, id] {
      caf::anon_send(nm, blocked_atom::value, id);
    };
    ctx.on_unblock = [nm, id] {
      caf::anon_send(nm, unblocked_atom::value, id);
    };
    detail::context_scope scope{&ctx};
    // With retry_exceptions, a throwing task runs again here, in place,
    // while its retries allow (counting executions lost to dead nodes).
    auto retries = task.options.max_retries;
    for (auto attempt = task.attempt;; ++attempt) {
      ctx.counter.store(0, std::memory_order_relaxed); // the same child ids
      try {
        result = std::make_shared<detail::object_data>(fn->invoke(args));
        break;
      } catch (...) {
        result = detail::error_from_current_exception(task.options.name);
      }
      if (!task.options.retry_exceptions ||
          (retries >= 0 && attempt >= static_cast<std::uint32_t>(retries)))
        break;
    }
  }
  args.clear();
  deliver(task, table, std::move(result));
}

} // namespace

detail::worker_pool::job make_task_job(detail::task_ptr task,
                                       detail::object_table* table,
                                       node_manager_actor nm) {
  return [task = std::move(task), table, nm](bool cancelled) {
    std::vector<object_ptr> args;
    args.reserve(task->args.size());
    for (auto& arg : task->args) {
      auto obj = arg.ref ? table->try_get(arg.ref.get()) : arg.value;
      if (!obj || obj->error) {
        detail::log_info("task '", task->options.name, "' failed: ",
                         obj ? "an argument is an error: " + obj->error->message
                             : std::string{"an argument is missing"});
        // A failed argument fails the task with the original error.
        deliver(*task, *table,
                obj ? obj
                    : detail::make_error_object(detail::error_kind::object_lost,
                                                "argument of task '" +
                                                  task->options.name +
                                                  "' is missing"));
        caf::anon_send(nm, done_atom::value, task->id);
        return;
      }
      args.push_back(std::move(obj));
    }
    run_task(*task, args, *table, nm, cancelled);
    caf::anon_send(nm, done_atom::value, task->id);
  };
}

} // namespace lumen

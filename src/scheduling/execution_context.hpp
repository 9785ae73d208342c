// What the current thread is running: a task, or the driver's own code.
//
// Ids of the tasks and objects a piece of code creates derive from the id
// of the task running it and a counter, so re-running a task re-creates
// the same ids. A worker thread installs a context for each task it runs;
// other threads use the driver's root context.
//
// Thread safety: a context belongs to one thread at a time, except the
// driver root, whose counter is atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "lumen/ids.hpp"

namespace lumen::detail {

class stream_channel;
struct context_info;

struct execution_context {
  /// The running task, or the driver's root id.
  task_id task;
  /// The job of the tasks this code submits (task_spec::job): the running
  /// task's, or for the root this node's id; nil in an actor's method
  /// (its tasks count for the node hosting it).
  task_id job;
  /// Nesting depth of tasks this code submits.
  std::uint32_t child_depth = 0;
  /// Children and puts created so far.
  std::atomic<std::uint64_t> counter{0};
  /// Called before this thread blocks in get/wait, and after.
  std::function<void()> on_block;
  std::function<void()> on_unblock;
  /// Set while an actor's factory or method runs.
  bool in_actor = false;
  /// Whether that actor was restarted at least once.
  bool actor_restarted = false;
  /// The running task's or actor call's cancel state (cancel_state.hpp),
  /// set by whoever runs it; null: it cannot be cancelled.
  const std::atomic<std::uint8_t>* cancel = nullptr;
  /// Set while a streaming task runs: where its items go.
  stream_channel* stream = nullptr;
  /// Namespace, resources, actor id and captured placement group of the
  /// running task or actor (scheduling/context_info.hpp); null: none.
  const context_info* info = nullptr;
};

/// Thrown by lumen::exit_actor() and caught by the actor host: the actor
/// ends for good. Not derived from std::exception, so user code that
/// catches std::exception does not swallow it.
struct actor_exit_signal {};

/// The context installed on this thread, or nullptr.
execution_context* current_context() noexcept;

/// Installs `ctx` on this thread for the scope's lifetime.
class context_scope {
 public:
  explicit context_scope(execution_context* ctx) noexcept;
  ~context_scope();

  context_scope(const context_scope&) = delete;
  context_scope& operator=(const context_scope&) = delete;

 private:
  execution_context* prev_;
};

/// Calls the current context's block hooks around a blocking wait.
class block_scope {
 public:
  block_scope() noexcept;
  ~block_scope();

  block_scope(const block_scope&) = delete;
  block_scope& operator=(const block_scope&) = delete;

 private:
  execution_context* ctx_;
};

} // namespace lumen::detail

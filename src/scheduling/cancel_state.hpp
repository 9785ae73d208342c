// The cancel state of one task execution or actor call, and the error a
// cancelled one ends with.
//
// A running task's state lives in its task actor (actors/task_actor.hpp),
// an actor call's in the call (actor_spec.hpp); the code it runs reads it
// through execution_context::cancel (lumen::cancelled()). Cancels the
// runtime collects on a thread of the caller reach the scheduler in
// batches through a cancel_inbox.
//
// Thread safety: the state is atomic; the inbox is locked.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lumen/detail/object_data.hpp"
#include "lumen/ids.hpp"

namespace lumen::detail {

/// Values of a cancel state.
inline constexpr std::uint8_t not_cancelled = 0;
inline constexpr std::uint8_t cancel_requested = 1;
/// Cancelled with `recursive`: what it submits from now on is cancelled
/// too.
inline constexpr std::uint8_t cancel_requested_recursive = 2;

/// One cancel: which task (or actor call) and how.
struct cancel_request {
  task_id id;
  bool force = false;
  bool recursive = true;
};

/// Cancels waiting to reach a scheduler: the thread that adds the first
/// one of a batch tells the scheduler, which takes them all at once.
class cancel_inbox {
 public:
  /// Adds `r`; true if the inbox was empty (the caller tells the
  /// scheduler).
  bool add(const cancel_request& r) {
    std::lock_guard guard{mtx_};
    items_.push_back(r);
    return items_.size() == 1;
  }

  std::vector<cancel_request> take() {
    std::lock_guard guard{mtx_};
    std::vector<cancel_request> result;
    result.swap(items_);
    return result;
  }

 private:
  std::mutex mtx_;
  std::vector<cancel_request> items_;
};

using cancel_inbox_ptr = std::shared_ptr<cancel_inbox>;

/// The error type a cancelled task's error object names: kind
/// runtime_error with this type throws lumen::task_cancelled_error.
inline constexpr const char* cancelled_type_name =
  "lumen::task_cancelled_error";

/// The result of a cancelled task or call named `name`.
object_ptr cancelled_error(const std::string& name);

/// Whether the code on this thread runs for a task or call cancelled
/// recursively (what it submits is cancelled at once).
bool cancelled_recursively_here() noexcept;

} // namespace lumen::detail

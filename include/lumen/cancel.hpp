// Cancelling tasks and actor calls.
//
//   auto ref = lumen::task(train).remote(cfg);
//   lumen::cancel(ref);                        // {.force = false, .recursive =
//   true} lumen::get(ref);                           // throws
//   task_cancelled_error
//
//   int train(config c) {                      // inside a task or method
//     for (int step = 0; step < c.steps && !lumen::cancelled(); ++step) ...
//   }
//
// What a cancel does depends on where the work is (see docs/cancel.md):
// - queued (waiting for arguments, resources or a worker, here or on the
//   node it was sent to): it is removed and never runs; its ref fails with
//   task_cancelled_error at once;
// - running: `lumen::cancelled()` turns true inside it; its ref fails with
//   task_cancelled_error once it returns (whatever it returns) and its
//   resources come back then. User threads are never killed;
// - finished: nothing changes.
// `force` fails the ref at once even while the task runs, and its late
// result is discarded. `recursive` (the default) also cancels the tasks it
// submitted, and theirs. An actor call queued at its actor is dropped; a
// running one sees `cancelled()`. Cancels reach tasks and actors on other
// nodes.
//
// Thread safety: both functions may be called from any thread.
#pragma once

#include "lumen/detail/object_data.hpp"
#include "lumen/error.hpp"
#include "lumen/object_ref.hpp"

namespace lumen {

/// The task (or actor call) was cancelled with lumen::cancel before it
/// produced its value, or the driver that submitted it ended.
class task_cancelled_error : public error {
 public:
  using error::error;
};

namespace detail {

/// Cancels the task or call whose return value `ref` is; see cancel().
void cancel_ref(const ref_ptr& ref, bool force, bool recursive);

} // namespace detail

struct cancel_options {
  /// Fail the ref at once, even for a running task (its result is dropped).
  bool force = false;
  /// Also cancel the tasks it submitted, and theirs.
  bool recursive = true;
};

/// Cancels the task or actor call that produces `ref`; see the file
/// comment. Throws lumen::error for an invalid ref.
template <class T>
void cancel(const object_ref<T>& ref, cancel_options opts = {}) {
  if (!ref.valid())
    throw error("lumen::cancel: invalid (default-constructed) object_ref");
  detail::cancel_ref(ref.ptr(), opts.force, opts.recursive);
}

/// Whether the task or actor call running on this thread was cancelled
/// (or its driver ended); false outside tasks and actor calls. Cheap: a
/// long loop may check it at every step.
bool cancelled() noexcept;

} // namespace lumen

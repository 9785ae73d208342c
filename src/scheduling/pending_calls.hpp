// The calls this process sent to one actor and has not seen answered, for
// actor(f).max_pending_calls(n): a call beyond the limit fails at once
// (pending_calls_exceeded_error), before anything is sent. The actor
// directory keeps one per actor created here with a limit; each call
// counts from submit_actor_task until its answer (detail::answer).
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <atomic>

namespace lumen::detail {

class pending_calls {
 public:
  explicit pending_calls(int limit) noexcept : limit_(limit) {}

  /// Counts one more call; false (counting nothing) at the limit.
  bool try_enter() noexcept {
    if (count_.fetch_add(1, std::memory_order_relaxed) >= limit_) {
      count_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }

  /// One call was answered.
  void leave() noexcept {
    count_.fetch_sub(1, std::memory_order_relaxed);
  }

  int limit() const noexcept {
    return limit_;
  }

  int count() const noexcept {
    return count_.load(std::memory_order_relaxed);
  }

 private:
  const int limit_;
  std::atomic<int> count_{0};
};

} // namespace lumen::detail

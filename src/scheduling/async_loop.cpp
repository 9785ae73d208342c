// The async thread: a queue of jobs and a map of timers.
#include "scheduling/async_loop.hpp"

#include <exception>
#include <vector>

#include "log/log.hpp"

namespace lumen::detail {

namespace {

/// Runs `j`; an exception (a resumption whose runtime is gone) is logged,
/// not allowed to end the thread.
void run_guarded(const async_loop::job& j) noexcept {
  try {
    j();
  } catch (const std::exception& e) {
    log_warn("async thread: a job threw; dropped: ", e.what());
  } catch (...) {
    log_warn("async thread: a job threw a non-standard exception; dropped");
  }
}

} // namespace

async_loop::~async_loop() {
  stop();
}

void async_loop::start_locked() {
  if (started_)
    return;
  started_ = true;
  thread_ = std::thread([this] {
    run();
  });
}

void async_loop::post(job j) {
  {
    std::lock_guard guard{mtx_};
    if (!stopped_) {
      start_locked();
      ready_.push_back(std::move(j));
      cv_.notify_one();
      return;
    }
  }
  j(); // stopped: at once, here
}

void async_loop::post_after(std::chrono::nanoseconds delay, job j) {
  {
    std::lock_guard guard{mtx_};
    if (!stopped_) {
      start_locked();
      auto at = clock::now() + delay;
      bool first = timers_.empty() || at < timers_.begin()->first;
      timers_.emplace(at, std::move(j));
      if (first)
        cv_.notify_one();
      return;
    }
  }
  j();
}

void async_loop::run() {
  std::unique_lock guard{mtx_};
  for (;;) {
    // Due timers join the ready jobs in deadline order.
    auto now = clock::now();
    while (!timers_.empty() && (stopped_ || timers_.begin()->first <= now)) {
      ready_.push_back(std::move(timers_.begin()->second));
      timers_.erase(timers_.begin());
    }
    if (!ready_.empty()) {
      std::deque<job> batch;
      batch.swap(ready_);
      guard.unlock();
      for (auto& j : batch)
        run_guarded(j);
      batch.clear(); // destroy captures outside the lock
      guard.lock();
      continue;
    }
    if (stopped_)
      return;
    if (timers_.empty())
      cv_.wait(guard);
    else
      cv_.wait_until(guard, timers_.begin()->first);
  }
}

void async_loop::stop() {
  {
    std::lock_guard guard{mtx_};
    if (stopped_)
      return;
    stopped_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable())
    thread_.join();
  // Never started: nothing was posted, nothing is pending.
}

std::size_t async_loop::pending_timers() const {
  std::lock_guard guard{mtx_};
  return timers_.size();
}

bool async_loop::started() const {
  std::lock_guard guard{mtx_};
  return started_;
}

} // namespace lumen::detail

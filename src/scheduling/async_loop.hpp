// The process's async thread: runs short jobs and timers for coroutines
// (lumen/async.hpp), `co_await sleep_for` and `ref.then` callbacks.
//
// One thread, started on the first post, so a process that never uses it
// has no extra thread. Jobs run in the order posted; a timer's job runs once
// its time has come, in deadline order (ties in posting order). Jobs must
// not block: they resume coroutines or hand them to an actor's thread.
//
// `stop` runs what is queued, then every pending timer at once (so that no
// coroutine stays suspended on a timer that would never fire), and joins
// the thread; after it, `post` and `post_after` run the job at once in the
// caller's thread.
//
// Thread safety: every member may be called from any thread; `stop` from
// any thread but the loop's own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace lumen::detail {

class async_loop {
 public:
  using job = std::function<void()>;
  using clock = std::chrono::steady_clock;

  async_loop() = default;
  ~async_loop();

  async_loop(const async_loop&) = delete;
  async_loop& operator=(const async_loop&) = delete;

  /// Runs `j` on the loop's thread.
  void post(job j);

  /// Runs `j` on the loop's thread once `delay` has passed.
  void post_after(std::chrono::nanoseconds delay, job j);

  /// See the file comment. Idempotent.
  void stop();

  /// Timers not fired yet.
  std::size_t pending_timers() const;

  /// Whether the thread was started.
  bool started() const;

 private:
  void run();
  void start_locked();

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<job> ready_;
  std::multimap<clock::time_point, job> timers_;
  std::thread thread_;
  bool started_ = false;
  bool stopped_ = false;
};

} // namespace lumen::detail

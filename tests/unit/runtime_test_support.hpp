// Helpers shared by the runtime_*_test.cpp unit tests: bounded waits for
// code that could block forever if the code under test is wrong.
//
// Catch2 assertions are not thread-safe: code run on helper threads records
// its observations in shared state and the test thread checks them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace runtime_test {

/// Generous limit for anything that should finish promptly; reaching it
/// means the code under test hangs.
inline constexpr std::chrono::milliseconds hang_limit{30000};

/// Runs `body` on a thread of its own and waits up to `limit` for it. On
/// time-out the thread is abandoned (detached) and false is returned, so
/// `body` must own (e.g. by shared_ptr) everything it touches. An exception
/// thrown by `body` is rethrown here.
inline bool finishes_within(std::chrono::milliseconds limit,
                            std::function<void()> body) {
  auto done = std::make_shared<std::promise<void>>();
  auto result = done->get_future();
  std::thread worker{[body = std::move(body), done]() mutable {
    try {
      body();
      done->set_value();
    } catch (...) {
      done->set_exception(std::current_exception());
    }
  }};
  if (result.wait_for(limit) != std::future_status::ready) {
    worker.detach();
    return false;
  }
  worker.join();
  result.get();
  return true;
}

/// A one-shot count-down latch (std::latch is C++20).
class latch {
 public:
  explicit latch(std::size_t count) : count_(count) {}

  void count_down() {
    std::lock_guard guard{mtx_};
    if (count_ > 0 && --count_ == 0)
      cv_.notify_all();
  }

  /// Waits until the count reaches zero or `limit` passes; true if it did.
  bool wait_for(std::chrono::milliseconds limit) {
    std::unique_lock guard{mtx_};
    return cv_.wait_for(guard, limit, [this] {
      return count_ == 0;
    });
  }

  void arrive_and_wait() {
    count_down();
    wait_for(hang_limit);
  }

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::size_t count_;
};

} // namespace runtime_test

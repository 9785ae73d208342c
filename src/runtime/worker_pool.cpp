// Worker threads with one queue each.
#include "runtime/worker_pool.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace lumen::detail {

struct worker_pool::worker {
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<job> queue;
  bool stopping = false;
  std::thread thread;

  void run() {
    for (;;) {
      job j;
      bool cancelled = false;
      {
        std::unique_lock guard{mtx};
        cv.wait(guard, [this] {
          return stopping || !queue.empty();
        });
        if (queue.empty())
          return;
        j = std::move(queue.front());
        queue.pop_front();
        cancelled = stopping;
      }
      j(cancelled);
    }
  }
};

worker_pool::worker_pool(std::size_t max_threads) : max_threads_(max_threads) {}

worker_pool::~worker_pool() {
  stop();
}

worker_pool::worker* worker_pool::acquire() {
  if (!idle_.empty()) {
    auto result = idle_.back();
    idle_.pop_back();
    return result;
  }
  if (max_threads_ != 0 && workers_.size() >= max_threads_)
    return nullptr;
  auto w = std::make_unique<worker>();
  auto* raw = w.get();
  w->thread = std::thread([raw] {
    raw->run();
  });
  workers_.push_back(std::move(w));
  return raw;
}

void worker_pool::release(worker* w) {
  idle_.push_back(w);
}

void worker_pool::post(worker* target, job j) {
  auto& w = *target;
  {
    std::lock_guard guard{w.mtx};
    w.queue.push_back(std::move(j));
  }
  w.cv.notify_one();
}

std::size_t worker_pool::size() const noexcept {
  return workers_.size();
}

std::size_t worker_pool::idle() const noexcept {
  return idle_.size();
}

void worker_pool::stop() {
  for (auto& w : workers_) {
    {
      std::lock_guard guard{w->mtx};
      w->stopping = true;
    }
    w->cv.notify_one();
  }
  for (auto& w : workers_)
    if (w->thread.joinable())
      w->thread.join();
}

} // namespace lumen::detail

// Worker threads with one queue each.
#include "scheduling/worker_pool.hpp"

#include <condition_variable>
#include <cxxabi.h>
#include <deque>
#include <mutex>
#include <thread>

namespace lumen::detail {

struct worker_pool::worker {
  struct entry {
    job j;
    const void* tag;
  };
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<entry> queue;
  bool stopping = false;
  /// Set by take_back(close): try_post fails until reopen.
  bool closed = false;
  /// Whether the thread sleeps (or is about to) on `cv`: only then does a
  /// post need to wake it.
  bool sleeping = false;
  std::thread thread;

  void run() {
    for (;;) {
      job j;
      bool cancelled = false;
      {
        std::unique_lock guard{mtx};
        if (queue.empty() && !stopping) {
          sleeping = true;
          cv.wait(guard, [this] {
            return stopping || !queue.empty();
          });
          sleeping = false;
        }
        if (queue.empty())
          return;
        j = std::move(queue.front().j);
        queue.pop_front();
        cancelled = stopping;
      }
      try {
        j(cancelled);
      } catch (abi::__forced_unwind&) {
        // The thread is ending inside a job (pthread_exit or a thread
        // cancellation in user code): the job's task actor learns it from
        // its call (task_actor.hpp), and a new thread takes this queue.
        replace_thread();
        throw;
      }
    }
  }

  /// From a thread that is ending: starts another for the queue, unless
  /// the pool stops (stop() joins the ending one).
  void replace_thread() {
    std::lock_guard guard{mtx};
    if (stopping)
      return;
    auto ending = std::move(thread);
    thread = std::thread([this] {
      run();
    });
    ending.detach();
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

void worker_pool::post(worker* target, job j, const void* tag) {
  auto& w = *target;
  bool wake;
  {
    std::lock_guard guard{w.mtx};
    w.queue.push_back({std::move(j), tag});
    wake = w.sleeping;
  }
  if (wake)
    w.cv.notify_one();
}

bool worker_pool::try_post(worker* target, job& j, const void* tag) {
  auto& w = *target;
  bool wake;
  {
    std::lock_guard guard{w.mtx};
    if (w.closed)
      return false;
    w.queue.push_back({std::move(j), tag});
    wake = w.sleeping;
  }
  if (wake)
    w.cv.notify_one();
  return true;
}

std::vector<worker_pool::tagged_job> worker_pool::take_back(worker* target,
                                                            bool close) {
  std::vector<tagged_job> result;
  auto& w = *target;
  std::lock_guard guard{w.mtx};
  if (close)
    w.closed = true;
  for (auto i = w.queue.begin(); i != w.queue.end();) {
    if (i->tag != nullptr) {
      result.push_back({i->tag, std::move(i->j)});
      i = w.queue.erase(i);
    } else {
      ++i;
    }
  }
  return result;
}

void worker_pool::reopen(worker* target) {
  std::lock_guard guard{target->mtx};
  target->closed = false;
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
  for (auto& w : workers_) {
    std::thread t;
    {
      // Under the lock: a thread ending now may have replaced itself.
      std::lock_guard guard{w->mtx};
      t = std::move(w->thread);
    }
    if (t.joinable())
      t.join();
  }
}

} // namespace lumen::detail

// The threads that run user code, apart from the threads that run actors.
//
// Each worker owns one thread and one queue; the scheduler picks the
// worker for every job, so no lock is shared by all workers. The pool
// starts threads on demand (when every worker is busy or blocked in `get`)
// and keeps them for later jobs: no thread is created per task. A worker
// may hold several queued jobs (the scheduler pipelines tasks to a
// busy worker); a job posted with a tag can be taken back while it has not
// started, and a worker can be closed to tagged jobs meanwhile (its
// running task waits in `get`; see actors/task_actor.hpp).
//
// A thread that ends inside a job (pthread_exit or a thread cancellation
// in user code) is replaced: a new thread takes its worker's queue.
//
// Thread safety: `acquire` and `release` are called by the scheduler
// only (one actor, one thread at a time); `post`, `try_post`, `take_back`
// and `reopen` may be called from any thread, as they only lock the chosen
// worker's queue. `stop` is called once, at shutdown, after the node
// manager has stopped.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace lumen::detail {

class worker_pool {
 public:
  /// A job receives `true` when the pool stops before it could run: it
  /// must then skip user code but still report back.
  using job = std::function<void(bool cancelled)>;

  /// One worker thread and its queue; stable for the pool's lifetime.
  struct worker;

  /// `max_threads` of 0 means no limit.
  explicit worker_pool(std::size_t max_threads);

  ~worker_pool();

  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// An idle worker, starting a new thread if none is idle, or nullptr at
  /// the thread limit. The worker counts as busy until released.
  worker* acquire();

  /// Marks `w` idle again.
  void release(worker* w);

  /// Queues `j` on `w`. A non-null `tag` names the job for `take_back`.
  static void post(worker* w, job j, const void* tag = nullptr);

  /// As `post`, but fails (leaving `j` as it was) while `w` is closed.
  static bool try_post(worker* w, job& j, const void* tag);

  /// A job taken back from a worker, with its tag.
  struct tagged_job {
    const void* tag;
    job j;
  };

  /// Removes the tagged jobs queued on `w` that have not started and
  /// returns them, oldest first. With `close`, `try_post` on `w` fails
  /// until `reopen`.
  static std::vector<tagged_job> take_back(worker* w, bool close = false);

  /// Lets `try_post` queue on `w` again.
  static void reopen(worker* w);

  /// Threads started so far.
  std::size_t size() const noexcept;

  /// Workers not currently acquired.
  std::size_t idle() const noexcept;

  /// Cancels queued jobs, waits for running ones, joins every thread.
  void stop();

 private:
  std::size_t max_threads_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<worker*> idle_;
};

} // namespace lumen::detail

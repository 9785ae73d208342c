// Unit tests of the worker thread pool (src/scheduling/worker_pool.hpp):
// acquire/release, the thread limit, posting, taking jobs back, closing
// a worker to tagged posts, and cancellation on stop.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "runtime_test_support.hpp"
#include "scheduling/worker_pool.hpp"

using namespace lumen::detail;
using namespace std::chrono_literals;
using runtime_test::finishes_within;
using runtime_test::hang_limit;
using runtime_test::latch;

namespace {

/// Runs a function when the thread that set it up exits.
struct runtime_worker_pool_exit_hook {
  std::function<void()> fn;
  ~runtime_worker_pool_exit_hook() {
    if (fn)
      fn();
  }
};

thread_local runtime_worker_pool_exit_hook exit_hook;

/// The id of the thread that runs jobs posted to `w`.
std::thread::id thread_of(worker_pool::worker* w) {
  auto id = std::make_shared<std::thread::id>();
  auto ran = std::make_shared<latch>(1);
  worker_pool::post(w, [id, ran](bool) {
    *id = std::this_thread::get_id();
    ran->count_down();
  });
  if (!ran->wait_for(hang_limit))
    return {};
  return *id;
}

} // namespace

TEST_CASE("worker_pool: acquire starts threads on demand and release makes "
          "workers idle",
          "[runtime][worker_pool]") {
  worker_pool pool{0};
  CHECK(pool.size() == 0);
  CHECK(pool.idle() == 0);
  auto* a = pool.acquire();
  REQUIRE(a != nullptr);
  CHECK(pool.size() == 1);
  CHECK(pool.idle() == 0);
  auto* b = pool.acquire();
  REQUIRE(b != nullptr);
  CHECK(b != a);
  CHECK(pool.size() == 2);

  pool.release(a);
  CHECK(pool.idle() == 1);
  auto* again = pool.acquire(); // an idle worker is reused
  CHECK(again == a);
  CHECK(pool.size() == 2);
  CHECK(pool.idle() == 0);
  pool.release(a);
  pool.release(b);
  CHECK(pool.idle() == 2);
  pool.stop();
}

TEST_CASE("worker_pool: acquire returns nullptr at the thread limit",
          "[runtime][worker_pool]") {
  worker_pool pool{2};
  auto* a = pool.acquire();
  auto* b = pool.acquire();
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(pool.acquire() == nullptr);
  CHECK(pool.size() == 2);
  pool.release(b);
  CHECK(pool.acquire() == b);
  CHECK(pool.acquire() == nullptr);
}

TEST_CASE("worker_pool: without a limit many workers can be busy",
          "[runtime][worker_pool]") {
  worker_pool pool{0};
  std::set<worker_pool::worker*> seen;
  for (int i = 0; i < 8; ++i) {
    auto* w = pool.acquire();
    REQUIRE(w != nullptr);
    seen.insert(w);
  }
  CHECK(seen.size() == 8);
  CHECK(pool.size() == 8);
}

TEST_CASE("worker_pool: each worker runs its jobs in order on its own "
          "thread",
          "[runtime][worker_pool]") {
  worker_pool pool{0};
  auto* a = pool.acquire();
  auto* b = pool.acquire();
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  auto ta = thread_of(a);
  auto tb = thread_of(b);
  CHECK(ta != std::thread::id{});
  CHECK(tb != std::thread::id{});
  CHECK(ta != tb);
  CHECK(ta != std::this_thread::get_id());
  CHECK(thread_of(a) == ta); // threads are kept, not made per job

  constexpr int jobs = 200;
  std::mutex mtx;
  std::vector<int> order_a;
  std::vector<int> order_b;
  std::atomic<int> wrong_thread{0};
  std::atomic<int> cancelled{0};
  latch all_ran{2 * jobs};
  for (int i = 0; i < jobs; ++i) {
    worker_pool::post(a, [&, i](bool c) {
      if (c)
        ++cancelled;
      if (std::this_thread::get_id() != ta)
        ++wrong_thread;
      {
        std::lock_guard guard{mtx};
        order_a.push_back(i);
      }
      all_ran.count_down();
    });
    worker_pool::post(b, [&, i](bool c) {
      if (c)
        ++cancelled;
      if (std::this_thread::get_id() != tb)
        ++wrong_thread;
      {
        std::lock_guard guard{mtx};
        order_b.push_back(i);
      }
      all_ran.count_down();
    });
  }
  REQUIRE(all_ran.wait_for(hang_limit));
  pool.stop();
  CHECK(cancelled == 0);
  CHECK(wrong_thread == 0);
  std::vector<int> expected;
  for (int i = 0; i < jobs; ++i)
    expected.push_back(i);
  CHECK(order_a == expected);
  CHECK(order_b == expected);
}

TEST_CASE("worker_pool: posting from many threads runs every job once",
          "[runtime][worker_pool]") {
  worker_pool pool{0};
  std::vector<worker_pool::worker*> workers;
  for (int i = 0; i < 3; ++i)
    workers.push_back(pool.acquire());
  constexpr int per_thread = 300;
  std::vector<std::atomic<int>> runs(4 * per_thread);
  latch all_ran{4 * per_thread};
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t)
    posters.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto slot = static_cast<std::size_t>(t * per_thread + i);
        worker_pool::post(workers[slot % workers.size()],
                          [&runs, &all_ran, slot](bool) {
                            ++runs[slot];
                            all_ran.count_down();
                          });
      }
    });
  for (auto& t : posters)
    t.join();
  REQUIRE(all_ran.wait_for(hang_limit));
  pool.stop();
  for (auto& r : runs)
    CHECK(r.load() == 1);
}

TEST_CASE("worker_pool: stop lets the running job finish and cancels the "
          "queued ones",
          "[runtime][worker_pool]") {
  struct outcome {
    latch started{1};
    latch gate{1};
    std::mutex mtx;
    std::vector<int> cancelled_flags; // in run order; job 0 runs first
  };
  auto out = std::make_shared<outcome>();
  auto pool = std::make_shared<worker_pool>(0);
  auto* busy = pool->acquire();  // first worker: stopped first
  auto* other = pool->acquire(); // second worker: its exit opens the gate
  REQUIRE(busy != nullptr);
  REQUIRE(other != nullptr);
  // When `other`'s thread ends, stop() has flagged every worker: only then
  // may the running job on `busy` finish.
  auto hooked = std::make_shared<latch>(1);
  worker_pool::post(other, [out, hooked](bool) {
    exit_hook.fn = [out] {
      out->gate.count_down();
    };
    hooked->count_down();
  });
  REQUIRE(hooked->wait_for(hang_limit));
  worker_pool::post(busy, [out](bool cancelled) {
    out->started.count_down();
    // Bounded: a pool that joins each worker before flagging the next
    // never opens the gate; the flag is set by then all the same.
    out->gate.wait_for(std::chrono::milliseconds{10000});
    std::lock_guard guard{out->mtx};
    out->cancelled_flags.push_back(cancelled ? 1 : 0);
  });
  REQUIRE(out->started.wait_for(hang_limit));
  for (int i = 0; i < 3; ++i)
    worker_pool::post(busy, [out](bool cancelled) {
      std::lock_guard guard{out->mtx};
      out->cancelled_flags.push_back(cancelled ? 1 : 0);
    });
  REQUIRE(finishes_within(hang_limit, [pool] {
    pool->stop();
  }));
  std::lock_guard guard{out->mtx};
  CHECK(out->cancelled_flags == std::vector<int>{0, 1, 1, 1});
}

TEST_CASE("worker_pool: destroying the pool reports every queued job",
          "[runtime][worker_pool]") {
  std::atomic<int> runs{0};
  std::atomic<int> cancelled{0};
  {
    worker_pool pool{1};
    auto* w = pool.acquire();
    REQUIRE(w != nullptr);
    for (int i = 0; i < 50; ++i)
      worker_pool::post(w, [&](bool c) {
        ++runs;
        if (c)
          ++cancelled;
      });
  } // ~worker_pool stops and joins
  CHECK(runs == 50);
  CHECK(cancelled <= 50);
}

TEST_CASE("worker_pool: stop is safe without threads and when repeated",
          "[runtime][worker_pool]") {
  auto idle_pool = std::make_shared<worker_pool>(4);
  REQUIRE(finishes_within(hang_limit, [idle_pool] {
    idle_pool->stop();
  }));
  worker_pool pool{0};
  auto* w = pool.acquire();
  REQUIRE(w != nullptr);
  std::atomic<int> runs{0};
  latch ran{1};
  worker_pool::post(w, [&](bool) {
    ++runs;
    ran.count_down();
  });
  REQUIRE(ran.wait_for(hang_limit));
  pool.stop();
  pool.stop();
  CHECK(runs == 1);
  CHECK(pool.size() == 1);
}

TEST_CASE("worker_pool: take_back returns the queued tagged jobs and close "
          "refuses tagged posts until reopen",
          "[runtime][worker_pool]") {
  worker_pool pool{0};
  auto* w = pool.acquire();
  REQUIRE(w != nullptr);
  latch started{1};
  latch release{1};
  // The running job holds the worker; what is posted after it queues.
  worker_pool::post(w, [&](bool) {
    started.count_down();
    release.wait_for(hang_limit);
  });
  REQUIRE(started.wait_for(hang_limit));
  std::atomic<int> runs{0};
  int tag_a = 0;
  int tag_b = 0;
  worker_pool::job a = [&](bool) {
    ++runs;
  };
  REQUIRE(worker_pool::try_post(w, a, &tag_a));
  worker_pool::post(w, [&](bool) {
    ++runs;
  }); // untagged: stays
  auto taken = worker_pool::take_back(w, true);
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].tag == &tag_a);
  CHECK(static_cast<bool>(taken[0].j));
  worker_pool::job b = [&](bool) {
    ++runs;
  };
  CHECK_FALSE(worker_pool::try_post(w, b, &tag_b)); // closed
  CHECK(static_cast<bool>(b));                      // left as it was
  worker_pool::reopen(w);
  CHECK(worker_pool::try_post(w, b, &tag_b));
  release.count_down();
  latch done{1};
  worker_pool::post(w, [&](bool) {
    done.count_down();
  });
  REQUIRE(done.wait_for(hang_limit));
  CHECK(runs == 2); // the untagged job and b; a was taken back
  taken[0].j(false);
  CHECK(runs == 3);
}

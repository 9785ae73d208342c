// Integration tests: async actors (lumen/async.hpp) on one node — coroutine
// methods awaiting refs, tasks, other actors and timers; errors;
// max_concurrency; many calls in flight on few threads; ref.then.
#include <chrono>
#include <dirent.h>
#include <future>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "async_tasks.hpp"
#include "lumen/lumen.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using async_tasks::Waiter;
using Catch::Matchers::Contains;
using lumen_it::patience;

namespace {

/// Threads of this process now.
int thread_count() {
  int n = 0;
  if (auto* d = opendir("/proc/self/task")) {
    while (auto* e = readdir(d))
      if (e->d_name[0] != '.')
        ++n;
    closedir(d);
  }
  return n;
}

} // namespace

TEST_CASE("async actors: a coroutine awaits a put ref, a task and a timer",
          "[async]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto w = lumen::actor(Waiter::create).remote();
  auto put = lumen::put(std::int64_t{40});
  CHECK(lumen::get(w.task(&Waiter::add_to).remote(put, 2), patience) == 42);
  // A ref still pending when the call starts.
  auto slow = lumen::task(async_tasks::slow_value).remote(100, 200);
  CHECK(lumen::get(w.task(&Waiter::add_to).remote(slow, 1), patience) == 101);
  CHECK(lumen::get(w.task(&Waiter::via_task).remote(7, 50), patience) == 7);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(lumen::get(w.task(&Waiter::nap).remote(50), patience) ==
        lumen::node_id());
  CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
}

TEST_CASE("async actors: async actors call each other and await the calls",
          "[async]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto a = lumen::actor(Waiter::create).remote();
  auto b = lumen::actor(Waiter::create).remote();
  auto me = lumen::node_id();
  std::vector<lumen::object_ref<std::string>> refs;
  for (int i = 0; i < 50; ++i)
    refs.push_back(
      (i % 2 ? a : b).task(&Waiter::relay).remote(i % 2 ? b : a, 20));
  for (auto& s : lumen::get(refs, patience))
    CHECK(s == me + "/" + me);
}

TEST_CASE("async actors: an exception in a coroutine fails its call with a "
          "clear lumen::error; the actor lives on",
          "[async]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto w = lumen::actor(Waiter::create).remote();
  auto bad = w.task(&Waiter::fail_after).remote(10, "no such model");
  try {
    lumen::get(bad, patience);
    FAIL("get did not throw");
  } catch (const lumen::task_error& e) {
    CHECK_THAT(e.what(), Contains("no such model"));
    CHECK_THAT(e.what(), Contains("domain_error"));
  }
  // An awaited ref that failed throws inside the coroutine, which catches.
  auto failing =
    lumen::task(async_tasks::failing_value).max_retries(0).remote("db down");
  auto caught =
    lumen::get(w.task(&Waiter::catch_failure).remote(failing), patience);
  CHECK_THAT(caught, Contains("caught: "));
  CHECK_THAT(caught, Contains("db down"));
  // Uncaught, it fails the call with the awaited task's error.
  CHECK_THROWS_WITH(
    lumen::get(w.task(&Waiter::add_to).remote(failing, 1), patience),
    Contains("db down"));
  CHECK(lumen::get(w.task(&Waiter::nap).remote(1), patience) ==
        lumen::node_id());
}

TEST_CASE("async actors: exit_actor in a coroutine ends the actor", "[async]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto w = lumen::actor(Waiter::create).remote();
  CHECK_THROWS_AS(lumen::get(w.task(&Waiter::quit_after).remote(10), patience),
                  lumen::actor_died_error);
  CHECK_THROWS_AS(lumen::get(w.task(&Waiter::nap).remote(1), patience),
                  lumen::actor_died_error);
}

TEST_CASE("async actors: max_concurrency bounds the calls in flight (default "
          "1,000)",
          "[async]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  SECTION("an explicit bound") {
    auto w = lumen::actor(Waiter::create).max_concurrency(3).remote();
    std::vector<lumen::object_ref<int>> refs;
    for (int i = 0; i < 30; ++i)
      refs.push_back(w.task(&Waiter::track).remote(200));
    lumen::get(refs, patience);
    CHECK(lumen::get(w.task(&Waiter::peak).remote(), patience) == 3);
  }
  SECTION("the default") {
    auto w = lumen::actor(Waiter::create).remote();
    std::vector<lumen::object_ref<int>> refs;
    // Long sleeps: the first 1,000 are all in flight before any ends,
    // even on a loaded machine.
    for (int i = 0; i < 1500; ++i)
      refs.push_back(w.task(&Waiter::track).remote(1500));
    lumen::get(refs, patience);
    CHECK(lumen::get(w.task(&Waiter::peak).remote(), patience) == 1000);
  }
  SECTION("max_concurrency 1 runs calls one after the other, in order") {
    auto w = lumen::actor(Waiter::create).max_concurrency(1).remote();
    std::vector<lumen::object_ref<std::string>> refs;
    for (int i = 0; i < 10; ++i)
      refs.push_back(w.task(&Waiter::append).remote(std::to_string(i), 10 - i));
    auto logs = lumen::get(refs, patience);
    CHECK(logs.back() == "0123456789");
  }
}

TEST_CASE("async actors: thousands of calls in flight on one actor use no "
          "thread per call",
          "[async]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto w = lumen::actor(Waiter::create).max_concurrency(5000).remote();
  // Warm up: the actor's worker and the timer thread exist.
  lumen::get(w.task(&Waiter::nap).remote(1), patience);
  int before = thread_count();
  std::vector<lumen::object_ref<int>> refs;
  for (int i = 0; i < 5000; ++i)
    refs.push_back(w.task(&Waiter::track).remote(2000));
  // While they sleep: all in flight at once, on the same threads.
  int during = 0;
  lumen_it::eventually(
    [&] {
      during = std::max(during, thread_count());
      return lumen::wait(refs, 1, 0s).ready.size() == 1;
    },
    patience);
  lumen::get(refs, patience);
  CHECK(lumen::get(w.task(&Waiter::peak).remote(), patience) == 5000);
  INFO("threads before " << before << ", during " << during);
  CHECK(during - before <= 2);
}

TEST_CASE("async actors: ref.then runs a callback off the caller's thread",
          "[async]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  std::promise<std::pair<std::int64_t, std::thread::id>> got;
  lumen::task(async_tasks::slow_value)
    .remote(9, 50)
    .then([&](lumen::outcome<std::int64_t> o) {
      got.set_value({o.value(), std::this_thread::get_id()});
    });
  auto f = got.get_future();
  REQUIRE(f.wait_for(patience) == std::future_status::ready);
  auto [v, tid] = f.get();
  CHECK(v == 9);
  CHECK(tid != std::this_thread::get_id());
  // A failed object hands over its error.
  std::promise<std::string> err;
  lumen::task(async_tasks::failing_value)
    .max_retries(0)
    .remote("nope")
    .then([&](lumen::outcome<std::int64_t> o) {
      try {
        o.value();
        err.set_value("no error");
      } catch (const lumen::error& e) {
        err.set_value(e.what());
      }
    });
  auto ef = err.get_future();
  REQUIRE(ef.wait_for(patience) == std::future_status::ready);
  CHECK_THAT(ef.get(), Contains("nope"));
  // An object ready already: still not inline in the caller.
  auto ready = lumen::put(std::int64_t{3});
  std::promise<std::thread::id> where;
  ready.then([&](lumen::outcome<std::int64_t>) {
    where.set_value(std::this_thread::get_id());
  });
  auto wf = where.get_future();
  REQUIRE(wf.wait_for(patience) == std::future_status::ready);
  CHECK(wf.get() != std::this_thread::get_id());
}

TEST_CASE("async actors: ref.then inside an async actor runs after the "
          "call that made it has ended",
          "[async]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto w = lumen::actor(Waiter::create).remote();
  std::vector<lumen::object_ref<int>> started;
  for (int i = 1; i <= 20; ++i)
    started.push_back(w.task(&Waiter::then_inside).remote(i, 100));
  for (int v : lumen::get(started, patience))
    CHECK(v == 1);
  // The calls are over; their callbacks run once the tasks end.
  CHECK(lumen_it::eventually([&] {
    return lumen::get(w.task(&Waiter::then_seen).remote(), patience) != 0;
  }));
  CHECK(lumen::get(w.task(&Waiter::nap).remote(1), patience) ==
        lumen::node_id());
}

TEST_CASE("async actors: a shutdown with calls suspended on timers ends them",
          "[async]") {
  lumen::init(lumen::config{.num_cpus = 2});
  {
    auto w = lumen::actor(Waiter::create).remote();
    std::vector<lumen::object_ref<int>> refs;
    for (int i = 0; i < 100; ++i)
      refs.push_back(w.task(&Waiter::track).remote(3'600'000));
    lumen::get(w.task(&Waiter::nap).remote(1), patience);
    // All 100 are suspended on hour-long timers now.
    CHECK(lumen::get(w.task(&Waiter::peak).remote(), patience) == 100);
  }
  auto t0 = std::chrono::steady_clock::now();
  lumen::shutdown();
  CHECK(std::chrono::steady_clock::now() - t0 < patience);
}

TEST_CASE("async actors: lumen::context() in a coroutine method names the "
          "actor, its namespace and its resources, after a suspension too",
          "[async][context]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto w =
    lumen::actor(Waiter::create).num_cpus(1).name("ctx", "async-ns").remote();
  auto c = lumen::get(w.task(&Waiter::context_after).remote(20), patience);
  REQUIRE(c.size() == 3);
  CHECK(c[0] == w.id().to_string());
  CHECK(c[1] == "async-ns");
  CHECK(c[2].rfind("CPU=1", 0) == 0);
}

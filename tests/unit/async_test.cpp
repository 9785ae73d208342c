// Unit tests of the coroutine machinery behind async actors
// (lumen/async.hpp) and of the async thread (scheduling/async_loop.hpp),
// without a runtime: coroutines are driven by a test executor, and methods
// are started through the registry as the actor host starts them.
#include <atomic>
#include <chrono>
#include <coroutine>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "lumen/actor.hpp"
#include "lumen/async.hpp"
#include "lumen/remote.hpp"
#include "scheduling/async_loop.hpp"

using namespace std::chrono_literals;

namespace {

/// Resumes coroutines when the test says so, in order.
class manual_executor final : public lumen::detail::resume_executor {
 public:
  void resume(std::coroutine_handle<> h) override {
    queue.push_back(h);
  }

  /// Resumes every queued coroutine; returns how many.
  int run() {
    int n = 0;
    lumen::detail::executor_scope scope{this};
    while (!queue.empty()) {
      auto h = queue.front();
      queue.pop_front();
      h.resume();
      ++n;
    }
    return n;
  }

  std::deque<std::coroutine_handle<>> queue;
};

/// An event a coroutine can await: suspends until `fire`.
struct test_event {
  lumen::detail::suspend_gate gate;

  bool await_ready() const noexcept {
    return false;
  }

  bool await_suspend(std::coroutine_handle<> h) {
    gate.ex = &lumen::detail::resume_target();
    gate.h = h;
    return gate.arm();
  }

  void await_resume() const noexcept {}

  void fire() {
    gate.fire();
  }
};

std::atomic<int> frames_alive{0};

/// Counts live coroutine frames (a local of each body).
struct frame_counter {
  frame_counter() {
    ++frames_alive;
  }
  ~frame_counter() {
    --frames_alive;
  }
  frame_counter(const frame_counter&) = delete;
  frame_counter& operator=(const frame_counter&) = delete;
};

lumen::async<int> plus_one(test_event& ev, int x) {
  frame_counter c;
  co_await ev;
  co_return x + 1;
}

lumen::async<int> twice_plus_one(test_event& ev, int x) {
  frame_counter c;
  int y = co_await plus_one(ev, x);
  co_return 2 * y;
}

lumen::async<void> throws_after(test_event& ev) {
  frame_counter c;
  co_await ev;
  throw std::runtime_error("boom after resume");
}

lumen::async<std::string> catches(test_event& ev) {
  frame_counter c;
  try {
    co_await throws_after(ev);
  } catch (const std::runtime_error& e) {
    co_return std::string("caught: ") + e.what();
  }
  co_return "not reached";
}

/// Drives `a` to its end on `ex` and stores the result or error.
template <class T>
lumen::detail::detached_task drive(lumen::async<T> a, std::optional<T>& out,
                                   std::exception_ptr& err) {
  try {
    out = co_await a;
  } catch (...) {
    err = std::current_exception();
  }
}

/// An actor class with coroutine methods, started through the registry.
struct ut_Async {
  static ut_Async* create() {
    return new ut_Async;
  }

  lumen::async<std::string> greet(std::string name, int n) {
    frame_counter c;
    co_await* event; // `name` must stay valid across the suspension
    std::string out;
    for (int i = 0; i < n; ++i)
      out += name;
    co_return out;
  }

  lumen::async<std::string> greet_ref(const std::string& name) {
    frame_counter c;
    co_await* event;
    co_return "hi " + name;
  }

  lumen::async<void> fail(int code) {
    frame_counter c;
    co_await* event;
    throw std::invalid_argument("bad code " + std::to_string(code));
  }

  int plain(int x) {
    return x;
  }

  test_event* event = nullptr;
};

LUMEN_REMOTE(ut_Async::create, &ut_Async::greet, &ut_Async::greet_ref,
             &ut_Async::fail, &ut_Async::plain);

struct ut_Plain {
  static ut_Plain* create() {
    return new ut_Plain;
  }
  int get() {
    return 1;
  }
};

LUMEN_REMOTE(ut_Plain::create, &ut_Plain::get);

/// What an async method's `done` received.
struct outcome_box {
  bool called = false;
  std::optional<lumen::detail::object_data> result;
  std::exception_ptr error;

  lumen::detail::async_done_fn fn() {
    return [this](lumen::detail::object_data* r, std::exception_ptr e) {
      called = true;
      if (r != nullptr)
        result = std::move(*r);
      error = std::move(e);
    };
  }
};

template <class T>
lumen::detail::object_ptr arg(const T& v) {
  return std::make_shared<lumen::detail::object_data>(
    lumen::detail::to_object<T>(v));
}

} // namespace

TEST_CASE("async: a nested coroutine suspends, resumes and returns its value",
          "[async]") {
  manual_executor ex;
  test_event ev;
  std::optional<int> out;
  std::exception_ptr err;
  {
    lumen::detail::executor_scope scope{&ex};
    drive(twice_plus_one(ev, 20), out, err);
  }
  CHECK_FALSE(out.has_value());
  CHECK(frames_alive == 2); // suspended, both frames alive
  CHECK(ex.queue.empty());
  ev.fire();
  REQUIRE(ex.queue.size() == 1); // resumes through the executor
  CHECK(ex.run() == 1);
  REQUIRE(out.has_value());
  CHECK(*out == 42);
  CHECK_FALSE(err);
  CHECK(frames_alive == 0);
}

TEST_CASE("async: an event that happens before the suspension is armed "
          "continues without the executor",
          "[async]") {
  manual_executor ex;
  lumen::detail::executor_scope scope{&ex};
  // The gate in both orders.
  lumen::detail::suspend_gate g1;
  g1.ex = &ex;
  g1.fire();
  CHECK_FALSE(g1.arm()); // do not suspend: the event came first
  CHECK(ex.queue.empty());
  lumen::detail::suspend_gate g2;
  g2.ex = &ex;
  g2.h = std::noop_coroutine();
  CHECK(g2.arm());
  g2.fire();
  CHECK(ex.queue.size() == 1);
  ex.queue.clear();
}

TEST_CASE("async: an exception crosses nested coroutines and can be caught",
          "[async]") {
  manual_executor ex;
  test_event ev;
  std::optional<std::string> out;
  std::exception_ptr err;
  {
    lumen::detail::executor_scope scope{&ex};
    drive(catches(ev), out, err);
  }
  ev.fire();
  ex.run();
  REQUIRE(out.has_value());
  CHECK(*out == "caught: boom after resume");
  CHECK(frames_alive == 0);
}

TEST_CASE("async: an uncaught exception reaches the awaiting caller",
          "[async]") {
  manual_executor ex;
  test_event ev;
  std::optional<int> out;
  std::exception_ptr err;
  {
    lumen::detail::executor_scope scope{&ex};
    drive(
      []() -> lumen::async<int> {
        co_return 1 + 0;
      }(),
      out, err);
  }
  CHECK(out == 1);
  // A void coroutine that throws, awaited by a driver.
  std::optional<int> out2;
  auto thrower = [](test_event& e) -> lumen::async<int> {
    co_await throws_after(e);
    co_return 0;
  };
  {
    lumen::detail::executor_scope scope{&ex};
    drive(thrower(ev), out2, err);
  }
  ev.fire();
  ex.run();
  CHECK_FALSE(out2.has_value());
  REQUIRE(err);
  CHECK_THROWS_WITH(std::rethrow_exception(err), "boom after resume");
  CHECK(frames_alive == 0);
}

TEST_CASE("async: an async never awaited frees its frame", "[async]") {
  test_event ev;
  {
    auto a = plus_one(ev, 1);
    CHECK(frames_alive == 0); // lazy: the body has not started
  }
  CHECK(frames_alive == 0);
  auto a = plus_one(ev, 1);
  auto b = std::move(a);
  CHECK_THROWS_AS(
    [&]() {
      std::optional<int> o;
      std::exception_ptr e;
      drive(std::move(a), o, e); // moved-from: an error, not a crash
      if (e)
        std::rethrow_exception(e);
    }(),
    lumen::error);
}

TEST_CASE("async: LUMEN_REMOTE registers coroutine methods and marks the "
          "class async",
          "[async]") {
  auto* greet = lumen::detail::find_function("ut_Async::greet");
  REQUIRE(greet != nullptr);
  CHECK(greet->kind == lumen::detail::function_kind::actor_method);
  CHECK(greet->async_method != nullptr);
  CHECK(greet->method == nullptr);
  auto* plain = lumen::detail::find_function("ut_Async::plain");
  REQUIRE(plain != nullptr);
  CHECK(plain->method != nullptr);
  CHECK(plain->async_method == nullptr);
  CHECK(lumen::detail::is_async_class(greet->class_hash));
  CHECK_FALSE(lumen::detail::is_async_class(
    lumen::detail::find_function("ut_Plain::get")->class_hash));
  // A caller of a coroutine method gets a ref to the coroutine's value.
  using caller =
    lumen::actor_method_caller<ut_Async, decltype(&ut_Async::greet)>;
  STATIC_REQUIRE(std::is_same_v<caller::result_type, std::string>);
  using void_caller =
    lumen::actor_method_caller<ut_Async, decltype(&ut_Async::fail)>;
  STATIC_REQUIRE(std::is_same_v<void_caller::result_type, void>);
}

TEST_CASE("async: a method started through the registry keeps its arguments "
          "alive across suspensions and encodes its result",
          "[async]") {
  manual_executor ex;
  test_event ev1, ev2;
  ut_Async obj;
  auto* greet = lumen::detail::find_function("ut_Async::greet");
  auto* greet_ref = lumen::detail::find_function("ut_Async::greet_ref");
  outcome_box a, b;
  {
    lumen::detail::executor_scope scope{&ex};
    obj.event = &ev1;
    std::vector<lumen::detail::object_ptr> args{arg(std::string(40, 'x')),
                                                arg(3)};
    greet->async_method(&obj, args, a.fn());
    obj.event = &ev2;
    std::vector<lumen::detail::object_ptr> args2{arg(std::string(40, 'y'))};
    greet_ref->async_method(&obj, args2, b.fn());
    // The encoded arguments go away; the decoded ones live in the frames.
  }
  CHECK_FALSE(a.called);
  CHECK_FALSE(b.called);
  CHECK(frames_alive == 2);
  ev2.fire();
  ex.run();
  REQUIRE(b.called);
  REQUIRE(b.result.has_value());
  CHECK(lumen::detail::from_object<std::string>(*b.result) ==
        "hi " + std::string(40, 'y'));
  CHECK_FALSE(a.called); // still suspended on its own event
  ev1.fire();
  ex.run();
  REQUIRE(a.called);
  REQUIRE(a.result.has_value());
  CHECK_FALSE(a.error);
  CHECK(lumen::detail::from_object<std::string>(*a.result) ==
        std::string(120, 'x'));
  CHECK(frames_alive == 0);
}

TEST_CASE("async: a method that throws gives `done` the exception and frees "
          "its frame",
          "[async]") {
  manual_executor ex;
  test_event ev;
  ut_Async obj;
  obj.event = &ev;
  auto* fail = lumen::detail::find_function("ut_Async::fail");
  outcome_box box;
  {
    lumen::detail::executor_scope scope{&ex};
    std::vector<lumen::detail::object_ptr> args{arg(7)};
    fail->async_method(&obj, args, box.fn());
  }
  int before = frames_alive;
  ev.fire();
  ex.run();
  REQUIRE(box.called);
  CHECK_FALSE(box.result.has_value());
  REQUIRE(box.error);
  CHECK_THROWS_WITH(std::rethrow_exception(box.error), "bad code 7");
  CHECK(frames_alive == before - 1);
  // Arguments that do not decode throw before the coroutine starts.
  outcome_box bad;
  std::vector<lumen::detail::object_ptr> wrong{arg(std::string("seven"))};
  CHECK_THROWS_AS(fail->async_method(&obj, wrong, bad.fn()),
                  lumen::type_mismatch_error);
  CHECK_FALSE(bad.called);
  std::vector<lumen::detail::object_ptr> none;
  CHECK_THROWS_AS(fail->async_method(&obj, none, bad.fn()),
                  lumen::type_mismatch_error);
}

TEST_CASE("async: outcome holds a value or rethrows its error", "[async]") {
  lumen::outcome<int> ok;
  ok.set_value(5);
  CHECK(ok.ok());
  CHECK(ok.value() == 5);
  lumen::outcome<int> bad;
  bad.set_error(std::make_exception_ptr(lumen::error("gone")));
  CHECK_FALSE(bad.ok());
  CHECK_THROWS_AS(bad.value(), lumen::error);
  lumen::outcome<void> v;
  CHECK(v.ok());
  CHECK_NOTHROW(v.value());
}

TEST_CASE("async loop: jobs run in order on one thread", "[async]") {
  lumen::detail::async_loop loop;
  CHECK_FALSE(loop.started()); // no thread until used
  std::mutex mtx;
  std::vector<int> seen;
  std::vector<std::thread::id> threads;
  std::atomic<int> done{0};
  for (int i = 0; i < 100; ++i)
    loop.post([&, i] {
      std::lock_guard guard{mtx};
      seen.push_back(i);
      threads.push_back(std::this_thread::get_id());
      ++done;
    });
  for (int i = 0; i < 500 && done < 100; ++i)
    std::this_thread::sleep_for(10ms);
  loop.stop();
  REQUIRE(seen.size() == 100);
  for (int i = 0; i < 100; ++i)
    CHECK(seen[static_cast<std::size_t>(i)] == i);
  for (auto& t : threads)
    CHECK(t == threads.front());
  CHECK(threads.front() != std::this_thread::get_id());
}

TEST_CASE("async loop: timers fire in deadline order, not before their time",
          "[async]") {
  lumen::detail::async_loop loop;
  std::mutex mtx;
  std::vector<int> order;
  std::atomic<int> done{0};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::chrono::steady_clock::duration> when(3);
  auto add = [&](int id, std::chrono::milliseconds d) {
    loop.post_after(d, [&, id] {
      std::lock_guard guard{mtx};
      order.push_back(id);
      when[static_cast<std::size_t>(id)] =
        std::chrono::steady_clock::now() - t0;
      ++done;
    });
  };
  add(0, 60ms);
  add(1, 20ms);
  add(2, 40ms);
  for (int i = 0; i < 500 && done < 3; ++i)
    std::this_thread::sleep_for(10ms);
  REQUIRE(done == 3);
  CHECK(order == std::vector<int>{1, 2, 0});
  CHECK(when[1] >= 20ms);
  CHECK(when[2] >= 40ms);
  CHECK(when[0] >= 60ms);
  CHECK(loop.pending_timers() == 0);
}

TEST_CASE("async loop: stop fires pending timers at once; later jobs run "
          "inline",
          "[async]") {
  lumen::detail::async_loop loop;
  std::atomic<int> fired{0};
  for (int i = 0; i < 10; ++i)
    loop.post_after(1h, [&] {
      ++fired;
    });
  CHECK(loop.pending_timers() == 10);
  auto t0 = std::chrono::steady_clock::now();
  loop.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  CHECK(fired == 10);
  CHECK(loop.pending_timers() == 0);
  auto here = std::this_thread::get_id();
  std::thread::id ran;
  loop.post([&] {
    ran = std::this_thread::get_id();
  });
  CHECK(ran == here);
  loop.post_after(1h, [&] {
    ++fired;
  });
  CHECK(fired == 11);
}

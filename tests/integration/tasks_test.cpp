// Integration tests: submitting tasks with values and refs, void functions,
// refs as parameters, and the task options (issue 2, "Public API").

#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "lumen/lumen.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using lumen_it::patience;

namespace {

lumen_it::gate tk_gate;
std::atomic<int> tk_calls{0};
std::atomic<int> tk_recorded{0};

int tk_add(int a, int b) {
  return a + b;
}

std::string tk_concat(const std::string& a, std::string b) {
  return a + b;
}

double tk_scale(double x, double k) {
  return x * k;
}

// Holds its CPU until tk_gate opens (or 30 s pass), then returns x.
int tk_gated(int x) {
  tk_gate.wait();
  return x;
}

int tk_counted_inc(int x) {
  ++tk_calls;
  return x + 1;
}

// Receives the ref itself: it may read it, or just look at its id.
int tk_deref_plus(lumen::object_ref<int> r, int k) {
  return lumen::get(r, patience) + k;
}

std::string tk_ref_id(lumen::object_ref<int> r) {
  return r.valid() ? r.id().to_string() : std::string{"invalid"};
}

void tk_record(int x) {
  tk_recorded = x;
}

void tk_void_throw(int x) {
  throw std::out_of_range("void task got " + std::to_string(x));
}

int tk_throw_counted(int) {
  ++tk_calls;
  throw std::runtime_error("always fails");
}

lumen::object_ref<int> tk_put_inside(int x) {
  return lumen::put(x * 10);
}

int tk_spawn_child(int x) {
  auto child = lumen::task(tk_add).remote(x, 1);
  return lumen::get(child, patience) * 2;
}

long tk_six(int a, long b, const std::string& c, double d, int e,
            std::vector<int> f) {
  long sum = a + b + static_cast<long>(c.size()) + static_cast<long>(d) + e;
  for (int v : f)
    sum += v;
  return sum;
}

int tk_never_registered(int x) {
  return x;
}

} // namespace

LUMEN_REMOTE(tk_add, tk_concat, tk_scale, tk_gated, tk_counted_inc,
             tk_deref_plus, tk_ref_id, tk_record, tk_void_throw);
LUMEN_REMOTE(tk_throw_counted, tk_put_inside, tk_spawn_child, tk_six);

TEST_CASE("tasks: value arguments reach the function", "[tasks]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  CHECK(lumen::get(lumen::task(tk_add).remote(2, 3), patience) == 5);
  CHECK(lumen::get(lumen::task(tk_add).remote(-7, 7), patience) == 0);
  // Arguments convert to the parameter types: const char* to std::string,
  // int to double.
  CHECK(lumen::get(lumen::task(tk_concat).remote("ab", std::string{"cd"}),
                   patience) == "abcd");
  CHECK(lumen::get(lumen::task(tk_scale).remote(3, 0.5), patience) == 1.5);
  auto r = lumen::task(tk_six).remote(1, 2L, std::string{"abc"}, 4.0, 5,
                                      std::vector<int>{6, 7});
  CHECK(lumen::get(r, patience) == 1 + 2 + 3 + 4 + 5 + 6 + 7);
}

TEST_CASE("tasks: object_ref arguments are resolved before the call",
          "[tasks]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto two = lumen::put(2);
  CHECK(lumen::get(lumen::task(tk_add).remote(two, 40), patience) == 42);
  CHECK(lumen::get(lumen::task(tk_add).remote(two, two), patience) == 4);

  // A task's result feeds the next task without passing through the driver.
  auto a = lumen::task(tk_add).remote(1, 2);
  auto b = lumen::task(tk_add).remote(a, 10);
  auto c = lumen::task(tk_add).remote(b, a);
  CHECK(lumen::get(c, patience) == 16);

  // Refs and values mixed in one call.
  auto s = lumen::put(std::string{"xyz"});
  auto v = lumen::put(std::vector<int>{10, 20});
  auto r = lumen::task(tk_six).remote(a, 1L, s, 0.0, two, v);
  CHECK(lumen::get(r, patience) == 3 + 1 + 3 + 0 + 2 + 30);
}

TEST_CASE("tasks: a task does not start before its ref arguments are ready",
          "[tasks]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  tk_gate.close();
  tk_calls = 0;
  auto producer = lumen::task(tk_gated).remote(5);
  auto consumer = lumen::task(tk_counted_inc).remote(producer);
  // The consumer waits for its argument, not for a CPU: one is free.
  REQUIRE(lumen_it::eventually([] {
    auto s = lumen_it::snapshot();
    return s.running == 1 && s.queued == 1;
  }));
  std::this_thread::sleep_for(50ms);
  CHECK(tk_calls == 0);
  CHECK_THROWS_AS(lumen::get(consumer, 0ms), lumen::timeout_error);
  // The same pending ref twice in one call.
  auto twice = lumen::task(tk_add).remote(producer, producer);
  tk_gate.open();
  CHECK(lumen::get(consumer, patience) == 6);
  CHECK(lumen::get(twice, patience) == 10);
  CHECK(tk_calls == 1);
}

TEST_CASE("tasks: a parameter declared as object_ref<T> receives the ref",
          "[tasks]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto ten = lumen::put(10);
  CHECK(lumen::get(lumen::task(tk_deref_plus).remote(ten, 5), patience) == 15);
  // The very same object, not a copy of its value under a new id.
  CHECK(lumen::get(lumen::task(tk_ref_id).remote(ten), patience) ==
        ten.id().to_string());

  // Such a parameter is no dependency: the task runs although the object
  // is not ready yet.
  tk_gate.close();
  auto pending = lumen::task(tk_gated).remote(7);
  auto id = lumen::task(tk_ref_id).remote(pending);
  CHECK(lumen::get(id, patience) == pending.id().to_string());
  auto sum = lumen::task(tk_deref_plus).remote(pending, 1);
  tk_gate.open();
  CHECK(lumen::get(sum, patience) == 8);

  // An invalid ref passed as a value arrives as an invalid ref.
  CHECK(lumen::get(lumen::task(tk_ref_id).remote(lumen::object_ref<int>{}),
                   patience) == "invalid");
}

TEST_CASE("tasks: void functions give object_ref<void>", "[tasks]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  tk_recorded = 0;
  auto ref = lumen::task(tk_record).remote(17);
  static_assert(std::is_same_v<decltype(ref), lumen::object_ref<void>>);
  static_assert(std::is_void_v<decltype(lumen::get(ref))>);
  lumen::get(ref, patience); // returns once the task has run
  CHECK(tk_recorded == 17);
  // Waiting works on void refs too.
  auto ready =
    lumen::wait(std::vector<lumen::object_ref<void>>{ref}, 1, patience);
  CHECK(ready.ready.size() == 1);

  auto bad = lumen::task(tk_void_throw).remote(3);
  try {
    lumen::get(bad, patience);
    FAIL("get of a failed void task returned");
  } catch (const lumen::task_error& e) {
    CHECK(e.type_name() == "std::out_of_range");
    CHECK(e.message() == "void task got 3");
    CHECK(e.task_name() == "tk_void_throw");
  }
  // A void result read as another type is a mismatch.
  CHECK_THROWS_AS(lumen::get(ref.as<int>(), patience),
                  lumen::type_mismatch_error);
}

TEST_CASE("tasks: the num_cpus and resources and max_retries and name options",
          "[tasks]") {
  lumen::init_guard guard{
    lumen::config{.num_cpus = 2, .resources = {{"gpu", 1}, {"disk", 2.5}}}};
  CHECK(lumen::get(lumen::task(tk_add).num_cpus(0.5).remote(1, 1), patience) ==
        2);
  CHECK(lumen::get(lumen::task(tk_add).num_cpus(2).remote(1, 2), patience) ==
        3);
  CHECK(lumen::get(lumen::task(tk_add).num_cpus(0).remote(1, 3), patience) ==
        4);
  CHECK(lumen::get(lumen::task(tk_add).resources({{"gpu", 0.25}}).remote(1, 4),
                   patience) == 5);
  CHECK(lumen::get(lumen::task(tk_add)
                     .resources({{"gpu", 1}, {"disk", 2.5}})
                     .num_cpus(1.5)
                     .remote(1, 5),
                   patience) == 6);
  CHECK(lumen::get(lumen::task(tk_add).max_retries(0).remote(1, 6), patience) ==
        7);
  CHECK(lumen::get(lumen::task(tk_add).max_retries(-1).remote(1, 7),
                   patience) == 8);
  CHECK(lumen::get(lumen::task(tk_add).name("adder").remote(1, 8), patience) ==
        9);
  // All resources are back once the tasks are done.
  REQUIRE(lumen_it::await_idle());
  auto s = lumen_it::snapshot();
  CHECK(s.available == s.total);
  CHECK(s.total.at("CPU") == 2);
  CHECK(s.total.at("gpu") == 1);
  CHECK(s.total.at("disk") == 2.5);

  // One caller submits many tasks and keeps its options.
  auto caller = lumen::task(tk_add).num_cpus(0.5).name("reused");
  std::vector<lumen::object_ref<int>> refs;
  for (int i = 0; i < 20; ++i)
    refs.push_back(caller.remote(i, i));
  auto values = lumen::get(refs, patience);
  for (int i = 0; i < 20; ++i)
    CHECK(values[static_cast<std::size_t>(i)] == 2 * i);
}

TEST_CASE("tasks: the name option shows up in task_error", "[tasks][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto named = lumen::task(tk_void_throw).name("my-named-task").remote(1);
  try {
    lumen::get(named, patience);
    FAIL("no error");
  } catch (const lumen::task_error& e) {
    CHECK(e.task_name() == "my-named-task");
    CHECK_THAT(e.what(), Catch::Matchers::Contains("my-named-task"));
  }
}

TEST_CASE("tasks: max_retries does not re-run a task whose code threw",
          "[tasks][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  tk_calls = 0;
  auto ref = lumen::task(tk_throw_counted).max_retries(5).remote(0);
  CHECK_THROWS_AS(lumen::get(ref, patience), lumen::task_error);
  REQUIRE(lumen_it::await_idle());
  CHECK(tk_calls == 1);
}

TEST_CASE("tasks: invalid options are rejected at submission",
          "[tasks][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto nan = std::numeric_limits<double>::quiet_NaN();
  auto inf = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(lumen::task(tk_add).num_cpus(-1).remote(1, 2), lumen::error);
  CHECK_THROWS_AS(lumen::task(tk_add).num_cpus(nan).remote(1, 2), lumen::error);
  CHECK_THROWS_AS(lumen::task(tk_add).num_cpus(inf).remote(1, 2), lumen::error);
  CHECK_THROWS_AS(lumen::task(tk_add).resources({{"gpu", nan}}).remote(1, 2),
                  lumen::error);
  CHECK_THROWS_AS(lumen::task(tk_add).resources({{"gpu", -0.5}}).remote(1, 2),
                  lumen::error);
  CHECK_THROWS_AS(lumen::task(tk_add).resources({{"", 1}}).remote(1, 2),
                  lumen::error);
  CHECK_THROWS_AS(lumen::task(tk_add).resources({{"CPU", 1}}).remote(1, 2),
                  lumen::error);
  CHECK_THROWS_AS(lumen::task(tk_add).remote(lumen::object_ref<int>{}, 2),
                  lumen::error);
  // Nothing was left behind, and the node still runs tasks.
  CHECK(lumen::get(lumen::task(tk_add).remote(1, 2), patience) == 3);
  REQUIRE(lumen_it::await_idle());
  CHECK(lumen_it::snapshot().infeasible == 0);
}

TEST_CASE("tasks: a task needing more than the node has stays pending",
          "[tasks][scheduling]") {
  lumen::init_guard guard{
    lumen::config{.num_cpus = 2, .resources = {{"gpu", 1}}}};
  auto too_many_gpus = lumen::task(tk_add).resources({{"gpu", 2}}).remote(1, 1);
  auto unknown = lumen::task(tk_add).resources({{"tpu", 1}}).remote(1, 2);
  auto too_many_cpus = lumen::task(tk_add).num_cpus(3).remote(1, 3);
  CHECK_THROWS_AS(lumen::get(too_many_gpus, 100ms), lumen::timeout_error);
  CHECK_THROWS_AS(lumen::get(unknown, 10ms), lumen::timeout_error);
  CHECK_THROWS_AS(lumen::get(too_many_cpus, 10ms), lumen::timeout_error);
  REQUIRE(lumen_it::eventually([] {
    return lumen_it::snapshot().infeasible == 3;
  }));
  // They hold nothing: feasible tasks run as usual.
  CHECK(lumen::get(lumen::task(tk_add).resources({{"gpu", 1}}).remote(2, 2),
                   patience) == 4);
  CHECK(lumen::get(lumen::task(tk_add).num_cpus(2).remote(2, 3), patience) ==
        5);
}

TEST_CASE("tasks: a task can return a ref to an object it put",
          "[tasks][objects]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto outer = lumen::task(tk_put_inside).remote(4);
  static_assert(
    std::is_same_v<decltype(outer), lumen::object_ref<lumen::object_ref<int>>>);
  auto inner = lumen::get(outer, patience);
  REQUIRE(inner.valid());
  CHECK(lumen::get(inner, patience) == 40);
  // The inner ref can be passed on to another task.
  CHECK(lumen::get(lumen::task(tk_add).remote(inner, 2), patience) == 42);
}

TEST_CASE("tasks: tasks submit tasks", "[tasks][nested]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  std::vector<lumen::object_ref<int>> refs;
  for (int i = 0; i < 10; ++i)
    refs.push_back(lumen::task(tk_spawn_child).remote(i));
  auto values = lumen::get(refs, patience);
  for (int i = 0; i < 10; ++i)
    CHECK(values[static_cast<std::size_t>(i)] == (i + 1) * 2);
}

TEST_CASE("tasks: an unregistered function is refused by lumen::task",
          "[tasks][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  CHECK_THROWS_AS(lumen::task(tk_never_registered),
                  lumen::function_not_found_error);
  CHECK(lumen::get(lumen::task(tk_add).remote(20, 22), patience) == 42);
}

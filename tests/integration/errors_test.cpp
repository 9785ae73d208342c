// Integration tests: errors, never crashes (issue 2, "Errors, never
// crashes"). Every failure surfaces as a lumen::error subclass at `get`, and
// the node keeps serving afterwards.

#include <atomic>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "lumen/lumen.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using lumen_it::patience;

namespace lumen_it_errors {

/// A user exception type in a named namespace.
struct disk_full : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Not derived from std::exception.
struct not_a_std_exception {
  int code = 0;
};

} // namespace lumen_it_errors

namespace {

std::atomic<int> er_calls{0};

int er_invalid(int x) {
  throw std::invalid_argument("bad value " + std::to_string(x));
}

int er_custom(int) {
  throw lumen_it_errors::disk_full("no space left");
}

int er_throw_int(int) {
  throw 42;
}

int er_throw_struct(int) {
  throw lumen_it_errors::not_a_std_exception{7};
}

int er_inc(int x) {
  ++er_calls;
  return x + 1;
}

int er_inc_ref(lumen::object_ref<int> r) {
  return lumen::get(r, patience) + 1;
}

// Reads a child's failed result without catching: the child's error flows.
int er_parent_of_failure(int x) {
  auto child = lumen::task(er_invalid).name("child").remote(x);
  return lumen::get(child, patience) + 1;
}

int er_string_len(std::string s) {
  return static_cast<int>(s.size());
}

int er_get_wrong_type(lumen::object_ref<int> r) {
  return static_cast<int>(lumen::get(r.as<std::string>(), patience).size());
}

int er_add(int a, int b) {
  return a + b;
}

} // namespace

LUMEN_REMOTE(er_invalid, er_custom, er_throw_int, er_throw_struct, er_inc,
             er_inc_ref, er_parent_of_failure, er_string_len, er_get_wrong_type,
             er_add);

namespace {

/// Runs `get(ref)` and returns the task_error it throws.
template <class T>
lumen::task_error task_error_of(const lumen::object_ref<T>& ref) {
  try {
    lumen::get(ref, patience);
  } catch (const lumen::task_error& e) {
    return e;
  }
  throw std::logic_error("get did not throw lumen::task_error");
}

/// The node runs a fresh task correctly and has all resources back.
void check_node_serves() {
  CHECK(lumen::get(lumen::task(er_add).remote(40, 2), patience) == 42);
  REQUIRE(lumen_it::await_idle());
  auto s = lumen_it::snapshot();
  CHECK(s.available == s.total);
}

} // namespace

TEST_CASE("errors: every Lumen error derives from lumen::error", "[errors]") {
  static_assert(std::is_base_of_v<std::runtime_error, lumen::error>);
  static_assert(std::is_base_of_v<lumen::error, lumen::task_error>);
  static_assert(std::is_base_of_v<lumen::error, lumen::timeout_error>);
  static_assert(
    std::is_base_of_v<lumen::error, lumen::function_not_found_error>);
  static_assert(std::is_base_of_v<lumen::error, lumen::type_mismatch_error>);
  static_assert(std::is_base_of_v<lumen::error, lumen::decode_error>);
  static_assert(
    std::is_base_of_v<lumen::error, lumen::object_store_full_error>);
  static_assert(std::is_base_of_v<lumen::error, lumen::object_lost_error>);
  static_assert(std::is_base_of_v<lumen::error, lumen::not_initialized_error>);
  static_assert(std::is_base_of_v<lumen::error, lumen::actor_died_error>);
  static_assert(std::is_base_of_v<lumen::error, lumen::actor_creation_error>);

  // And at run time, through the API: each one is caught as lumen::error.
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  CHECK_THROWS_AS(lumen::get(lumen::task(er_invalid).remote(1), patience),
                  lumen::error);
  CHECK_THROWS_AS(lumen::get(lumen::put(1).as<double>(), patience),
                  lumen::error);
  lumen::detail::task_request req;
  req.function = "er_no_such_function";
  auto missing =
    lumen::object_ref<int>(lumen::detail::runtime().submit(std::move(req)));
  CHECK_THROWS_AS(lumen::get(missing, patience), lumen::error);
  CHECK_THROWS_AS(lumen::get(lumen::object_ref<int>{}), lumen::error);
}

TEST_CASE("errors: an exception in a task makes get throw task_error",
          "[errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto e = task_error_of(lumen::task(er_invalid).remote(5));
  CHECK(e.type_name() == "std::invalid_argument");
  CHECK(e.message() == "bad value 5");
  CHECK(e.task_name() == "er_invalid");
  CHECK_THAT(e.what(), Contains("std::invalid_argument"));
  CHECK_THAT(e.what(), Contains("bad value 5"));
  CHECK_THAT(e.what(), Contains("er_invalid"));

  auto custom = task_error_of(lumen::task(er_custom).name("writer").remote(0));
  CHECK(custom.type_name() == "lumen_it_errors::disk_full");
  CHECK(custom.message() == "no space left");
  CHECK(custom.task_name() == "writer");

  // Every get of the failed object throws the same error again.
  auto ref = lumen::task(er_invalid).remote(6);
  CHECK(task_error_of(ref).message() == "bad value 6");
  CHECK(task_error_of(ref).message() == "bad value 6");
  check_node_serves();
}

TEST_CASE("errors: exceptions not derived from std::exception", "[errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto e = task_error_of(lumen::task(er_throw_int).remote(0));
  CHECK(e.type_name() == "int");
  CHECK(e.task_name() == "er_throw_int");
  CHECK_FALSE(e.message().empty());
  auto s = task_error_of(lumen::task(er_throw_struct).remote(0));
  CHECK(s.type_name() == "lumen_it_errors::not_a_std_exception");
  CHECK(s.task_name() == "er_throw_struct");
  check_node_serves();
}

TEST_CASE("errors: a failure flows through a chain of dependent tasks",
          "[errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  er_calls = 0;
  auto a = lumen::task(er_invalid).name("source").remote(9);
  auto b = lumen::task(er_inc).remote(a);
  auto c = lumen::task(er_inc).remote(b);
  auto d = lumen::task(er_inc).name("last").remote(c);
  for (auto* ref : {&b, &c, &d}) {
    auto e = task_error_of(*ref);
    CHECK(e.type_name() == "std::invalid_argument");
    CHECK(e.message() == "bad value 9");
    CHECK(e.task_name() == "source"); // the task whose code threw
  }
  // The dependents never ran: their argument never existed.
  CHECK(er_calls == 0);

  // get of a list containing a failed object throws its error.
  auto ok = lumen::task(er_inc).remote(1);
  CHECK_THROWS_AS(
    lumen::get(std::vector<lumen::object_ref<int>>{ok, c}, patience),
    lumen::task_error);
  // wait counts a failed object as ready.
  auto w = lumen::wait(std::vector<lumen::object_ref<int>>{d}, 1, patience);
  CHECK(w.ready.size() == 1);
  CHECK(w.unready.empty());
  check_node_serves();
}

TEST_CASE("errors: a ref parameter's failure surfaces where it is read",
          "[errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto failed = lumen::task(er_invalid).name("origin").remote(3);
  // The task receives the ref itself and reads it with get: the error
  // passes through the task's own get and its result.
  auto e = task_error_of(lumen::task(er_inc_ref).remote(failed));
  CHECK(e.type_name() == "std::invalid_argument");
  CHECK(e.message() == "bad value 3");
  CHECK(e.task_name() == "origin");

  // Same for a nested child read with get inside its parent.
  auto nested = task_error_of(lumen::task(er_parent_of_failure).remote(4));
  CHECK(nested.type_name() == "std::invalid_argument");
  CHECK(nested.message() == "bad value 4");
  CHECK(nested.task_name() == "child");
  check_node_serves();
}

TEST_CASE("errors: get with the wrong type throws type_mismatch_error",
          "[errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto ref = lumen::put(42);
  try {
    lumen::get(ref.as<std::string>(), patience);
    FAIL("get with the wrong type returned");
  } catch (const lumen::type_mismatch_error& e) {
    // The message names what the object holds.
    CHECK_THAT(e.what(), Contains("int"));
  }
  CHECK_THROWS_AS(lumen::get(ref.as<long>(), patience),
                  lumen::type_mismatch_error);
  CHECK_THROWS_AS(lumen::get(ref.as<unsigned>(), patience),
                  lumen::type_mismatch_error);
  CHECK_THROWS_AS(lumen::get(ref.as<std::vector<int>>(), patience),
                  lumen::type_mismatch_error);
  CHECK_THROWS_AS(
    lumen::get(std::vector<lumen::object_ref<double>>{ref.as<double>()},
               patience),
    lumen::type_mismatch_error);
  // A task's result read as the wrong type.
  auto sum = lumen::task(er_add).remote(1, 2);
  CHECK_THROWS_AS(lumen::get(sum.as<std::string>(), patience),
                  lumen::type_mismatch_error);
  // The objects themselves are fine.
  CHECK(lumen::get(ref, patience) == 42);
  CHECK(lumen::get(sum, patience) == 3);

  // A mistyped ref as a task argument fails the task with the same error.
  auto bad_arg = lumen::task(er_string_len).remote(ref.as<std::string>());
  CHECK_THROWS_AS(lumen::get(bad_arg, patience), lumen::type_mismatch_error);
  // A mistyped get inside a task, too.
  auto inner = lumen::task(er_get_wrong_type).remote(ref);
  CHECK_THROWS_AS(lumen::get(inner, patience), lumen::type_mismatch_error);
  check_node_serves();
}

TEST_CASE("errors: lumen::task on an unregistered function", "[errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  // er_unregistered is deliberately left out of LUMEN_REMOTE.
  int (*er_unregistered)(int) = [](int x) {
    return x;
  };
  CHECK_THROWS_AS(lumen::task(er_unregistered),
                  lumen::function_not_found_error);
  check_node_serves();
}

TEST_CASE("errors: a function not registered on the executing node",
          "[errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  lumen::detail::task_request req;
  req.function = "no_such_function";
  req.options.name = "ghost";
  auto ref =
    lumen::object_ref<int>(lumen::detail::runtime().submit(std::move(req)));
  try {
    lumen::get(ref, patience);
    FAIL("get of an unknown function's result returned");
  } catch (const lumen::function_not_found_error& e) {
    CHECK_THAT(e.what(), Contains("no_such_function"));
  }
  // Dependent tasks fail with the same error.
  auto dependent = lumen::task(er_inc).remote(ref);
  CHECK_THROWS_AS(lumen::get(dependent, patience),
                  lumen::function_not_found_error);

  // The right name with the wrong number of arguments is a clear error,
  // not a crash.
  lumen::detail::task_request wrong_arity;
  wrong_arity.function = "er_add";
  wrong_arity.options.name = "er_add";
  auto bad = lumen::object_ref<int>(
    lumen::detail::runtime().submit(std::move(wrong_arity)));
  CHECK_THROWS_AS(lumen::get(bad, patience), lumen::error);
  check_node_serves();
}

TEST_CASE("errors: get of an invalid ref is an error and no crash",
          "[errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  lumen::object_ref<int> none;
  CHECK_FALSE(none.valid());
  CHECK_THROWS_AS(lumen::get(none, 10ms), lumen::error);
  CHECK_THROWS_AS(lumen::get(std::vector<lumen::object_ref<int>>{none}),
                  lumen::error);
  CHECK_THROWS_AS(
    lumen::wait(std::vector<lumen::object_ref<int>>{none}, 1, 10ms),
    lumen::error);
  check_node_serves();
}

TEST_CASE("errors: the node keeps serving through a mix of failures",
          "[errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  std::vector<lumen::object_ref<int>> good;
  std::vector<lumen::object_ref<int>> bad;
  for (int i = 0; i < 50; ++i) {
    good.push_back(lumen::task(er_add).remote(i, 1));
    bad.push_back(i % 3 == 0   ? lumen::task(er_invalid).remote(i)
                  : i % 3 == 1 ? lumen::task(er_throw_int).remote(i)
                               : lumen::task(er_inc).remote(
                                   lumen::task(er_custom).remote(i)));
  }
  auto values = lumen::get(good, patience);
  for (int i = 0; i < 50; ++i)
    CHECK(values[static_cast<std::size_t>(i)] == i + 1);
  for (auto& ref : bad)
    CHECK_THROWS_AS(lumen::get(ref, patience), lumen::task_error);
  check_node_serves();
}

// Unit tests of error objects made from caught exceptions
// (src/scheduling/task_errors.hpp) and of turning them back into exceptions
// (throw_error, src/api/errors.cpp).
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <typeinfo>

#include "lumen/detail/object_data.hpp"
#include "lumen/error.hpp"
#include "objects/object_table.hpp"
#include "scheduling/task_errors.hpp"

using namespace lumen;
using namespace lumen::detail;

namespace runtime_task_errors_test {

/// Not derived from std::exception.
struct not_std {
  int code = 0;
};

/// Derived from std::exception, in a namespace.
class custom_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

} // namespace runtime_task_errors_test

namespace {

/// The error object for `ex`, thrown and caught.
template <class Exception>
object_ptr error_for(const Exception& ex,
                     const std::string& task_name = "the_task") {
  try {
    throw ex;
  } catch (...) {
    return error_from_current_exception(task_name);
  }
}

/// The exception throw_error raises for `info`, rethrown as a pointer.
std::exception_ptr thrown_by(const error_info& info) {
  try {
    throw_error(info);
  } catch (...) {
    return std::current_exception();
  }
  return nullptr; // unreachable: throw_error is [[noreturn]]
}

error_info info_of(error_kind kind, std::string message,
                   std::string type_name = {}, std::string task_name = {}) {
  error_info result;
  result.kind = kind;
  result.message = std::move(message);
  result.type_name = std::move(type_name);
  result.task_name = std::move(task_name);
  return result;
}

} // namespace

// -- error_from_current_exception --------------------------------------------

TEST_CASE("task_errors: a std exception becomes task_failed with its "
          "demangled type",
          "[runtime][task_errors]") {
  auto obj = error_for(std::invalid_argument{"bad input"}, "parse");
  REQUIRE(obj);
  REQUIRE(obj->error);
  CHECK(obj->bytes.empty());
  CHECK(obj->error->kind == error_kind::task_failed);
  CHECK(obj->error->type_name == "std::invalid_argument");
  CHECK(obj->error->message == "bad input");
  CHECK(obj->error->task_name == "parse");

  auto custom =
    error_for(runtime_task_errors_test::custom_failure{"custom"}, "t");
  CHECK(custom->error->kind == error_kind::task_failed);
  CHECK(custom->error->type_name == "runtime_task_errors_test::custom_failure");
  CHECK(custom->error->message == "custom");
}

TEST_CASE("task_errors: a rethrown task_error keeps its original fields",
          "[runtime][task_errors]") {
  auto obj = error_for(task_error{"my::oops", "deep failure", "inner_task"},
                       "outer_task");
  REQUIRE(obj->error);
  CHECK(obj->error->kind == error_kind::task_failed);
  CHECK(obj->error->type_name == "my::oops");
  CHECK(obj->error->message == "deep failure");
  CHECK(obj->error->task_name == "inner_task");
}

TEST_CASE("task_errors: lumen errors keep their kind",
          "[runtime][task_errors]") {
  struct expectation {
    object_ptr obj;
    error_kind kind;
    const char* type_name;
    const char* message;
  };
  const expectation cases[] = {
    {error_for(function_not_found_error{"no f"}),
     error_kind::function_not_found, "lumen::function_not_found_error", "no f"},
    {error_for(type_mismatch_error{"not int"}), error_kind::type_mismatch,
     "lumen::type_mismatch_error", "not int"},
    {error_for(object_lost_error{"gone"}), error_kind::object_lost,
     "lumen::object_lost_error", "gone"},
    {error_for(object_store_full_error{"full"}), error_kind::store_full,
     "lumen::object_store_full_error", "full"},
    {error_for(actor_died_error{"dead"}), error_kind::actor_died,
     "lumen::actor_died_error", "dead"},
    {error_for(actor_creation_error{"no ctor"}), error_kind::actor_creation,
     "lumen::actor_creation_error", "no ctor"},
  };
  for (auto& c : cases) {
    INFO(c.type_name);
    REQUIRE(c.obj->error);
    CHECK(c.obj->error->kind == c.kind);
    CHECK(c.obj->error->type_name == c.type_name);
    CHECK(c.obj->error->message == c.message);
    CHECK(c.obj->error->task_name == "the_task");
  }
}

// Regression (fixed): error_from_current_exception
// (src/scheduling/task_errors.cpp) has no catch clause for a plain
// lumen::error, so it falls into the `std::exception` clause and becomes
// task_failed. The header promises that Lumen errors keep their kind; a plain
// lumen::error is what throw_error raises for error_kind::runtime_error (e.g.
// the "lumen was shut down" error objects), so a task that lets such an error
// escape turns it into a task_error at the driver instead of a lumen::error.
TEST_CASE("task_errors: a plain lumen::error keeps the runtime_error kind",
          "[runtime][task_errors]") {
  auto obj = error_for(lumen::error{"shut down"});
  REQUIRE(obj->error);
  CHECK(obj->error->message == "shut down");
  CHECK(obj->error->kind == error_kind::runtime_error);
}

TEST_CASE("task_errors: other lumen errors without a kind become "
          "task_failed",
          "[runtime][task_errors]") {
  auto timeout = error_for(timeout_error{"slow"});
  CHECK(timeout->error->kind == error_kind::task_failed);
  CHECK(timeout->error->type_name == "lumen::timeout_error");
  CHECK(timeout->error->message == "slow");
  auto decode = error_for(decode_error{"corrupt"});
  CHECK(decode->error->kind == error_kind::task_failed);
  CHECK(decode->error->type_name == "lumen::decode_error");
}

TEST_CASE("task_errors: an exception not derived from std::exception",
          "[runtime][task_errors]") {
  auto obj = error_for(runtime_task_errors_test::not_std{7}, "odd");
  REQUIRE(obj->error);
  CHECK(obj->error->kind == error_kind::task_failed);
  CHECK(obj->error->type_name == "runtime_task_errors_test::not_std");
  CHECK(obj->error->message == "exception not derived from std::exception");
  CHECK(obj->error->task_name == "odd");

  auto number = error_for(42);
  CHECK(number->error->kind == error_kind::task_failed);
  CHECK(number->error->type_name == "int");

  auto text = error_for("a C string");
  CHECK(text->error->kind == error_kind::task_failed);
  CHECK(text->error->type_name == "char const*");
}

TEST_CASE("task_errors: current_exception_type_name",
          "[runtime][task_errors]") {
  CHECK(current_exception_type_name() == "unknown"); // nothing in flight
  std::string inside;
  try {
    throw std::out_of_range{"x"};
  } catch (...) {
    inside = current_exception_type_name();
  }
  CHECK(inside == "std::out_of_range");
  try {
    throw object_lost_error{"x"};
  } catch (const std::exception&) {
    inside = current_exception_type_name(); // the dynamic type
  }
  CHECK(inside == "lumen::object_lost_error");
}

// -- throw_error
// ---------------------------------------------------------------

TEST_CASE("throw_error: each kind throws its exception class",
          "[runtime][task_errors][throw_error]") {
  CHECK_THROWS_AS(throw_error(info_of(error_kind::function_not_found, "m")),
                  function_not_found_error);
  CHECK_THROWS_AS(throw_error(info_of(error_kind::type_mismatch, "m")),
                  type_mismatch_error);
  CHECK_THROWS_AS(throw_error(info_of(error_kind::object_lost, "m")),
                  object_lost_error);
  CHECK_THROWS_AS(throw_error(info_of(error_kind::store_full, "m")),
                  object_store_full_error);
  CHECK_THROWS_AS(throw_error(info_of(error_kind::actor_died, "m")),
                  actor_died_error);
  CHECK_THROWS_AS(throw_error(info_of(error_kind::actor_creation, "m")),
                  actor_creation_error);
  CHECK_THROWS_AS(throw_error(info_of(error_kind::task_failed, "m")),
                  task_error);
  CHECK_THROWS_AS(throw_error(info_of(error_kind::runtime_error, "m")),
                  lumen::error);
}

TEST_CASE("throw_error: messages survive and the kinds do not overlap",
          "[runtime][task_errors][throw_error]") {
  const error_kind plain_kinds[] = {
    error_kind::function_not_found, error_kind::type_mismatch,
    error_kind::object_lost,        error_kind::store_full,
    error_kind::actor_died,         error_kind::actor_creation,
    error_kind::runtime_error,
  };
  for (auto kind : plain_kinds) {
    INFO("kind " << static_cast<int>(kind));
    auto ex = thrown_by(info_of(kind, "the message"));
    REQUIRE(ex);
    try {
      std::rethrow_exception(ex);
    } catch (const task_error&) {
      FAIL("only task_failed may become a task_error");
    } catch (const lumen::error& e) {
      CHECK(std::string{e.what()} == "the message");
      // Exactly one class per kind: the dynamic type is the mapped one.
      bool is_base = typeid(e) == typeid(lumen::error);
      CHECK(is_base == (kind == error_kind::runtime_error));
    }
  }
}

TEST_CASE("throw_error: task_failed becomes a task_error with every field",
          "[runtime][task_errors][throw_error]") {
  try {
    throw_error(
      info_of(error_kind::task_failed, "boom", "std::logic_error", "job"));
    FAIL("throw_error returned");
  } catch (const task_error& e) {
    CHECK(e.type_name() == "std::logic_error");
    CHECK(e.message() == "boom");
    CHECK(e.task_name() == "job");
    CHECK(std::string{e.what()} ==
          "task 'job' failed with std::logic_error: boom");
  }
}

TEST_CASE("throw_error: an unknown kind throws lumen::error",
          "[runtime][task_errors][throw_error]") {
  auto ex = thrown_by(info_of(static_cast<error_kind>(200), "strange"));
  try {
    std::rethrow_exception(ex);
  } catch (const lumen::error& e) {
    CHECK(typeid(e) == typeid(lumen::error));
    CHECK(std::string{e.what()} == "strange");
  }
}

TEST_CASE("task_errors: error objects round-trip through throw_error",
          "[runtime][task_errors][throw_error]") {
  const error_kind kinds[] = {
    error_kind::task_failed,    error_kind::function_not_found,
    error_kind::type_mismatch,  error_kind::object_lost,
    error_kind::store_full,     error_kind::actor_died,
    error_kind::actor_creation,
  };
  for (auto kind : kinds) {
    INFO("kind " << static_cast<int>(kind));
    auto original = make_error_object(kind, "why", "some::type", "first_task");
    object_ptr again;
    try {
      throw_error(*original->error);
    } catch (...) {
      again = error_from_current_exception("second_task");
    }
    REQUIRE(again);
    REQUIRE(again->error);
    CHECK(again->error->kind == kind);
    CHECK(again->error->message == "why");
    if (kind == error_kind::task_failed) {
      CHECK(again->error->type_name == "some::type");
      CHECK(again->error->task_name == "first_task");
    } else {
      CHECK(again->error->task_name == "second_task");
    }
  }
}

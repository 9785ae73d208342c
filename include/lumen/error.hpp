// The exceptions Lumen throws at its user edge. Every one derives from
// `lumen::error`, itself a `std::runtime_error`.
//
// Retry guidance: `timeout_error` may succeed when retried with a longer
// timeout; `object_store_full_error` may succeed once references are
// dropped; the others describe a result that will not change.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace lumen {

/// Base of every Lumen exception.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A task (or a task it depended on) threw. Carries the original exception's
/// type name and message and the name of the task that threw it.
class task_error : public error {
 public:
  task_error(std::string type_name, std::string message, std::string task_name)
    : error("task '" + task_name + "' failed with " + type_name + ": " +
            message),
      type_name_(std::move(type_name)), message_(std::move(message)),
      task_name_(std::move(task_name)) {}

  /// Demangled type of the exception thrown by user code.
  const std::string& type_name() const noexcept {
    return type_name_;
  }

  /// `what()` of the exception thrown by user code.
  const std::string& message() const noexcept {
    return message_;
  }

  /// Name of the task whose code threw.
  const std::string& task_name() const noexcept {
    return task_name_;
  }

 private:
  std::string type_name_;
  std::string message_;
  std::string task_name_;
};

/// A `get` or `wait` ran past its timeout; the object may still arrive.
class timeout_error : public error {
 public:
  using error::error;
};

/// No function (or actor method) is registered under the requested name on
/// the node that was asked to run it.
class function_not_found_error : public error {
 public:
  using error::error;
};

/// An object holds a value of another type than the one asked for.
class type_mismatch_error : public error {
 public:
  using error::error;
};

/// Bytes could not be decoded (truncated, corrupt or of another format).
class decode_error : public error {
 public:
  using error::error;
};

/// The object store cannot take the object: no room left.
class object_store_full_error : public error {
 public:
  using error::error;
};

/// The object's every copy is gone and it cannot be rebuilt.
class object_lost_error : public error {
 public:
  using error::error;
};

/// Lumen is not running: call `lumen::init` first (or it was shut down).
class not_initialized_error : public error {
 public:
  using error::error;
};

/// The actor is dead and will not be restarted.
class actor_died_error : public error {
 public:
  using error::error;
};

/// The object's owner (the process that created it: the caller of `put`,
/// or the submitter of the task that returns it) died before this process
/// had its value; as in Ray, a borrower's `get` fails rather than waiting.
class owner_died_error : public error {
 public:
  using error::error;
};

/// The actor's factory threw, so it never came to life.
class actor_creation_error : public error {
 public:
  using error::error;
};

namespace detail {

/// The name asked for an actor is taken in its namespace (what
/// get_if_exists() looks for; users see a lumen::error).
class name_taken_error : public error {
 public:
  using error::error;
};

} // namespace detail

/// A call to an actor made with max_pending_calls(n) while n of this
/// process's calls to it are unanswered: thrown by `remote()`, nothing is
/// sent.
class pending_calls_exceeded_error : public error {
 public:
  using error::error;
};

} // namespace lumen

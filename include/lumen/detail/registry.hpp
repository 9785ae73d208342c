// The process-wide table of remote functions, keyed by name and by pointer.
//
// Filled by LUMEN_REMOTE at static-initialization time, in the driver and
// in every shared library a node loads, so that the same name finds the
// same code everywhere.
//
// Thread safety: registration and look-ups may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lumen/detail/object_data.hpp"

namespace lumen::detail {

/// Decodes the arguments, calls the function and encodes its result. Runs on
/// a worker thread; exceptions propagate to the caller (the executor).
using invoke_fn = object_data (*)(const std::vector<object_ptr>& args);

/// Decodes the arguments and runs an actor factory; the result owns the new
/// instance and deletes it as its class.
using create_fn = std::shared_ptr<void> (*)(const std::vector<object_ptr>&);

/// Decodes the arguments and calls a member function on `self`.
using method_fn = object_data (*)(void* self,
                                  const std::vector<object_ptr>& args);

/// Where an async method's outcome goes: its encoded result, or (null
/// result) the exception that ended it. Called exactly once.
using async_done_fn =
  std::function<void(object_data* result, std::exception_ptr error)>;

/// Decodes the arguments and starts a coroutine method (lumen::async<T>)
/// on `self`; `done` runs when it ends, in the thread that ends it.
/// Throws (without calling `done`) if the arguments do not decode.
using async_method_fn = void (*)(void* self,
                                 const std::vector<object_ptr>& args,
                                 async_done_fn done);

/// What a registered name stands for.
enum class function_kind : std::uint8_t {
  free_function,
  actor_factory,
  actor_method,
};

/// What the registry knows about one function.
struct function_entry {
  std::string name;
  function_kind kind = function_kind::free_function;
  /// Set for free functions.
  invoke_fn invoke = nullptr;
  /// Set for actor factories.
  create_fn create = nullptr;
  /// Set for actor methods.
  method_fn method = nullptr;
  /// Set instead of `method` for coroutine methods (lumen::async<T>).
  async_method_fn async_method = nullptr;
  std::size_t arity = 0;
  /// Fingerprint of the actor class (factories and methods), else 0.
  std::uint64_t class_hash = 0;
};

/// Registers `entry` under its name and under `pointer_key`. Registering
/// a name again is a no-op for the name (a library loaded twice, or one
/// that shares code with the driver); a new pointer under a known name
/// becomes another key for the first entry, so the first registration wins.
void register_function(function_entry entry, std::string pointer_key);

/// The entry registered under `name`, or nullptr.
const function_entry* find_function(std::string_view name);

/// The entry registered for a function pointer, or nullptr.
const function_entry* find_function_by_key(const std::string& pointer_key);

/// Marks the actor class `class_hash` as async: it has a coroutine method
/// (lumen/async.hpp), so its calls run as coroutines on one thread.
void mark_async_class(std::uint64_t class_hash);

/// Whether a coroutine method of the class was registered in this process.
bool is_async_class(std::uint64_t class_hash);

/// Splits the text of LUMEN_REMOTE's arguments at top-level commas and
/// turns each into a name: `&Counter::add` becomes `Counter::add`.
std::vector<std::string> split_remote_names(std::string_view text);

} // namespace lumen::detail

// The process-wide table of remote functions, keyed by name and by pointer.
//
// Filled by LUMEN_REMOTE at static-initialization time, in the driver and
// in every shared library a node loads, so that the same name finds the
// same code everywhere.
//
// Thread safety: registration and look-ups may run concurrently.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "lumen/detail/object_data.hpp"

namespace lumen::detail {

/// Decodes the arguments, calls the function and encodes its result. Runs on
/// a worker thread; exceptions propagate to the caller (the executor).
using invoke_fn = object_data (*)(const std::vector<object_ptr>& args);

/// What the registry knows about one function.
struct function_entry {
  std::string name;
  invoke_fn invoke = nullptr;
  std::size_t arity = 0;
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

/// Splits the text of LUMEN_REMOTE's arguments at top-level commas and
/// turns each into a name: `&Counter::add` becomes `Counter::add`.
std::vector<std::string> split_remote_names(std::string_view text);

} // namespace lumen::detail

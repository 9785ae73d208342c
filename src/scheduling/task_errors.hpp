// Turning an exception caught around user code into an error object.
//
// Thread safety: pure functions.
#pragma once

#include <string>

#include "lumen/detail/object_data.hpp"

namespace lumen::detail {

/// The error object for the exception being handled: a task_error keeps
/// its original type, message and task (so a failure deep in a task tree
/// reaches the driver unchanged), other Lumen errors keep their kind, and
/// anything else becomes task_failed with the demangled exception type.
/// Call only inside a catch block.
object_ptr error_from_current_exception(const std::string& task_name);

/// Demangled name of the exception being handled, or "unknown".
std::string current_exception_type_name();

} // namespace lumen::detail

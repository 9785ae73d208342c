// The names task(f).retry_exceptions<E1, E2>() lists: demangled type
// names, as error objects carry them for the exception a task threw.
//
// Thread safety: a pure function.
#pragma once

#include <string>
#include <typeinfo>

namespace lumen::detail {

/// The demangled name of `type` (e.g. "std::runtime_error").
std::string exception_type_name(const std::type_info& type);

} // namespace lumen::detail

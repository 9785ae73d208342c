// The demangled names of exception types (lumen/detail/exception_names.hpp),
// the same as scheduling/task_errors.cpp gives the thrown exception.
#include "lumen/detail/exception_names.hpp"

#include <cstdlib>
#include <cxxabi.h>
#include <memory>

namespace lumen::detail {

std::string exception_type_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name{
    abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free};
  return status == 0 && name ? std::string{name.get()}
                             : std::string{type.name()};
}

} // namespace lumen::detail

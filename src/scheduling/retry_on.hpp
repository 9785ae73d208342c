// Which exceptions a task with retry_exceptions runs again for
// (task(f).retry_exceptions<E1, E2>()): the demangled names of the listed
// types, matched exactly against the type its code threw (the names are
// those error objects carry, see task_errors.hpp).
//
// Thread safety: a pure function.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "lumen/detail/object_data.hpp"

namespace lumen::detail {

/// Whether a call that threw, with error object `result`, is retried under
/// `types` (empty: every type).
inline bool retried_type(const std::vector<std::string>& types,
                         const object_ptr& result) {
  if (types.empty())
    return true;
  if (!result || !result->error)
    return false;
  return std::find(types.begin(), types.end(), result->error->type_name) !=
         types.end();
}

} // namespace lumen::detail

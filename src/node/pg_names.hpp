// How a placement group's name and namespace are stored in the GCS: one
// string, the namespace in front (see embedded_runtime_context.cpp).
//
// Thread safety: pure functions.
#pragma once

#include <string>

#include "lumen/error.hpp"

namespace lumen::detail {

/// Separates the namespace from the name.
inline constexpr char pg_ns_separator = '\x1f';

/// The GCS's name of group `name` in `ns` ("" for an unnamed group);
/// throws lumen::error for a name or namespace holding the separator.
inline std::string pg_name_key(const std::string& ns, const std::string& name) {
  if (name.empty())
    return {};
  if (name.find(pg_ns_separator) != std::string::npos ||
      ns.find(pg_ns_separator) != std::string::npos)
    throw error("placement group name and namespace may not hold the "
                "character 0x1f");
  return ns.empty() ? name : ns + pg_ns_separator + name;
}

} // namespace lumen::detail

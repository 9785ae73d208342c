// Compile-time type names and their 64-bit fingerprints.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace lumen::detail {

/// The readable name of `T` as GCC and Clang spell it, e.g. `std::string`
/// comes out as `std::__cxx11::basic_string<char>`. Stable for one compiler,
/// which is what nodes of one build share.
template <class T>
constexpr std::string_view type_name() noexcept {
  std::string_view p = __PRETTY_FUNCTION__;
  auto start = p.find("T = ") + 4;
  auto end = p.find_first_of(";]", start);
  return p.substr(start, end - start);
}

/// FNV-1a over `s`.
constexpr std::uint64_t fnv1a(std::string_view s) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

/// Fingerprint stored in front of every encoded object, checked by `get`.
template <class T>
constexpr std::uint64_t type_hash() noexcept {
  return fnv1a(type_name<T>());
}

} // namespace lumen::detail

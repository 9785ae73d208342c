// The lineage stash's row keys in RocksDB: "lineage/" and the task id's
// 16 raw bytes (big-endian halves), so rows sort by id. Used by the stash
// (stash.cpp) and by the adoption of orphaned stashes (stash_orphans.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lumen/ids.hpp"

namespace lumen::detail {

inline constexpr std::string_view stash_key_prefix = "lineage/";

/// The row key of `id`.
inline std::string stash_key_of(const task_id& id) {
  std::string k{stash_key_prefix};
  for (auto half : {id.hi, id.lo})
    for (int shift = 56; shift >= 0; shift -= 8)
      k.push_back(static_cast<char>((half >> shift) & 0xff));
  return k;
}

/// The id a row key names, or nothing if `key` is not a row key.
inline std::optional<task_id> stash_id_of(std::string_view key) {
  if (key.size() != stash_key_prefix.size() + 16)
    return std::nullopt;
  task_id id;
  auto* p = reinterpret_cast<const unsigned char*>(key.data()) +
            stash_key_prefix.size();
  for (int i = 0; i < 8; ++i)
    id.hi = (id.hi << 8) | p[i];
  for (int i = 8; i < 16; ++i)
    id.lo = (id.lo << 8) | p[i];
  return id;
}

} // namespace lumen::detail

// Little-endian 32-bit sizes inside byte strings: the row sizes of lineage
// batches (lineage_batch.hpp) and the frame sizes of call and result
// batches (frames.hpp).
//
// Thread safety: free functions without shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lumen::detail {

/// Writes `n` (below 2^32; callers check) little-endian into out[0..4).
inline void store_le_u32(char* out, std::size_t n) {
  for (int i = 0; i < 4; ++i)
    out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
}

/// The little-endian u32 at `pos` of `s`, if four bytes are there.
inline std::optional<std::size_t> load_le_u32(std::string_view s,
                                              std::size_t pos) {
  if (pos > s.size() || s.size() - pos < 4)
    return std::nullopt;
  std::uint32_t n = 0;
  for (std::size_t i = 4; i-- > 0;)
    n = (n << 8) | static_cast<unsigned char>(s[pos + i]);
  return n;
}

} // namespace lumen::detail

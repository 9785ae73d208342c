// Several wire messages in one byte string: what an actor's forwarder
// sends the node hosting the actor (a batch of calls) and what comes back
// (a batch of results), so that a burst of calls costs a few middleman
// messages instead of one each way per call.
//
// Frames follow each other without padding: `[u32 size][bytes]`, size
// little-endian. Reading treats the bytes as untrusted: a size that runs
// past the end throws decode_error before any frame is handed out.
//
// Thread safety: free functions without shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lumen/error.hpp"

namespace lumen::detail {

/// Appends `frame` to `out`. Throws lumen::error if it is 4 GiB or more.
inline void append_frame(std::vector<char>& out, std::string_view frame) {
  if (frame.size() > UINT32_MAX)
    throw error("a frame of " + std::to_string(frame.size()) +
                " bytes does not fit a 32-bit size");
  auto n = static_cast<std::uint32_t>(frame.size());
  char size[4] = {static_cast<char>(n & 0xff), static_cast<char>(n >> 8),
                  static_cast<char>(n >> 16), static_cast<char>(n >> 24)};
  out.insert(out.end(), size, size + 4);
  out.insert(out.end(), frame.begin(), frame.end());
}

/// The frames of `bytes`, in order, viewing `bytes`. Throws decode_error
/// (naming `what`) if a size is cut off or runs past the end.
inline std::vector<std::string_view>
split_frames(const std::vector<char>& bytes, const char* what) {
  std::vector<std::string_view> frames;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < 4)
      throw decode_error(std::string{what} + ": a frame size is cut off at " +
                         std::to_string(pos));
    auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
    std::size_t n = std::size_t{p[0]} | std::size_t{p[1]} << 8 |
                    std::size_t{p[2]} << 16 | std::size_t{p[3]} << 24;
    pos += 4;
    if (n > bytes.size() - pos)
      throw decode_error(std::string{what} + ": a frame of " +
                         std::to_string(n) + " bytes at " +
                         std::to_string(pos) + " runs past the end (" +
                         std::to_string(bytes.size()) + " bytes)");
    frames.emplace_back(bytes.data() + pos, n);
    pos += n;
  }
  return frames;
}

} // namespace lumen::detail

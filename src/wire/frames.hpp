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
#include "wire/le_u32.hpp"

namespace lumen::detail {

/// Appends `frame` to `out`. Throws lumen::error if it is 4 GiB or more.
inline void append_frame(std::vector<char>& out, std::string_view frame) {
  if (frame.size() > UINT32_MAX)
    throw error("a frame of " + std::to_string(frame.size()) +
                " bytes does not fit a 32-bit size");
  char size[4];
  store_le_u32(size, frame.size());
  out.insert(out.end(), size, size + 4);
  out.insert(out.end(), frame.begin(), frame.end());
}

/// The frames of `bytes`, in order, viewing `bytes`. Throws decode_error
/// (naming `what`) if a size is cut off or runs past the end.
inline std::vector<std::string_view>
split_frames(const std::vector<char>& bytes, const char* what) {
  std::vector<std::string_view> frames;
  std::string_view all{bytes.data(), bytes.size()};
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    auto size = load_le_u32(all, pos);
    if (!size)
      throw decode_error(std::string{what} + ": a frame size is cut off at " +
                         std::to_string(pos));
    auto n = *size;
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

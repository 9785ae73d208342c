// Helpers shared by the fuzz targets in tests/fuzz: a failed property stops
// the run (libFuzzer saves the input), references made without a runtime,
// and a splitter that turns one input into several byte strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unistd.h>

#include "lumen/detail/byte_buffer.hpp"
#include "lumen/detail/object_data.hpp"
#include "lumen/ids.hpp"

namespace lumen::fuzz {

/// Aborts (a crash libFuzzer reports with its input) unless `ok`.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz property failed: %s\n", what);
    std::abort();
  }
}

inline bool same_bytes(const detail::byte_buffer& x,
                       const detail::byte_buffer& y) {
  return x.size() == y.size() &&
         (x.size() == 0 || std::memcmp(x.data(), y.data(), x.size()) == 0);
}

/// A counted reference to `id` that belongs to no table (as spec_deps
/// makes them): decoders get one for every id they read.
inline detail::ref_ptr free_ref(const object_id& id) {
  auto* h = new detail::ref_header;
  h->id = id;
  h->on_zero = [](detail::ref_header* p) noexcept {
    delete p;
  };
  return detail::ref_ptr::adopt(h);
}

/// Cuts an input into byte strings: each starts with a 16-bit big-endian
/// length; the last one takes what is left.
class splitter {
 public:
  splitter(const std::uint8_t* data, std::size_t size)
    : pos_(reinterpret_cast<const char*>(data)), end_(pos_ + size) {}

  bool done() const noexcept {
    return pos_ == end_;
  }

  /// The next byte, or 0 at the end.
  std::uint8_t byte() {
    if (pos_ == end_)
      return 0;
    return static_cast<std::uint8_t>(*pos_++);
  }

  std::string_view next() {
    auto left = static_cast<std::size_t>(end_ - pos_);
    if (left < 2) {
      auto all = std::string_view{pos_, left};
      pos_ = end_;
      return all;
    }
    auto n =
      (static_cast<std::size_t>(static_cast<unsigned char>(pos_[0])) << 8) |
      static_cast<unsigned char>(pos_[1]);
    pos_ += 2;
    left -= 2;
    if (n > left)
      n = left;
    std::string_view result{pos_, n};
    pos_ += n;
    return result;
  }

 private:
  const char* pos_;
  const char* end_;
};

/// Appends `s` as splitter::next reads it (for the corpus tool).
inline void put_piece(std::string& out, std::string_view s) {
  out.push_back(static_cast<char>((s.size() >> 8) & 0xff));
  out.push_back(static_cast<char>(s.size() & 0xff));
  out.append(s.data(), s.size());
}

/// A fresh directory `$TMPDIR/<name>-XXXXXX` (/tmp without TMPDIR), e.g.
/// TMPDIR=/dev/shm for a faster long run; aborts if it cannot be made.
inline std::string scratch_dir(const char* name) {
  const char* root = std::getenv("TMPDIR");
  std::string tmpl =
    std::string{root != nullptr && *root != '\0' ? root : "/tmp"} + "/" + name +
    "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::fprintf(stderr, "fuzz: cannot create %s\n", tmpl.c_str());
    std::abort();
  }
  return tmpl;
}

} // namespace lumen::fuzz

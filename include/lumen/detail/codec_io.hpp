// The writer and reader that `lumen::codec<T>` specializations work on.
//
// Format: native byte order (nodes of one cluster share an architecture),
// lengths as 64-bit unsigned integers, arrays of arithmetic values aligned
// to their alignment relative to the buffer start so that decoding can copy
// them in one pass. Every read is bounds-checked and throws
// `lumen::decode_error` on truncated or inconsistent input.
//
// Thread safety: one writer or reader per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "lumen/detail/object_data.hpp"
#include "lumen/error.hpp"

namespace lumen::detail {

/// Appends encoded values to an object's bytes and collects the object
/// references they contain.
class writer {
 public:
  explicit writer(object_data& out) noexcept : out_(out) {}

  /// Appends `n` uninitialized bytes and returns where they start.
  char* grow(std::size_t n) {
    return out_.bytes.grow(n);
  }

  void write(const void* p, std::size_t n) {
    out_.bytes.append(p, n);
  }

  template <class T>
  void write_pod(const T& x) {
    static_assert(std::is_trivially_copyable_v<T>);
    std::memcpy(grow(sizeof(T)), &x, sizeof(T));
  }

  void write_size(std::size_t n) {
    write_pod(static_cast<std::uint64_t>(n));
  }

  /// Pads with zeros until the size is a multiple of `alignment`.
  void align(std::size_t alignment) {
    auto pad = (alignment - out_.bytes.size() % alignment) % alignment;
    if (pad > 0)
      std::memset(grow(pad), 0, pad);
  }

  /// Records that the value being written contains a reference to `r`.
  void add_ref(const ref_ptr& r) {
    out_.refs.push_back(r);
  }

  std::size_t size() const noexcept {
    return out_.bytes.size();
  }

 private:
  object_data& out_;
};

/// Reads encoded values from an object's bytes.
class reader {
 public:
  reader(const char* data, std::size_t size) noexcept
    : begin_(data), pos_(data), end_(data + size) {}

  explicit reader(const object_data& obj) noexcept
    : reader(obj.bytes.data(), obj.bytes.size()) {}

  /// Returns the next `n` bytes and moves past them.
  const char* take(std::size_t n) {
    if (n > remaining())
      throw decode_error("truncated input: need " + std::to_string(n) +
                         " bytes, " + std::to_string(remaining()) + " left");
    auto* result = pos_;
    pos_ += n;
    return result;
  }

  void read(void* p, std::size_t n) {
    std::memcpy(p, take(n), n);
  }

  template <class T>
  T read_pod() {
    static_assert(std::is_trivially_copyable_v<T>);
    T x;
    std::memcpy(&x, take(sizeof(T)), sizeof(T));
    return x;
  }

  /// Reads a length and checks that at least `n * min_element_size` bytes
  /// follow, so a corrupt length cannot trigger a huge allocation.
  std::size_t read_size(std::size_t min_element_size) {
    auto n = read_pod<std::uint64_t>();
    if (min_element_size > 0 && n > remaining() / min_element_size)
      throw decode_error("length field " + std::to_string(n) +
                         " exceeds the remaining input");
    return static_cast<std::size_t>(n);
  }

  void align(std::size_t alignment) {
    auto offset = static_cast<std::size_t>(pos_ - begin_);
    take((alignment - offset % alignment) % alignment);
  }

  std::size_t remaining() const noexcept {
    return static_cast<std::size_t>(end_ - pos_);
  }

  bool at_end() const noexcept {
    return pos_ == end_;
  }

 private:
  const char* begin_;
  const char* pos_;
  const char* end_;
};

} // namespace lumen::detail

// IDX files: the array format of MNIST and Fashion-MNIST.
//
//   lumen::data::idx_array a =
//     lumen::data::read_idx("/usr/share/datasets/fashion-mnist/"
//                           "t10k-labels-idx1-ubyte.gz");
//   const std::uint8_t* labels = a.as<std::uint8_t>();   // a.dims == {10000}
//
// An IDX file holds one n-dimensional array: two zero bytes, a type byte,
// the number of dimensions, each dimension as a big-endian 32-bit count,
// then the elements in row-major order, big-endian. Files may be gzip
// compressed (zlib decompresses them; a plain file is read as is).
//
// Thread safety: free functions without shared state; an idx_array is a
// plain value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "lumen/data/dataset_error.hpp"

namespace lumen::data {

/// Element type of an IDX array (the third byte of the file).
enum class idx_type : std::uint8_t {
  u8 = 0x08,
  i8 = 0x09,
  i16 = 0x0B,
  i32 = 0x0C,
  f32 = 0x0D,
  f64 = 0x0E,
};

/// Bytes per element of `t`.
std::size_t idx_type_size(idx_type t);

/// The idx_type of C++ type T (unsigned char, signed char, int16_t,
/// int32_t, float, double).
template <class T>
constexpr idx_type idx_type_of();

/// One IDX array, elements converted to host byte order.
struct idx_array {
  idx_type type = idx_type::u8;
  /// Dimensions, outermost first (e.g. {60000, 28, 28} for images).
  std::vector<std::size_t> dims{};
  /// The elements, row-major, in host byte order.
  std::vector<std::uint8_t> bytes{};

  /// Number of elements: the product of `dims`.
  std::size_t size() const noexcept {
    return bytes.size() / idx_type_size(type);
  }

  /// The elements as T; throws dataset_error if `type` is not T's.
  template <class T>
  const T* as() const {
    if (type != idx_type_of<T>())
      throw dataset_error("idx_array::as: the array holds another element "
                          "type than asked for");
    return reinterpret_cast<const T*>(bytes.data());
  }
};

/// Reads the IDX file at `path`, gzip-compressed or plain. Throws
/// dataset_error naming the file if it cannot be read, is not IDX, is
/// truncated or has bytes past the array.
idx_array read_idx(const std::string& path);

/// Parses an IDX array from `size` bytes at `data`; `what` names the source
/// in error messages.
idx_array parse_idx(const std::uint8_t* data, std::size_t size,
                    const std::string& what);

/// The whole content of `path`, decompressed if it is gzip; throws
/// dataset_error if it cannot be read or the gzip stream is corrupt.
std::vector<std::uint8_t> read_maybe_gzip(const std::string& path);

// -- implementation of idx_type_of -------------------------------------------

template <class T>
constexpr idx_type idx_type_of() {
  if constexpr (std::is_same_v<T, std::uint8_t>)
    return idx_type::u8;
  else if constexpr (std::is_same_v<T, std::int8_t>)
    return idx_type::i8;
  else if constexpr (std::is_same_v<T, std::int16_t>)
    return idx_type::i16;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return idx_type::i32;
  else if constexpr (std::is_same_v<T, float>)
    return idx_type::f32;
  else {
    static_assert(std::is_same_v<T, double>,
                  "lumen::data::idx_array: IDX holds uint8_t, int8_t, "
                  "int16_t, int32_t, float or double");
    return idx_type::f64;
  }
}

} // namespace lumen::data

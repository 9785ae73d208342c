// The `lumen::codec` customization point and the traits built on it. Part of
// codec.hpp; include that header instead of this one.
//
// Thread safety: compile-time traits and stateless functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "lumen/detail/codec_io.hpp"
#include "lumen/error.hpp"

namespace lumen {

/// Encodes and decodes values of type `T`. A specialization provides
/// `static void encode(detail::writer&, const T&)` and
/// `static T decode(detail::reader&)`, and may provide
/// `static constexpr std::size_t min_encoded_size` (a lower bound on the
/// bytes one value takes, 1 if omitted; declare 0 if a value can encode to
/// nothing) and `static std::size_t size_hint(const T&)` (an estimate used to
/// size buffers up front). The primary template stays undefined so that
/// `detail::has_codec_v` can tell whether a specialization applies.
template <class T, class Enable = void>
struct codec;

} // namespace lumen

namespace lumen::detail {

// -- traits -------------------------------------------------------------------

template <class T, class = void>
struct has_codec : std::false_type {};

template <class T>
struct has_codec<T, std::void_t<decltype(codec<T>::encode(
                      std::declval<writer&>(), std::declval<const T&>()))>>
  : std::true_type {};

/// True when some `codec` specialization applies to `T`; for containers and
/// other class templates of the standard library, only when their element
/// types have codecs too.
template <class T>
constexpr bool has_codec_v = has_codec<T>::value;

template <class T, class = void>
struct underlying_or_self {
  using type = T;
};

template <class T>
struct underlying_or_self<T, std::enable_if_t<std::is_enum_v<T>>> {
  using type = std::underlying_type_t<T>;
};

/// True for scalars whose every bit pattern is a valid value (arithmetic
/// types and enums, except `bool` and enums based on it): arrays of them are
/// copied with one `memcpy` each way.
template <class T>
constexpr bool is_bulk_v = std::conjunction_v<
  std::disjunction<std::is_arithmetic<T>, std::is_enum<T>>,
  std::negation<std::is_same<typename underlying_or_self<T>::type, bool>>>;

template <class T, class = void>
struct min_encoded_size : std::integral_constant<std::size_t, 1> {};

template <class T>
struct min_encoded_size<T, std::void_t<decltype(codec<T>::min_encoded_size)>>
  : std::integral_constant<std::size_t, codec<T>::min_encoded_size> {};

/// A lower bound on the bytes one encoded `T` takes; containers check their
/// length fields against it.
template <class T>
constexpr std::size_t min_encoded_size_v = min_encoded_size<T>::value;

/// Estimated bytes of a default value's encoding, when its codec gives no
/// `size_hint`: one buffer growth step of `byte_buffer`, minus a fingerprint.
constexpr std::size_t default_size_hint = 56;

template <class T, class = void>
struct has_size_hint : std::false_type {};

template <class T>
struct has_size_hint<
  T, std::void_t<decltype(codec<T>::size_hint(std::declval<const T&>()))>>
  : std::true_type {};

// -- values -------------------------------------------------------------------

/// Appends the encoding of `x`.
template <class T>
void encode_value(writer& w, const T& x) {
  static_assert(has_codec_v<T>,
                "lumen: no codec for this type: give it an inspect() overload "
                "or specialize lumen::codec<T>");
  if constexpr (has_codec_v<T>)
    codec<T>::encode(w, x);
}

/// Reads one `T`; throws `decode_error` on truncated or corrupt input.
template <class T>
T decode_value(reader& r) {
  static_assert(has_codec_v<T>,
                "lumen: no codec for this type: give it an inspect() overload "
                "or specialize lumen::codec<T>");
  static_assert(!std::is_const_v<T> && !std::is_reference_v<T>,
                "lumen: cannot decode into a const or reference type");
  if constexpr (has_codec_v<T>)
    return codec<T>::decode(r);
}

/// Estimated size of the encoding of `x`, for reserving buffers.
template <class T>
std::size_t encoded_size_hint(const T& x) {
  if constexpr (has_size_hint<T>::value)
    return codec<T>::size_hint(x);
  else
    return default_size_hint;
}

/// Reads the element count of a container of `T`, checked against the
/// remaining input so that a corrupt count cannot cause a huge allocation.
/// Every element takes at least one byte (see `encode_element`).
template <class T>
std::size_t read_count(reader& r) {
  constexpr auto min_size = min_encoded_size_v<T>;
  return r.read_size(min_size > 0 ? min_size : 1);
}

/// How many of `n` decoded elements of `T` to reserve room for: all of them
/// unless they would take over 16 times the remaining input in memory, so a
/// corrupt count cannot cause a huge allocation for large element types.
template <class T>
std::size_t reserve_count(const reader& r, std::size_t n) noexcept {
  constexpr std::size_t max_amplification = 16;
  auto limit = r.remaining() / sizeof(T) * max_amplification;
  return n < limit ? n : limit;
}

/// Runs `encode`, which writes one element of a container; if the element
/// may encode to nothing (`MinSize` is 0) and did, appends a zero byte, so
/// that every element takes at least one byte and counts stay checkable.
template <std::size_t MinSize, class F>
void encode_element(writer& w, F&& encode) {
  if constexpr (MinSize > 0) {
    encode();
  } else {
    auto before = w.size();
    encode();
    if (w.size() == before)
      w.write_pod(std::uint8_t{0});
  }
}

/// Runs `decode`, which reads one element written by `encode_element`, and
/// returns its result.
template <std::size_t MinSize, class F>
auto decode_element(reader& r, F&& decode) {
  if constexpr (MinSize > 0) {
    return decode();
  } else {
    auto before = r.remaining();
    auto result = decode();
    if (r.remaining() == before && r.read_pod<std::uint8_t>() != 0)
      throw decode_error("lumen: bad filler byte after an empty element");
    return result;
  }
}

/// Reads a byte that must be 0 or 1.
inline bool read_bool(reader& r) {
  auto b = r.read_pod<std::uint8_t>();
  if (b > 1)
    throw decode_error("lumen: invalid bool byte " + std::to_string(b));
  return b == 1;
}

} // namespace lumen::detail

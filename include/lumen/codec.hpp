// How values become object bytes and back.
//
// `lumen::codec<T>` is the customization point: a specialization encodes a
// `T` into a `detail::writer` and decodes one from a `detail::reader` (see
// detail/codec_base.hpp for the members it may have). Lumen ships codecs for
// arithmetic types, enums, strings, `std::vector`, `std::array`, `std::map`,
// `std::unordered_map`, `std::set`, `std::unordered_set`, `std::optional`,
// `std::pair`, `std::tuple`, `std::variant`, `std::monostate`,
// `std::chrono::duration` and `std::chrono::time_point`, nested freely. A
// user struct needs nothing but a CAF-style `inspect` overload found by ADL:
//
//   struct point { double x; double y; std::string label; };
//
//   template <class Inspector>
//   typename Inspector::result_type inspect(Inspector& f, point& p) {
//     return f(caf::meta::type_name("point"), p.x, p.y, p.label);
//   }
//
// Format (native byte order; nodes of one cluster share an architecture):
// scalars as their bytes; `bool` and presence flags as one byte 0 or 1;
// lengths as 64-bit integers; strings and vectors of arithmetic values as
// length, zero padding to the element alignment (relative to the start of
// the object) and the array; other containers as count and elements (an
// element that encodes to nothing, such as an empty struct, is followed by
// a zero byte, so that counts can be checked against the input size); a
// variant as a 32-bit index and the value; a struct as its fields in the
// order `inspect` lists them. An object is the 8-byte `type_hash<T>()`
// fingerprint followed by one encoded value. Decoding checks every length
// against the remaining input and throws `lumen::decode_error` on anything
// truncated or corrupt; structs may nest at most `max_nesting_depth` deep,
// on both sides, so that recursive types cannot overflow the stack.
//
// Thread safety: codecs share no state between threads, so any number of
// threads may encode and decode at once, each with its own writer or reader.
// The type name registry is internally synchronized.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "lumen/detail/codec_base.hpp"
#include "lumen/detail/codec_inspect.hpp"
#include "lumen/detail/codec_io.hpp"
#include "lumen/detail/codec_std.hpp"
#include "lumen/detail/object_data.hpp"
#include "lumen/detail/type_name.hpp"
#include "lumen/error.hpp"

namespace lumen::detail {

// -- type name registry -------------------------------------------------------

/// Records that fingerprint `hash` belongs to the type called `name`, so that
/// a type mismatch can name the stored type. Keeps the first name recorded
/// for a fingerprint. Thread-safe.
void remember_type_name(std::uint64_t hash, std::string_view name);

/// Returns the name recorded for `hash`, or an empty string. Thread-safe.
std::string known_type_name(std::uint64_t hash);

/// Records `T` in the registry on the first call per `T`; later calls cost
/// one check of a static guard.
template <class T>
void remember_type_once() {
  static const bool done =
    (remember_type_name(type_hash<T>(), type_name<T>()), true);
  static_cast<void>(done);
}

/// Throws the `type_mismatch_error` for an object holding fingerprint
/// `stored` when a value of the type called `requested` was asked for.
[[noreturn]] inline void throw_type_mismatch(std::uint64_t stored,
                                             std::string_view requested) {
  auto stored_name = known_type_name(stored);
  if (stored_name.empty()) {
    static constexpr char digits[] = "0123456789abcdef";
    stored_name = "a value of unknown type (fingerprint 0x";
    for (int shift = 60; shift >= 0; shift -= 4)
      stored_name += digits[(stored >> shift) & 0xf];
    stored_name += ')';
  }
  throw type_mismatch_error("lumen: object holds " + stored_name +
                            ", not the requested " + std::string{requested});
}

// -- objects ------------------------------------------------------------------

/// Encodes `x` as an object: its type fingerprint, then its value. Reserves
/// the whole size up front for scalars, strings and arrays of arithmetic
/// values, so that encoding them allocates once.
template <class T>
object_data to_object(const T& x) {
  remember_type_once<T>();
  object_data result;
  result.bytes.reserve(sizeof(std::uint64_t) + encoded_size_hint(x));
  writer w{result};
  w.write_pod(type_hash<T>());
  encode_value(w, x);
  return result;
}

/// The object a function returning `void` produces: the fingerprint of
/// `void` and no value.
inline object_data void_object() {
  remember_type_once<void>();
  object_data result;
  result.bytes.reserve(sizeof(std::uint64_t));
  writer w{result};
  w.write_pod(type_hash<void>());
  return result;
}

/// Decodes the value of an object. Throws what `throw_error` throws if the
/// object is an error, `type_mismatch_error` if it holds another type than
/// `T`, and `decode_error` if its bytes are truncated, corrupt or followed by
/// trailing bytes; none of these is worth retrying. `from_object<void>` only
/// checks the fingerprint.
template <class T>
T from_object(const object_data& obj) {
  if (obj.error)
    throw_error(*obj.error);
  reader r{obj};
  try {
    if (auto stored = r.read_pod<std::uint64_t>(); stored != type_hash<T>())
      throw_type_mismatch(stored, type_name<T>());
    if constexpr (std::is_void_v<T>) {
      if (!r.at_end())
        throw decode_error(std::to_string(r.remaining()) +
                           " bytes after the fingerprint");
    } else {
      auto result = decode_value<T>(r);
      if (!r.at_end())
        throw decode_error(std::to_string(r.remaining()) +
                           " trailing bytes after the value");
      return result;
    }
  } catch (const decode_error& e) {
    throw decode_error("lumen: cannot decode a " + std::string{type_name<T>()} +
                       ": " + e.what());
  }
}

} // namespace lumen::detail

// Codecs for scalars and the standard library's value types. Part of
// codec.hpp; include that header instead of this one.
//
// Thread safety: stateless functions.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "lumen/detail/buffer_pool.hpp"
#include "lumen/detail/codec_base.hpp"

namespace lumen::detail {

/// Writes `n` values of a bulk type in one copy, aligned to `alignof(T)`.
template <class T>
void write_bulk(writer& w, const T* p, std::size_t n) {
  w.align(alignof(T));
  if (n > 0)
    std::memcpy(w.grow(n * sizeof(T)), p, n * sizeof(T));
}

/// Appends `n` values to a string in one copy.
template <class C, class Tr, class A>
void append_bulk(std::basic_string<C, Tr, A>& s, const C* first,
                 std::size_t n) {
  s.append(first, n);
}

/// Appends `n` values to a vector in one copy.
template <class Container, class T>
void append_bulk(Container& v, const T* first, std::size_t n) {
  v.insert(v.end(), first, first + n);
}

/// Reads `n` values of a bulk type into a `Container` built from a pointer
/// range, so the values are copied once. A large array goes into memory
/// reserved first and backed by huge pages (advise_bulk_write), as a fresh
/// allocation faults on every 4 KiB page otherwise. `n` must have passed
/// `read_size`.
template <class Container, class T = typename Container::value_type>
Container read_bulk(reader& r, std::size_t n) {
  r.align(alignof(T));
  auto* p = r.take(n * sizeof(T));
  // The offset is aligned relative to the start of the input; the address
  // is too unless the caller handed the reader a misaligned buffer.
  if (reinterpret_cast<std::uintptr_t>(p) % alignof(T) == 0) {
    auto* first = reinterpret_cast<const T*>(p);
    if (n * sizeof(T) < pooled_buffer_min)
      return Container(first, first + n);
    Container result;
    result.reserve(n);
    advise_bulk_write(result.data(), n * sizeof(T));
    append_bulk(result, first, n);
    return result;
  }
  Container result(n, T{});
  if (n > 0)
    std::memcpy(result.data(), p, n * sizeof(T));
  return result;
}

/// Bytes `write_bulk` appends for `n` values at most.
template <class T>
constexpr std::size_t bulk_size_hint(std::size_t n) noexcept {
  return alignof(T) - 1 + n * sizeof(T);
}

/// Encodes a count and then every element of a range.
template <class Range>
void encode_elements(writer& w, const Range& xs) {
  using value_type = typename Range::value_type;
  w.write_size(xs.size());
  for (const auto& x : xs)
    encode_element<min_encoded_size_v<value_type>>(w, [&] {
      encode_value<value_type>(w, x);
    });
}

/// Decodes one element written by `encode_elements`.
template <class T>
T decode_one(reader& r) {
  return decode_element<min_encoded_size_v<T>>(r, [&r] {
    return decode_value<T>(r);
  });
}

/// Throws unless a decoded associative container kept all `n` elements.
inline void check_unique(std::size_t size, std::size_t n) {
  if (size != n)
    throw decode_error("lumen: duplicate keys in an encoded set or map");
}

// -- std type detection -------------------------------------------------------

/// True for the standard library types that have codecs below, so that the
/// `inspect` fallback never competes with them.
template <class T>
struct is_std_codec_type : std::false_type {};

template <class C, class Tr, class A>
struct is_std_codec_type<std::basic_string<C, Tr, A>> : std::true_type {};

template <class T, class A>
struct is_std_codec_type<std::vector<T, A>> : std::true_type {};

template <class T, std::size_t N>
struct is_std_codec_type<std::array<T, N>> : std::true_type {};

template <class K, class V, class C, class A>
struct is_std_codec_type<std::map<K, V, C, A>> : std::true_type {};

template <class K, class V, class H, class E, class A>
struct is_std_codec_type<std::unordered_map<K, V, H, E, A>> : std::true_type {};

template <class T, class C, class A>
struct is_std_codec_type<std::set<T, C, A>> : std::true_type {};

template <class T, class H, class E, class A>
struct is_std_codec_type<std::unordered_set<T, H, E, A>> : std::true_type {};

template <class T>
struct is_std_codec_type<std::optional<T>> : std::true_type {};

template <class A, class B>
struct is_std_codec_type<std::pair<A, B>> : std::true_type {};

template <class... Ts>
struct is_std_codec_type<std::tuple<Ts...>> : std::true_type {};

template <class... Ts>
struct is_std_codec_type<std::variant<Ts...>> : std::true_type {};

template <>
struct is_std_codec_type<std::monostate> : std::true_type {};

template <class R, class P>
struct is_std_codec_type<std::chrono::duration<R, P>> : std::true_type {};

template <class C, class D>
struct is_std_codec_type<std::chrono::time_point<C, D>> : std::true_type {};

} // namespace lumen::detail

namespace lumen {

// -- scalars ------------------------------------------------------------------

/// `bool`: one byte, 0 or 1.
template <>
struct codec<bool> {
  static constexpr std::size_t min_encoded_size = 1;

  static void encode(detail::writer& w, bool x) {
    w.write_pod(static_cast<std::uint8_t>(x ? 1 : 0));
  }

  static bool decode(detail::reader& r) {
    return detail::read_bool(r);
  }

  static std::size_t size_hint(bool) noexcept {
    return 1;
  }
};

/// Arithmetic types: their bytes in native order, unaligned.
template <class T>
struct codec<
  T, std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>>> {
  static constexpr std::size_t min_encoded_size = sizeof(T);

  static void encode(detail::writer& w, T x) {
    w.write_pod(x);
  }

  static T decode(detail::reader& r) {
    return r.read_pod<T>();
  }

  static std::size_t size_hint(T) noexcept {
    return sizeof(T);
  }
};

/// Enums: their underlying value. Values are not range-checked.
template <class T>
struct codec<T, std::enable_if_t<std::is_enum_v<T>>> {
  using base = codec<std::underlying_type_t<T>>;

  static constexpr std::size_t min_encoded_size = base::min_encoded_size;

  static void encode(detail::writer& w, T x) {
    base::encode(w, static_cast<std::underlying_type_t<T>>(x));
  }

  static T decode(detail::reader& r) {
    return static_cast<T>(base::decode(r));
  }

  static std::size_t size_hint(T) noexcept {
    return min_encoded_size;
  }
};

// -- strings and sequences ----------------------------------------------------

/// Strings of arithmetic characters: length, padding to the character's
/// alignment, characters.
template <class C, class Tr, class A>
struct codec<std::basic_string<C, Tr, A>,
             std::enable_if_t<detail::is_bulk_v<C>>> {
  using value_type = std::basic_string<C, Tr, A>;

  static constexpr std::size_t min_encoded_size = sizeof(std::uint64_t);

  static void encode(detail::writer& w, const value_type& x) {
    w.write_size(x.size());
    detail::write_bulk(w, x.data(), x.size());
  }

  static value_type decode(detail::reader& r) {
    auto n = r.read_size(sizeof(C));
    return detail::read_bulk<value_type>(r, n);
  }

  static std::size_t size_hint(const value_type& x) noexcept {
    return sizeof(std::uint64_t) + detail::bulk_size_hint<C>(x.size());
  }
};

/// Vectors: length, then either the aligned array in one copy (bulk
/// elements) or the elements one by one.
template <class T, class A>
struct codec<std::vector<T, A>, std::enable_if_t<detail::has_codec_v<T>>> {
  using value_type = std::vector<T, A>;

  static constexpr std::size_t min_encoded_size = sizeof(std::uint64_t);

  static void encode(detail::writer& w, const value_type& x) {
    if constexpr (detail::is_bulk_v<T>) {
      w.write_size(x.size());
      detail::write_bulk(w, x.data(), x.size());
    } else {
      detail::encode_elements(w, x);
    }
  }

  static value_type decode(detail::reader& r) {
    if constexpr (detail::is_bulk_v<T>) {
      auto n = r.read_size(sizeof(T));
      return detail::read_bulk<value_type>(r, n);
    } else {
      auto n = detail::read_count<T>(r);
      value_type result;
      result.reserve(detail::reserve_count<T>(r, n));
      for (std::size_t i = 0; i < n; ++i)
        result.push_back(detail::decode_one<T>(r));
      return result;
    }
  }

  static std::size_t size_hint(const value_type& x) noexcept {
    if constexpr (detail::is_bulk_v<T>)
      return sizeof(std::uint64_t) + detail::bulk_size_hint<T>(x.size());
    else
      return sizeof(std::uint64_t) + x.size() * detail::min_encoded_size_v<T>;
  }
};

/// Fixed-size arrays: no length; bulk elements aligned and copied at once.
/// Decoding default-constructs the array first.
template <class T, std::size_t N>
struct codec<std::array<T, N>, std::enable_if_t<detail::has_codec_v<T>>> {
  using value_type = std::array<T, N>;

  static constexpr std::size_t min_encoded_size =
    N * detail::min_encoded_size_v<T>;

  static void encode(detail::writer& w, const value_type& x) {
    if constexpr (detail::is_bulk_v<T>) {
      detail::write_bulk(w, x.data(), N);
    } else {
      for (const auto& y : x)
        detail::encode_value(w, y);
    }
  }

  static value_type decode(detail::reader& r) {
    value_type result{};
    if constexpr (detail::is_bulk_v<T>) {
      r.align(alignof(T));
      if constexpr (N > 0)
        std::memcpy(result.data(), r.take(N * sizeof(T)), N * sizeof(T));
    } else {
      for (auto& y : result)
        y = detail::decode_value<T>(r);
    }
    return result;
  }

  static std::size_t size_hint(const value_type&) noexcept {
    if constexpr (detail::is_bulk_v<T>)
      return detail::bulk_size_hint<T>(N);
    else
      return min_encoded_size;
  }
};

// -- associative containers ---------------------------------------------------

namespace detail {

/// Codec of ordered and unordered maps: count, then key-value pairs.
/// Duplicate keys in the input are a decode error.
template <class Map, bool Unordered>
struct map_codec {
  using key_type = typename Map::key_type;
  using mapped_type = typename Map::mapped_type;

  static constexpr std::size_t min_encoded_size = sizeof(std::uint64_t);

  using pair_type = std::pair<key_type, mapped_type>;

  static constexpr std::size_t min_pair_size = min_encoded_size_v<pair_type>;

  static void encode(writer& w, const Map& x) {
    w.write_size(x.size());
    for (const auto& kv : x)
      encode_element<min_pair_size>(w, [&] {
        encode_value(w, kv.first);
        encode_value(w, kv.second);
      });
  }

  static Map decode(reader& r) {
    auto n = read_count<pair_type>(r);
    Map result;
    if constexpr (Unordered)
      result.reserve(reserve_count<typename Map::value_type>(r, n));
    for (std::size_t i = 0; i < n; ++i) {
      auto kv = decode_element<min_pair_size>(r, [&r] {
        auto k = decode_value<key_type>(r);
        return pair_type{std::move(k), decode_value<mapped_type>(r)};
      });
      result.emplace_hint(result.end(), std::move(kv.first),
                          std::move(kv.second));
    }
    check_unique(result.size(), n);
    return result;
  }
};

/// Codec of ordered and unordered sets: count, then elements. Duplicates in
/// the input are a decode error.
template <class Set, bool Unordered>
struct set_codec {
  using value_type = typename Set::value_type;

  static constexpr std::size_t min_encoded_size = sizeof(std::uint64_t);

  static void encode(writer& w, const Set& x) {
    encode_elements(w, x);
  }

  static Set decode(reader& r) {
    auto n = read_count<value_type>(r);
    Set result;
    if constexpr (Unordered)
      result.reserve(reserve_count<value_type>(r, n));
    for (std::size_t i = 0; i < n; ++i)
      result.emplace_hint(result.end(), decode_one<value_type>(r));
    check_unique(result.size(), n);
    return result;
  }
};

} // namespace detail

template <class K, class V, class C, class A>
struct codec<std::map<K, V, C, A>,
             std::enable_if_t<detail::has_codec_v<K> && detail::has_codec_v<V>>>
  : detail::map_codec<std::map<K, V, C, A>, false> {};

template <class K, class V, class H, class E, class A>
struct codec<std::unordered_map<K, V, H, E, A>,
             std::enable_if_t<detail::has_codec_v<K> && detail::has_codec_v<V>>>
  : detail::map_codec<std::unordered_map<K, V, H, E, A>, true> {};

template <class T, class C, class A>
struct codec<std::set<T, C, A>, std::enable_if_t<detail::has_codec_v<T>>>
  : detail::set_codec<std::set<T, C, A>, false> {};

template <class T, class H, class E, class A>
struct codec<std::unordered_set<T, H, E, A>,
             std::enable_if_t<detail::has_codec_v<T>>>
  : detail::set_codec<std::unordered_set<T, H, E, A>, true> {};

// -- optional, pair, tuple, variant -------------------------------------------

/// `std::optional`: a bool byte, then the value if there is one.
template <class T>
struct codec<std::optional<T>, std::enable_if_t<detail::has_codec_v<T>>> {
  static constexpr std::size_t min_encoded_size = 1;

  static void encode(detail::writer& w, const std::optional<T>& x) {
    codec<bool>::encode(w, x.has_value());
    if (x)
      detail::encode_value(w, *x);
  }

  static std::optional<T> decode(detail::reader& r) {
    std::optional<T> result;
    if (detail::read_bool(r))
      result.emplace(detail::decode_value<T>(r));
    return result;
  }
};

/// `std::pair`: first, then second.
template <class A, class B>
struct codec<std::pair<A, B>, std::enable_if_t<detail::has_codec_v<A> &&
                                               detail::has_codec_v<B>>> {
  static constexpr std::size_t min_encoded_size =
    detail::min_encoded_size_v<A> + detail::min_encoded_size_v<B>;

  static void encode(detail::writer& w, const std::pair<A, B>& x) {
    detail::encode_value(w, x.first);
    detail::encode_value(w, x.second);
  }

  static std::pair<A, B> decode(detail::reader& r) {
    auto first = detail::decode_value<A>(r);
    auto second = detail::decode_value<B>(r);
    return {std::move(first), std::move(second)};
  }
};

/// `std::tuple`: its elements in order.
template <class... Ts>
struct codec<std::tuple<Ts...>,
             std::enable_if_t<(detail::has_codec_v<Ts> && ...)>> {
  static constexpr std::size_t min_encoded_size =
    (std::size_t{0} + ... + detail::min_encoded_size_v<Ts>);

  static void encode(detail::writer& w, const std::tuple<Ts...>& x) {
    std::apply(
      [&w](const auto&... xs) {
        (detail::encode_value(w, xs), ...);
      },
      x);
  }

  static std::tuple<Ts...> decode([[maybe_unused]] detail::reader& r) {
    // The elements of a braced list are evaluated left to right.
    return std::tuple<Ts...>{detail::decode_value<Ts>(r)...};
  }
};

/// `std::monostate`: nothing.
template <>
struct codec<std::monostate> {
  static constexpr std::size_t min_encoded_size = 0;

  static void encode(detail::writer&, std::monostate) {}

  static std::monostate decode(detail::reader&) {
    return {};
  }
};

/// `std::variant`: the index as a 32-bit integer, then the active value.
/// Encoding a valueless variant throws `lumen::error`; an index out of range
/// is a decode error.
template <class... Ts>
struct codec<std::variant<Ts...>,
             std::enable_if_t<(detail::has_codec_v<Ts> && ...)>> {
  using value_type = std::variant<Ts...>;

  static constexpr std::size_t min_encoded_size = sizeof(std::uint32_t);

  static void encode(detail::writer& w, const value_type& x) {
    if (x.valueless_by_exception())
      throw error("lumen: cannot encode a valueless std::variant");
    w.write_pod(static_cast<std::uint32_t>(x.index()));
    std::visit(
      [&w](const auto& y) {
        detail::encode_value(w, y);
      },
      x);
  }

  static value_type decode(detail::reader& r) {
    auto index = r.read_pod<std::uint32_t>();
    if (index >= sizeof...(Ts))
      throw decode_error("lumen: variant index " + std::to_string(index) +
                         " out of range");
    return decode_alternative(r, index, std::index_sequence_for<Ts...>{});
  }

 private:
  template <std::size_t I>
  static value_type decode_at(detail::reader& r) {
    using alternative = std::variant_alternative_t<I, value_type>;
    return value_type{std::in_place_index<I>,
                      detail::decode_value<alternative>(r)};
  }

  template <std::size_t... Is>
  static value_type decode_alternative(detail::reader& r, std::uint32_t index,
                                       std::index_sequence<Is...>) {
    using decoder = value_type (*)(detail::reader&);
    static constexpr decoder table[] = {&decode_at<Is>...};
    return table[index](r);
  }
};

// -- time ---------------------------------------------------------------------

/// `std::chrono::duration`: its count.
template <class R, class P>
struct codec<std::chrono::duration<R, P>,
             std::enable_if_t<detail::has_codec_v<R>>> {
  using value_type = std::chrono::duration<R, P>;

  static constexpr std::size_t min_encoded_size = detail::min_encoded_size_v<R>;

  static void encode(detail::writer& w, const value_type& x) {
    detail::encode_value(w, x.count());
  }

  static value_type decode(detail::reader& r) {
    return value_type{detail::decode_value<R>(r)};
  }
};

/// `std::chrono::time_point`: its duration since the clock's epoch.
template <class C, class D>
struct codec<std::chrono::time_point<C, D>,
             std::enable_if_t<detail::has_codec_v<D>>> {
  using value_type = std::chrono::time_point<C, D>;

  static constexpr std::size_t min_encoded_size = detail::min_encoded_size_v<D>;

  static void encode(detail::writer& w, const value_type& x) {
    detail::encode_value(w, x.time_since_epoch());
  }

  static value_type decode(detail::reader& r) {
    return value_type{detail::decode_value<D>(r)};
  }
};

} // namespace lumen

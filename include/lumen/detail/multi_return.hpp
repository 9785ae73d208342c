// The object a `num_returns<N>()` call produces before it is split.
//
// A function returning a std::tuple or std::pair is also registered under
// `<name>#parts` (see remote.hpp): that entry encodes each element as an
// object of its own and packs them into one "parts" object. The caller
// then submits one small `lumen::pick` task per element, which copies the
// element's bytes and refs out (src/api/pick.cpp), so that every element
// is an ordinary task return: resolved, freed and rebuilt from lineage on
// its own, with no special case in the scheduler, the object table or the
// cluster link.
//
// Parts format: the 8-byte fingerprint of `parts_tag`, a 32-bit count,
// then per part its 64-bit byte count, its 32-bit ref count and its
// bytes; the parts object's refs are the parts' refs in order.
//
// Thread safety: plain functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "lumen/codec.hpp"
#include "lumen/detail/function_traits.hpp"

namespace lumen::detail {

/// Fingerprint owner of a parts object.
struct parts_tag {};

/// Suffix of the registry entry that returns a parts object.
inline constexpr const char* parts_suffix = "#parts";

/// Name of the built-in task that takes one element out of a parts object.
inline constexpr const char* pick_function = "lumen::pick";

template <class T>
struct is_tuple_like : std::false_type {};

template <class... Ts>
struct is_tuple_like<std::tuple<Ts...>> : std::true_type {};

template <class A, class B>
struct is_tuple_like<std::pair<A, B>> : std::true_type {};

template <class T>
inline constexpr bool is_tuple_like_v = is_tuple_like<std::decay_t<T>>::value;

/// Packs already encoded parts into one parts object.
inline object_data pack_parts(std::vector<object_data>&& parts) {
  object_data result;
  std::size_t size = sizeof(std::uint64_t) + sizeof(std::uint32_t);
  for (auto& p : parts)
    size += sizeof(std::uint64_t) + sizeof(std::uint32_t) + p.bytes.size();
  result.bytes.reserve(size);
  auto put = [&](const void* src, std::size_t n) {
    result.bytes.append(static_cast<const char*>(src), n);
  };
  auto tag = type_hash<parts_tag>();
  put(&tag, sizeof(tag));
  auto count = static_cast<std::uint32_t>(parts.size());
  put(&count, sizeof(count));
  for (auto& p : parts) {
    auto n = static_cast<std::uint64_t>(p.bytes.size());
    auto r = static_cast<std::uint32_t>(p.refs.size());
    put(&n, sizeof(n));
    put(&r, sizeof(r));
    put(p.bytes.data(), p.bytes.size());
    for (auto& ref : p.refs)
      result.refs.push_back(std::move(ref));
  }
  return result;
}

/// Encodes each element of a tuple or pair as an object of its own.
template <class Tuple, std::size_t... Is>
object_data to_parts(const Tuple& t, std::index_sequence<Is...>) {
  std::vector<object_data> parts;
  parts.reserve(sizeof...(Is));
  (parts.push_back(
     to_object<std::decay_t<std::tuple_element_t<Is, Tuple>>>(std::get<Is>(t))),
   ...);
  return pack_parts(std::move(parts));
}

template <class Tuple>
object_data to_parts(const Tuple& t) {
  return to_parts(t, std::make_index_sequence<std::tuple_size_v<Tuple>>{});
}

/// Element `index` of a parts object, as an object of its own; throws
/// decode_error on a malformed parts object or an index out of range.
object_data pick_part(const object_data& parts, std::uint32_t index);

template <auto F, std::size_t... Is>
object_data invoke_free_parts(const std::vector<object_ptr>& args,
                              std::index_sequence<Is...>) {
  using traits = function_traits<decltype(F)>;
  using params = typename traits::decayed_args;
  return to_parts(
    F(from_object<std::tuple_element_t<Is, params>>(*args[Is])...));
}

/// As invoke_free, for a function returning a tuple or pair: the result is
/// a parts object.
template <auto F>
object_data invoke_free_parts(const std::vector<object_ptr>& args) {
  using traits = function_traits<decltype(F)>;
  if (args.size() != traits::arity)
    throw type_mismatch_error("expected " + std::to_string(traits::arity) +
                              " arguments, got " + std::to_string(args.size()));
  return invoke_free_parts<F>(args, std::make_index_sequence<traits::arity>{});
}

template <auto F, std::size_t... Is>
object_data invoke_method_parts(void* self, const std::vector<object_ptr>& args,
                                std::index_sequence<Is...>) {
  using traits = function_traits<decltype(F)>;
  using params = typename traits::decayed_args;
  auto* obj = static_cast<typename traits::class_type*>(self);
  return to_parts(
    (obj->*F)(from_object<std::tuple_element_t<Is, params>>(*args[Is])...));
}

/// As invoke_method, for a method returning a tuple or pair.
template <auto F>
object_data invoke_method_parts(void* self,
                                const std::vector<object_ptr>& args) {
  using traits = function_traits<decltype(F)>;
  if (args.size() != traits::arity)
    throw type_mismatch_error("expected " + std::to_string(traits::arity) +
                              " arguments, got " + std::to_string(args.size()));
  return invoke_method_parts<F>(self, args,
                                std::make_index_sequence<traits::arity>{});
}

} // namespace lumen::detail

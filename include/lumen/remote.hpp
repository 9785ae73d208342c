// LUMEN_REMOTE: registering functions by name so tasks can run them.
//
//   int add(int a, int b) { return a + b; }
//   LUMEN_REMOTE(add);
//
// Put the macro at namespace scope in a source file, once per function,
// in every binary or shared library that should be able to run it; several
// functions may share one macro: LUMEN_REMOTE(add, mul);. The name is the
// text of the argument (qualified names keep their qualifier), so a driver
// and a loaded library agree on it as long as they spell it alike.
// Overloaded functions cannot be registered (the pointer would be
// ambiguous); wrap them in functions of distinct names.
//
// Thread safety: registration happens during static initialization.
#pragma once

#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "lumen/codec.hpp"
#include "lumen/detail/function_traits.hpp"
#include "lumen/detail/registry.hpp"
#include "lumen/object_ref.hpp"

namespace lumen::detail {

template <auto F, std::size_t... Is>
object_data invoke_free(const std::vector<object_ptr>& args,
                        std::index_sequence<Is...>) {
  using traits = function_traits<decltype(F)>;
  using result = typename traits::result_type;
  using params = typename traits::decayed_args;
  if constexpr (std::is_void_v<result>) {
    F(from_object<std::tuple_element_t<Is, params>>(*args[Is])...);
    return void_object();
  } else {
    return to_object<std::decay_t<result>>(
      F(from_object<std::tuple_element_t<Is, params>>(*args[Is])...));
  }
}

template <auto F>
object_data invoke_free(const std::vector<object_ptr>& args) {
  using traits = function_traits<decltype(F)>;
  if (args.size() != traits::arity)
    throw type_mismatch_error("expected " + std::to_string(traits::arity)
                              + " arguments, got "
                              + std::to_string(args.size()));
  return invoke_free<F>(args, std::make_index_sequence<traits::arity>{});
}

template <class F>
constexpr bool check_remote_signature() {
  using traits = function_traits<F>;
  static_assert(std::is_void_v<typename traits::class_type>,
                "LUMEN_REMOTE: member functions belong to an actor class");
  using result = std::decay_t<typename traits::result_type>;
  static_assert(std::is_void_v<result> || has_codec_v<result>,
                "LUMEN_REMOTE: no codec for the return type: give it an "
                "inspect() overload or specialize lumen::codec<T>");
  return true;
}

template <auto F>
void register_one(std::string name) {
  using traits = function_traits<decltype(F)>;
  check_remote_signature<decltype(F)>();
  register_function({std::move(name), &invoke_free<F>, traits::arity},
                    pointer_key(F));
}

template <auto... Fs>
bool register_remote(const char* text) {
  auto names = split_remote_names(text);
  std::size_t i = 0;
  (register_one<Fs>(names.at(i++)), ...);
  return true;
}

} // namespace lumen::detail

#define LUMEN_PP_CAT_I(a, b) a##b
#define LUMEN_PP_CAT(a, b) LUMEN_PP_CAT_I(a, b)

/// Registers free functions under their names; see the file comment.
#define LUMEN_REMOTE(...)                                                      \
  [[maybe_unused]] static const bool LUMEN_PP_CAT(lumen_remote_,               \
                                                  __COUNTER__)                 \
    = ::lumen::detail::register_remote<__VA_ARGS__>(#__VA_ARGS__)

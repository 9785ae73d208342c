// LUMEN_REMOTE: registering functions and actor classes by name.
//
//   int add(int a, int b) { return a + b; }
//   LUMEN_REMOTE(add);
//
//   struct Counter {
//     static Counter* create(int start);   // or std::unique_ptr<Counter>
//     int add(int x);
//   };
//   LUMEN_REMOTE(Counter::create, &Counter::add);
//
// A free function returning `T*` or `std::unique_ptr<T>` of a class type is
// registered as the factory of actor class T; member function pointers are
// registered as its methods; every other free function as a task.
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
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "lumen/codec.hpp"
#include "lumen/detail/async_traits.hpp"
#include "lumen/detail/function_traits.hpp"
#include "lumen/detail/multi_return.hpp"
#include "lumen/detail/registry.hpp"
#include "lumen/detail/stream_fwd.hpp"
#include "lumen/detail/type_name.hpp"
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
    throw type_mismatch_error("expected " + std::to_string(traits::arity) +
                              " arguments, got " + std::to_string(args.size()));
  return invoke_free<F>(args, std::make_index_sequence<traits::arity>{});
}

template <auto F, std::size_t... Is>
object_data invoke_method(void* self, const std::vector<object_ptr>& args,
                          std::index_sequence<Is...>) {
  using traits = function_traits<decltype(F)>;
  using result = typename traits::result_type;
  using params = typename traits::decayed_args;
  auto* obj = static_cast<typename traits::class_type*>(self);
  if constexpr (std::is_void_v<result>) {
    (obj->*F)(from_object<std::tuple_element_t<Is, params>>(*args[Is])...);
    return void_object();
  } else {
    return to_object<std::decay_t<result>>(
      (obj->*F)(from_object<std::tuple_element_t<Is, params>>(*args[Is])...));
  }
}

template <auto F>
object_data invoke_method(void* self, const std::vector<object_ptr>& args) {
  using traits = function_traits<decltype(F)>;
  if (args.size() != traits::arity)
    throw type_mismatch_error("expected " + std::to_string(traits::arity) +
                              " arguments, got " + std::to_string(args.size()));
  return invoke_method<F>(self, args,
                          std::make_index_sequence<traits::arity>{});
}

/// The class an actor factory makes: T for `T*` or `std::unique_ptr<T>`.
template <class R>
struct factory_product {
  using type = void;
};

template <class T>
struct factory_product<T*> {
  using type = std::conditional_t<std::is_class_v<T>, T, void>;
};

template <class T, class D>
struct factory_product<std::unique_ptr<T, D>> {
  using type = std::conditional_t<std::is_class_v<T>, T, void>;
};

template <class F>
using factory_product_t =
  typename factory_product<typename function_traits<F>::result_type>::type;

template <auto F, std::size_t... Is>
std::shared_ptr<void> invoke_factory(const std::vector<object_ptr>& args,
                                     std::index_sequence<Is...>) {
  using traits = function_traits<decltype(F)>;
  using params = typename traits::decayed_args;
  using product = factory_product_t<decltype(F)>;
  std::unique_ptr<product> obj{
    F(from_object<std::tuple_element_t<Is, params>>(*args[Is])...)};
  if (!obj)
    throw error("actor factory returned null");
  return std::shared_ptr<product>(std::move(obj));
}

template <auto F>
std::shared_ptr<void> invoke_factory(const std::vector<object_ptr>& args) {
  using traits = function_traits<decltype(F)>;
  if (args.size() != traits::arity)
    throw type_mismatch_error("expected " + std::to_string(traits::arity) +
                              " arguments, got " + std::to_string(args.size()));
  return invoke_factory<F>(args, std::make_index_sequence<traits::arity>{});
}

template <class... Ts>
constexpr bool all_have_codecs(std::tuple<Ts...>*) {
  return (has_codec_v<Ts> && ...);
}

template <class F>
constexpr bool check_remote_signature() {
  using traits = function_traits<F>;
  using result = unwrap_async_t<typename traits::result_type>;
  static_assert(!is_async_v<typename traits::result_type> ||
                  !std::is_void_v<typename traits::class_type>,
                "LUMEN_REMOTE: lumen::async<T> is for actor methods; a task "
                "cannot be a coroutine");
  static_assert(
    all_have_codecs(static_cast<typename traits::decayed_args*>(nullptr)),
    "LUMEN_REMOTE: no codec for a parameter type: give it an "
    "inspect() overload or specialize lumen::codec<T>");
  if constexpr (std::is_void_v<typename traits::class_type> &&
                !std::is_void_v<factory_product_t<F>>) {
    return true; // an actor factory: the result stays in the actor
  } else {
    static_assert(std::is_void_v<result> ||
                    has_codec_v<stream_value_or_t<result>>,
                  "LUMEN_REMOTE: no codec for the return type: give it an "
                  "inspect() overload or specialize lumen::codec<T>");
    return true;
  }
}

/// For a function returning a tuple or pair, also registers its
/// `<name>#parts` form for num_returns (multi_return.hpp).
template <auto F>
void register_extra(function_entry entry) {
  using fn_type = decltype(F);
  using result = std::decay_t<typename function_traits<fn_type>::result_type>;
  if constexpr (is_tuple_like_v<result>) {
    entry.name += parts_suffix;
    if constexpr (!std::is_void_v<
                    typename function_traits<fn_type>::class_type>)
      entry.method = &invoke_method_parts<F>;
    else
      entry.invoke = &invoke_free_parts<F>;
    register_function(std::move(entry), pointer_key(F) + parts_suffix);
  }
}

template <auto F>
void register_one(std::string name) {
  using fn_type = decltype(F);
  using traits = function_traits<fn_type>;
  static_assert(check_remote_signature<fn_type>());
  function_entry entry;
  entry.name = std::move(name);
  entry.arity = traits::arity;
  if constexpr (!std::is_void_v<typename traits::class_type>) {
    entry.kind = function_kind::actor_method;
    entry.class_hash = type_hash<typename traits::class_type>();
    if constexpr (is_async_v<typename traits::result_type>) {
      entry.async_method = &invoke_async_method<F>; // lumen/async.hpp
      mark_async_class(entry.class_hash);
    } else if constexpr (is_generator_v<typename traits::result_type>) {
      entry.method = &invoke_method_stream<F>;
    } else {
      entry.method = &invoke_method<F>;
    }
  } else if constexpr (!std::is_void_v<factory_product_t<fn_type>>) {
    entry.kind = function_kind::actor_factory;
    entry.create = &invoke_factory<F>;
    entry.class_hash = type_hash<factory_product_t<fn_type>>();
  } else {
    entry.kind = function_kind::free_function;
    if constexpr (is_generator_v<typename traits::result_type>)
      entry.invoke = &invoke_free_stream<F>;
    else
      entry.invoke = &invoke_free<F>;
  }
  register_function(entry, pointer_key(F));
  register_extra<F>(std::move(entry));
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
                                                  __COUNTER__) =               \
    ::lumen::detail::register_remote<__VA_ARGS__>(#__VA_ARGS__)

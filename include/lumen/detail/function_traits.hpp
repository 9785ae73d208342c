// Signature introspection for registered functions.
//
// Thread safety: compile-time only.
#pragma once

#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>

namespace lumen::detail {

template <class F>
struct function_traits;

template <class R, class... Args>
struct function_traits<R (*)(Args...)> {
  using result_type = R;
  using class_type = void;
  using args = std::tuple<Args...>;
  using decayed_args = std::tuple<std::decay_t<Args>...>;
  static constexpr std::size_t arity = sizeof...(Args);
};

template <class R, class... Args>
struct function_traits<R (*)(Args...) noexcept>
  : function_traits<R (*)(Args...)> {};

template <class R, class C, class... Args>
struct function_traits<R (C::*)(Args...)> : function_traits<R (*)(Args...)> {
  using class_type = C;
};

template <class R, class C, class... Args>
struct function_traits<R (C::*)(Args...) const>
  : function_traits<R (C::*)(Args...)> {};

template <class R, class C, class... Args>
struct function_traits<R (C::*)(Args...) noexcept>
  : function_traits<R (C::*)(Args...)> {};

template <class R, class C, class... Args>
struct function_traits<R (C::*)(Args...) const noexcept>
  : function_traits<R (C::*)(Args...)> {};

/// Key under which a function or member-function pointer is registered: its
/// bytes, so that both kinds of pointer share one table.
template <class F>
std::string pointer_key(F f) {
  static_assert(std::is_trivially_copyable_v<F>);
  return std::string(reinterpret_cast<const char*>(&f), sizeof(F));
}

} // namespace lumen::detail

// What the registry and callers need to know about `lumen::async<T>`
// without the coroutine machinery (lumen/async.hpp): whether a method's
// result is a coroutine, and the value it produces.
//
// Thread safety: compile-time only.
#pragma once

#include <type_traits>
#include <vector>

#include "lumen/detail/object_data.hpp"
#include "lumen/detail/registry.hpp"

namespace lumen {

template <class T>
class async;

namespace detail {

template <class T>
struct async_traits {
  static constexpr bool is_async = false;
  using value_type = T;
};

template <class T>
struct async_traits<lumen::async<T>> {
  static constexpr bool is_async = true;
  using value_type = T;
};

/// Whether T (decayed) is `lumen::async<U>`.
template <class T>
inline constexpr bool is_async_v = async_traits<std::decay_t<T>>::is_async;

/// U for `lumen::async<U>`, else T itself (decayed).
template <class T>
using unwrap_async_t = typename async_traits<std::decay_t<T>>::value_type;

/// The default max_concurrency of an async actor.
inline constexpr int async_default_concurrency = 1000;

/// Starts coroutine method F (defined in lumen/async.hpp, which a class
/// with a lumen::async method includes anyway).
template <auto F>
void invoke_async_method(void* self, const std::vector<object_ptr>& args,
                         async_done_fn done);

} // namespace detail

} // namespace lumen

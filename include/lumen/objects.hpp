// `put`, `get` and `wait`: moving values into and out of the object store.
//
// `put` encodes the value in the caller's thread (an array of arithmetic
// values is copied once) and returns a ref; `get` blocks until the object
// is ready, then decodes it (one more copy). Called inside a task, a
// blocking `get` or `wait` gives the task's CPU back until it returns, so
// nested tasks cannot deadlock.
//
// Errors: `get` rethrows a failed task's exception as `task_error`, throws
// `timeout_error` past its timeout and `type_mismatch_error` when the object
// holds another type than asked for.
//
// Thread safety: all functions may be called from any thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include "lumen/codec.hpp"
#include "lumen/detail/runtime_api.hpp"
#include "lumen/object_ref.hpp"

namespace lumen {

namespace detail {

template <class Rep, class Period>
std::chrono::nanoseconds
to_timeout(std::chrono::duration<Rep, Period> d) noexcept {
  if (d <= d.zero())
    return std::chrono::nanoseconds::zero();
  // Compared in floating point: any duration type, however narrow or wide
  // its count, past about a century means "no timeout".
  if (std::chrono::duration<double>(d).count() >= 100.0 * 365 * 24 * 3600)
    return no_timeout;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d);
}

/// The refs' headers, without taking a count: `refs` outlives the call.
template <class T>
std::vector<const ref_header*>
headers_of(const std::vector<object_ref<T>>& refs) {
  std::vector<const ref_header*> result;
  result.reserve(refs.size());
  for (auto& r : refs)
    result.push_back(r.ptr().get());
  return result;
}

/// Throws the error for a default-constructed object_ref.
[[noreturn]] void throw_invalid_ref();

template <class T>
const ref_ptr& checked_ptr(const object_ref<T>& ref) {
  if (!ref.valid())
    throw_invalid_ref();
  return ref.ptr();
}

} // namespace detail

/// Stores `value` as a new immutable object and returns a ref to it.
template <class T>
object_ref<std::decay_t<T>> put(const T& value) {
  using value_type = std::decay_t<T>;
  static_assert(!detail::is_object_ref_v<value_type>,
                "lumen::put: a ref is already in the store; pass it as is");
  static_assert(detail::has_codec_v<value_type>,
                "lumen::put: no codec for this type: give it an inspect() "
                "overload or specialize lumen::codec<T>");
  auto data = detail::to_object<value_type>(value);
  return object_ref<value_type>(detail::runtime().put(std::move(data)));
}

/// Waits for the object and returns its value.
template <class T, class Rep = long, class Period = std::ratio<1>>
T get(const object_ref<T>& ref, std::chrono::duration<Rep, Period> timeout =
                                  std::chrono::duration<Rep, Period>::max()) {
  auto obj = detail::runtime().get(detail::checked_ptr(ref),
                                   detail::to_timeout(timeout));
  return detail::from_object<T>(*obj);
}

/// Waits for all objects and returns their values in order.
template <class T, class Rep = long, class Period = std::ratio<1>>
std::vector<T> get(const std::vector<object_ref<T>>& refs,
                   std::chrono::duration<Rep, Period> timeout =
                     std::chrono::duration<Rep, Period>::max()) {
  static_assert(!std::is_void_v<T>,
                "lumen::get: use the single-ref get for object_ref<void>");
  for (auto& r : refs)
    detail::checked_ptr(r);
  auto objs = detail::runtime().get_all(detail::headers_of(refs),
                                        detail::to_timeout(timeout));
  std::vector<T> result;
  result.reserve(objs.size());
  for (auto& obj : objs)
    result.push_back(detail::from_object<T>(*obj));
  return result;
}

/// What `wait` found: refs that are ready and those that are not, each in
/// the order they were given.
template <class T>
struct wait_result {
  std::vector<object_ref<T>> ready;
  std::vector<object_ref<T>> unready;
};

namespace detail {

template <class T, class Refs>
wait_result<T> wait_impl(Refs&& refs, std::size_t num_returns,
                         std::chrono::nanoseconds timeout) {
  for (auto& r : refs)
    checked_ptr(r);
  if (num_returns > refs.size())
    throw error("lumen::wait: num_returns exceeds the number of refs");
  // The first num_returns ready refs, by position, looked for front first
  // without waiting: a list that completes in order has them at its
  // front, and then no header list is built and nothing blocks.
  std::vector<std::size_t> picked;
  picked.reserve(num_returns);
  for (std::size_t i = 0; i < refs.size() && picked.size() < num_returns; ++i)
    if (runtime().ready(refs[i].ptr().get()))
      picked.push_back(i);
  if (picked.size() < num_returns) {
    auto flags = runtime().wait(headers_of(refs), num_returns, timeout);
    picked.clear();
    for (std::size_t i = 0; i < refs.size() && picked.size() < num_returns; ++i)
      if (flags[i])
        picked.push_back(i);
  }
  wait_result<T> result;
  result.ready.reserve(picked.size());
  if constexpr (std::is_lvalue_reference_v<Refs>) {
    for (auto i : picked)
      result.ready.push_back(refs[i]);
    result.unready.reserve(refs.size() - picked.size());
    std::size_t from = 0;
    for (auto i : picked) {
      result.unready.insert(result.unready.end(), refs.begin() + from,
                            refs.begin() + i);
      from = i + 1;
    }
    result.unready.insert(result.unready.end(), refs.begin() + from,
                          refs.end());
  } else {
    // The unready ones stay in the given vector: the runs between picked
    // refs close up, one range move each.
    result.unready = std::move(refs);
    auto& v = result.unready;
    for (auto i : picked)
      result.ready.push_back(std::move(v[i]));
    auto out = v.begin();
    std::size_t from = 0;
    for (auto i : picked) {
      out = std::move(v.begin() + from, v.begin() + i, out);
      from = i + 1;
    }
    out = std::move(v.begin() + from, v.end(), out);
    v.erase(out, v.end());
  }
  return result;
}

} // namespace detail

/// Waits until `num_returns` of `refs` are ready or `timeout` passes. At
/// most `num_returns` refs are reported ready: the first ready ones in the
/// given order. A failed task's object counts as ready. Passing `refs` as
/// an rvalue moves them into the result instead of copying them (the usual
/// `unready = lumen::wait(std::move(unready)).unready` loop).
template <class T, class Rep = long, class Period = std::ratio<1>>
wait_result<T> wait(const std::vector<object_ref<T>>& refs,
                    std::size_t num_returns = 1,
                    std::chrono::duration<Rep, Period> timeout =
                      std::chrono::duration<Rep, Period>::max()) {
  return detail::wait_impl<T>(refs, num_returns, detail::to_timeout(timeout));
}

template <class T, class Rep = long, class Period = std::ratio<1>>
wait_result<T> wait(std::vector<object_ref<T>>&& refs,
                    std::size_t num_returns = 1,
                    std::chrono::duration<Rep, Period> timeout =
                      std::chrono::duration<Rep, Period>::max()) {
  return detail::wait_impl<T>(std::move(refs), num_returns,
                              detail::to_timeout(timeout));
}

} // namespace lumen

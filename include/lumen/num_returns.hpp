// `num_returns<N>()`: a task or actor method returning a std::tuple or
// std::pair gives one ref per element.
//
//   std::tuple<int, std::string> split(int x);
//   LUMEN_REMOTE(split);
//   auto [a, b] = lumen::task(split).num_returns<2>().remote(7);
//   auto [c, d] = counter.task(&Counter::both).num_returns<2>().remote();
//
// Each ref is an ordinary task return: `get` it, drop it (its value is
// freed without waiting for the others) or lose it with a node, and it is
// rebuilt from lineage on its own. Behind the scenes the call returns one
// "parts" object and one small `lumen::pick` task per element takes its
// element out (detail/multi_return.hpp); the parts object is freed once
// every pick ran. N must equal the tuple's size, or the call does not
// compile.
//
// Thread safety: callers are values, as task_caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "lumen/codec.hpp"
#include "lumen/detail/multi_return.hpp"
#include "lumen/detail/registry.hpp"
#include "lumen/detail/runtime_api.hpp"
#include "lumen/error.hpp"
#include "lumen/object_ref.hpp"
#include "lumen/task.hpp"

namespace lumen {

namespace detail {

template <class R, class = void>
struct tuple_size_or_zero : std::integral_constant<std::size_t, 0> {};

template <class R>
struct tuple_size_or_zero<R, std::enable_if_t<is_tuple_like_v<R>>>
  : std::tuple_size<R> {};

/// Checks N against the result type at compile time.
template <class R, std::size_t N>
constexpr bool check_num_returns() {
  static_assert(is_tuple_like_v<R>,
                "lumen: num_returns<N>() needs a function or method that "
                "returns a std::tuple or std::pair");
  static_assert(!is_tuple_like_v<R> || tuple_size_or_zero<R>::value == N,
                "lumen: num_returns<N>(): N must equal the number of "
                "elements of the std::tuple/std::pair the function returns");
  static_assert(N >= 1, "lumen: num_returns<N>() needs N >= 1");
  return true;
}

/// The registry entry that returns a parts object for `entry`.
const function_entry& parts_entry(const function_entry& entry);

/// Submits one pick task per element of the parts object `parts`.
std::vector<ref_ptr> submit_picks(const ref_ptr& parts, std::size_t n,
                                  const task_options& options);

template <class R, std::size_t... Is>
auto make_ref_tuple(std::vector<ref_ptr>& refs, std::index_sequence<Is...>) {
  return std::make_tuple(object_ref<std::decay_t<std::tuple_element_t<Is, R>>>(
    std::move(refs[Is]))...);
}

} // namespace detail

/// A task caller for a function returning a tuple of N elements.
template <class F, std::size_t N>
class multi_task_caller {
 public:
  using traits = detail::function_traits<F>;
  using result_type = std::decay_t<typename traits::result_type>;
  static_assert(detail::check_num_returns<result_type, N>());

  multi_task_caller(const detail::function_entry& entry,
                    detail::task_options options)
    : entry_(&detail::parts_entry(entry)), options_(std::move(options)) {}

  /// Submits the task; returns one ref per element of its result.
  template <class... As>
  auto remote(As&&... args) const {
    static_assert(sizeof...(As) == traits::arity,
                  "lumen::task: wrong number of arguments for this function");
    detail::task_request req;
    req.function = entry_->name;
    req.entry = entry_;
    req.options = options_;
    req.args = detail::make_task_args<typename traits::decayed_args>(
      std::index_sequence_for<As...>{}, std::forward<As>(args)...);
    auto parts = detail::runtime().submit(std::move(req));
    auto refs = detail::submit_picks(parts, N, options_);
    return detail::make_ref_tuple<result_type>(refs,
                                               std::make_index_sequence<N>{});
  }

 private:
  const detail::function_entry* entry_;
  detail::task_options options_;
};

/// An actor method caller for a method returning a tuple of N elements.
template <class T, class M, std::size_t N>
class multi_method_caller {
 public:
  using traits = detail::function_traits<M>;
  using result_type = std::decay_t<typename traits::result_type>;
  static_assert(detail::check_num_returns<result_type, N>());

  multi_method_caller(detail::ref_ptr actor, const detail::function_entry& e)
    : actor_(std::move(actor)), entry_(&detail::parts_entry(e)) {}

  /// Sends the call; returns one ref per element of its result.
  template <class... As>
  auto remote(As&&... args) const {
    static_assert(sizeof...(As) == traits::arity,
                  "lumen::actor_handle::task: wrong number of arguments for "
                  "this method");
    detail::actor_call_request req;
    req.actor = actor_;
    req.method = entry_->name;
    req.class_hash = entry_->class_hash;
    req.args = detail::make_task_args<typename traits::decayed_args>(
      std::index_sequence_for<As...>{}, std::forward<As>(args)...);
    auto parts = detail::runtime().submit_actor_task(std::move(req));
    detail::task_options opts;
    opts.name = entry_->name.substr(
      0, entry_->name.size() -
           std::char_traits<char>::length(detail::parts_suffix));
    opts.max_retries = 0; // an actor call's result is not rebuilt either
    auto refs = detail::submit_picks(parts, N, opts);
    return detail::make_ref_tuple<result_type>(refs,
                                               std::make_index_sequence<N>{});
  }

 private:
  detail::ref_ptr actor_;
  const detail::function_entry* entry_;
};

} // namespace lumen

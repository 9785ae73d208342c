// `task(f).remote(args...)`: running a registered function as a task.
//
//   auto ref = lumen::task(add).num_cpus(0.5).remote(1, lumen::put(2));
//
// Each argument is a value (encoded now, in the caller) or an
// `object_ref<P>` for a parameter of type P (resolved next to the task; the
// bytes never pass through the caller). A parameter declared as
// `object_ref<P>` receives the ref itself. The result is an
// `object_ref<R>`, `object_ref<void>` for functions returning nothing.
//
// Thread safety: a task_caller is a value; use one per thread or copy it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "lumen/codec.hpp"
#include "lumen/detail/exception_names.hpp"
#include "lumen/detail/function_traits.hpp"
#include "lumen/detail/registry.hpp"
#include "lumen/detail/runtime_api.hpp"
#include "lumen/error.hpp"
#include "lumen/object_ref.hpp"
#include "lumen/placement_group.hpp"
#include "lumen/remote.hpp"

namespace lumen {

template <class F, std::size_t N>
class multi_task_caller;

template <class T>
class object_ref_stream;

namespace detail {

/// Turns one call argument into a task argument for parameter type P.
template <class P, class A>
task_arg make_task_arg(A&& arg) {
  using arg_type = std::decay_t<A>;
  if constexpr (is_object_ref_v<arg_type> && !is_object_ref_v<P>) {
    static_assert(std::is_same_v<typename arg_type::value_type, P>,
                  "lumen::task: an object_ref argument must hold exactly the "
                  "parameter's type (object_ref<P> for a parameter P)");
    if (!arg.valid())
      throw error("lumen::task: invalid (default-constructed) object_ref");
    return task_arg{nullptr, arg.ptr()};
  } else {
    static_assert(std::is_convertible_v<A&&, P>,
                  "lumen::task: argument type does not convert to the "
                  "function's parameter type");
    if constexpr (std::is_same_v<arg_type, P>) {
      return task_arg{std::make_shared<object_data>(to_object<P>(arg)), {}};
    } else {
      P converted = std::forward<A>(arg);
      return task_arg{std::make_shared<object_data>(to_object<P>(converted)),
                      {}};
    }
  }
}

template <class Params, class... As, std::size_t... Is>
std::vector<task_arg> make_task_args(std::index_sequence<Is...>, As&&... as) {
  std::vector<task_arg> result;
  result.reserve(sizeof...(As));
  (result.push_back(
     make_task_arg<std::tuple_element_t<Is, Params>>(std::forward<As>(as))),
   ...);
  return result;
}

/// What `remote` returns for a function returning R: a ref, or for a
/// generator the stream of its items (generator.hpp).
template <class R>
struct remote_result {
  using type = object_ref<R>;
};

template <class T>
struct remote_result<generator<T>> {
  using type = object_ref_stream<T>;
};

} // namespace detail

/// A registered function with task options, ready to be called remotely.
template <class F>
class task_caller {
 public:
  using traits = detail::function_traits<F>;
  using result_type = std::decay_t<typename traits::result_type>;

  explicit task_caller(const detail::function_entry& entry) : entry_(&entry) {
    options_.name = entry.name;
  }

  /// CPUs the task holds while it runs (fractions allowed; default 1).
  task_caller& num_cpus(double n) {
    options_.num_cpus = n;
    return *this;
  }

  /// Custom resources the task holds while it runs, e.g. {{"GPU", 0.5}}.
  task_caller& resources(std::map<std::string, double> rs) {
    options_.resources = std::move(rs);
    return *this;
  }

  /// How often a task lost to a node failure is retried, and an object it
  /// returned rebuilt after its node died (-1: always; default 3).
  task_caller& max_retries(int n) {
    options_.max_retries = n;
    return *this;
  }

  /// Retries the task (within max_retries) also when its code throws; by
  /// default an exception is final and `get` rethrows it as task_error.
  task_caller& retry_exceptions(bool on = true) {
    options_.retry_exceptions = on;
    options_.retry_on.clear();
    return *this;
  }

  /// Retries the task (within max_retries) when its code throws one of
  /// the listed types, and only then. The type thrown must be exactly one
  /// of them (a derived type is not matched: list it too); a task_error
  /// rethrown from a failed child counts as the child's original type.
  template <class E, class... Es>
  task_caller& retry_exceptions() {
    static_assert(std::is_class_v<E> && (std::is_class_v<Es> && ...),
                  "lumen::task::retry_exceptions<E...>: list exception "
                  "class types");
    options_.retry_exceptions = true;
    options_.retry_on = {detail::exception_type_name(typeid(E)),
                         detail::exception_type_name(typeid(Es))...};
    return *this;
  }

  /// Spreads tasks round robin over the nodes that can run them.
  task_caller& spread() {
    options_.strategy = detail::scheduling_strategy::spread;
    return *this;
  }

  /// Runs the task on node `node_id` (see lumen::nodes()); if that node is
  /// dead or can never run it, the task runs elsewhere when `soft`, else it
  /// fails with lumen::error.
  task_caller& node_affinity(std::string node_id, bool soft = false) {
    options_.strategy = detail::scheduling_strategy::node_affinity;
    options_.affinity_node = std::move(node_id);
    options_.affinity_soft = soft;
    return *this;
  }

  /// Runs the task in bundle `bundle_index` of `pg` (-1: any bundle): its
  /// resources come from the bundle.
  task_caller& placement_group(const lumen::placement_group& pg,
                               int bundle_index = -1) {
    detail::check_bundle_index(pg, bundle_index);
    options_.pg_id = pg.id();
    options_.pg_bundle = bundle_index;
    options_.capture_pg = pg.captures_child_tasks() ? pg.id() : std::string{};
    return *this;
  }

  /// The name shown in errors and status (default: the registered name).
  task_caller& name(std::string n) {
    options_.name = std::move(n);
    return *this;
  }

  /// For a generator function: the producer pauses while `n` items are
  /// unread (0, the default: no bound); see generator.hpp.
  task_caller& max_unconsumed(std::uint32_t n) {
    if (n >= (1u << 31))
      throw error("lumen::task: max_unconsumed must be below 2^31");
    options_.max_unconsumed = n;
    return *this;
  }

  /// Returns one ref per element of the std::tuple/std::pair the function
  /// returns (num_returns.hpp); N must equal its size.
  template <std::size_t N>
  multi_task_caller<F, N> num_returns() const {
    return multi_task_caller<F, N>(*entry_, options_);
  }

  /// Submits the task; returns a ref to its result.
  template <class... As>
  typename detail::remote_result<result_type>::type remote(As&&... args) const {
    static_assert(sizeof...(As) == traits::arity,
                  "lumen::task: wrong number of arguments for this function");
    detail::task_request req;
    req.function = entry_->name;
    req.entry = entry_;
    req.options = options_;
    req.args = detail::make_task_args<typename traits::decayed_args>(
      std::index_sequence_for<As...>{}, std::forward<As>(args)...);
    if constexpr (detail::is_generator_v<result_type>) {
      req.options.streaming = true;
      return typename detail::remote_result<result_type>::type(
        detail::runtime().submit(std::move(req)));
    } else {
      return object_ref<result_type>(detail::runtime().submit(std::move(req)));
    }
  }

 private:
  const detail::function_entry* entry_;
  detail::task_options options_;
};

/// Prepares a call of the registered free function `f`; throws
/// function_not_found_error if `f` was not registered with LUMEN_REMOTE.
template <class R, class... Args>
task_caller<R (*)(Args...)> task(R (*f)(Args...)) {
  static_assert(
    std::is_void_v<detail::factory_product_t<R (*)(Args...)>>,
    "lumen::task: this function makes an actor; use lumen::actor(factory)");
  auto* entry = detail::find_function_by_key(detail::pointer_key(f));
  if (entry == nullptr)
    throw function_not_found_error(
      "lumen::task: function not registered; add LUMEN_REMOTE(<function>)");
  return task_caller<R (*)(Args...)>(*entry);
}

} // namespace lumen

#include "lumen/generator.hpp"
#include "lumen/num_returns.hpp"

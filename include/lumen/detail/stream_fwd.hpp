// What remote.hpp needs to know about generator functions before
// lumen/generator.hpp defines them: the trait and the invokers.
//
// Thread safety: compile-time only.
#pragma once

#include <type_traits>
#include <vector>

#include "lumen/detail/object_data.hpp"

namespace lumen {

template <class T>
class generator;

namespace detail {

template <class T>
struct generator_traits : std::false_type {
  using value_type = T;
};

template <class T>
struct generator_traits<generator<T>> : std::true_type {
  using value_type = T;
};

/// Whether T is a lumen::generator.
template <class T>
inline constexpr bool is_generator_v = generator_traits<std::decay_t<T>>::value;

/// The yielded type of a generator, else T itself.
template <class T>
using stream_value_or_t =
  typename generator_traits<std::decay_t<T>>::value_type;

/// Runs a generator function as a streaming task (generator.hpp).
template <auto F>
object_data invoke_free_stream(const std::vector<object_ptr>& args);

/// Runs a generator method as a streaming actor call (generator.hpp).
template <auto F>
object_data invoke_method_stream(void* self,
                                 const std::vector<object_ptr>& args);

} // namespace detail

} // namespace lumen

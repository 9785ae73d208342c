// The codec of user structs: two CAF 0.17-style inspectors that run a type's
// `inspect` overload (found by ADL) to encode or decode its fields. Part of
// codec.hpp; include that header instead of this one.
//
// Thread safety: an inspector is used by one thread at a time.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

#include "lumen/detail/codec_base.hpp"
#include "lumen/detail/codec_std.hpp"
#include "lumen/error.hpp"

// Forward declarations, so that this header recognizes CAF's meta annotations
// without including CAF (see caf/meta/*.hpp in CAF 0.17).
namespace caf::meta {

struct annotation;

template <class F>
struct load_callback_t;

template <class F>
struct save_callback_t;

} // namespace caf::meta

namespace lumen::detail {

// -- annotations --------------------------------------------------------------

/// True for CAF meta annotations (`caf::meta::type_name`, `hex_formatted`,
/// the callbacks, ...), which carry no data to encode.
template <class T>
constexpr bool is_annotation_v =
  std::conjunction_v<std::is_class<T>,
                     std::is_base_of<caf::meta::annotation, T>>;

template <class T>
struct is_load_callback : std::false_type {};

template <class F>
struct is_load_callback<caf::meta::load_callback_t<F>> : std::true_type {};

template <class T>
struct is_save_callback : std::false_type {};

template <class F>
struct is_save_callback<caf::meta::save_callback_t<F>> : std::true_type {};

/// Runs a CAF callback annotation. CAF's callbacks return a `caf::error`,
/// which converts to `true` on failure, reported as an `Exception`;
/// callbacks may also return nothing.
template <class Exception, class Callback>
void run_callback(Callback& x, const char* failure) {
  using result = decltype(x.fun());
  if constexpr (std::is_void_v<result>) {
    x.fun();
  } else if constexpr (std::is_constructible_v<bool, result>) {
    if (static_cast<bool>(x.fun()))
      throw Exception(failure);
  } else {
    static_cast<void>(x.fun());
  }
}

// -- inspectors ---------------------------------------------------------------

/// Encodes the fields an `inspect` overload passes to it, in order. CAF
/// annotations are skipped; `caf::meta::save_callback` functions run before
/// any field is encoded (CAF runs them at their position in the list, which
/// is the same thing when they come first).
class encode_inspector {
 public:
  using result_type = void;

  static constexpr bool reads_state = true;

  static constexpr bool writes_state = false;

  explicit encode_inspector(writer& w) noexcept : w_(w) {}

  template <class... Ts>
  void operator()(Ts&&... xs) {
    (before(xs), ...);
    (field(xs), ...);
  }

 private:
  template <class T>
  void before(T& x) {
    if constexpr (is_save_callback<std::remove_const_t<T>>::value)
      run_callback<error>(x, "lumen: an inspect() save_callback failed");
  }

  template <class T>
  void field(const T& x) {
    if constexpr (!is_annotation_v<T>)
      encode_value(w_, x);
  }

  writer& w_;
};

/// Decodes into the fields an `inspect` overload passes to it, in order.
/// CAF annotations are skipped; `caf::meta::load_callback` functions run
/// after all fields are decoded.
class decode_inspector {
 public:
  using result_type = void;

  static constexpr bool reads_state = false;

  static constexpr bool writes_state = true;

  explicit decode_inspector(reader& r) noexcept : r_(r) {}

  template <class... Ts>
  void operator()(Ts&&... xs) {
    (field(std::forward<Ts>(xs)), ...);
    (after(xs), ...);
  }

 private:
  template <class T>
  void field(T&& x) {
    using value_type = std::remove_cv_t<std::remove_reference_t<T>>;
    if constexpr (!is_annotation_v<value_type>) {
      static_assert(std::is_lvalue_reference_v<T> &&
                      !std::is_const_v<std::remove_reference_t<T>>,
                    "lumen: a decoding inspector requires mutable lvalue "
                    "references: pass the fields themselves to f(...)");
      x = decode_value<value_type>(r_);
    }
  }

  template <class T>
  void after(T& x) {
    if constexpr (is_load_callback<std::remove_const_t<T>>::value)
      run_callback<decode_error>(x, "lumen: an inspect() load_callback failed");
  }

  reader& r_;
};

// -- nesting ------------------------------------------------------------------

/// Most structs that may be encoded or decoded inside one another, so that
/// corrupt input for a recursive type cannot overflow the stack.
constexpr std::size_t max_nesting_depth = 1000;

/// Counts the structs being encoded or decoded on this thread; throws an
/// `Exception` beyond `max_nesting_depth`.
template <class Exception>
class nesting_guard {
 public:
  nesting_guard() {
    if (++depth() > max_nesting_depth) {
      --depth();
      throw Exception("lumen: structs nested deeper than " +
                      std::to_string(max_nesting_depth));
    }
  }

  nesting_guard(const nesting_guard&) = delete;

  nesting_guard& operator=(const nesting_guard&) = delete;

  ~nesting_guard() {
    --depth();
  }

 private:
  static std::size_t& depth() noexcept {
    thread_local std::size_t result = 0;
    return result;
  }
};

// -- inspect detection --------------------------------------------------------

/// Calls `inspect` through ADL only: the deleted overload stops ordinary
/// lookup here, so names in enclosing namespaces cannot hide the user's.
namespace inspect_adl {

void inspect() = delete;

template <class T, class = void>
struct has_inspect : std::false_type {};

template <class T>
struct has_inspect<T,
                   std::void_t<decltype(inspect(
                     std::declval<encode_inspector&>(), std::declval<T&>()))>>
  : std::true_type {};

template <class Inspector, class T>
void call(Inspector& f, T& x) {
  inspect(f, x);
}

} // namespace inspect_adl

/// True for types that use the `inspect` fallback codec: they have an
/// `inspect` overload and are none of the types with built-in codecs.
template <class T>
constexpr bool use_inspect_v =
  std::is_class_v<T> && !is_std_codec_type<T>::value &&
  inspect_adl::has_inspect<T>::value;

} // namespace lumen::detail

namespace lumen {

/// User structs with a CAF-style `inspect` overload: their fields in the
/// order `inspect` lists them. Decoding default-constructs the struct first.
/// Its fields may all encode to nothing, hence a minimum size of 0.
template <class T>
struct codec<T, std::enable_if_t<detail::use_inspect_v<T>>> {
  static constexpr std::size_t min_encoded_size = 0;

  static void encode(detail::writer& w, const T& x) {
    detail::nesting_guard<error> guard;
    detail::encode_inspector f{w};
    // The encoder only reads the fields, but `inspect` takes a `T&`. (A
    // save_callback that writes to `x` is undefined if `x` is const.)
    detail::inspect_adl::call(f, const_cast<T&>(x));
  }

  static T decode(detail::reader& r) {
    static_assert(std::is_default_constructible_v<T>,
                  "lumen: decoding a type through its inspect() overload "
                  "requires a default constructor");
    detail::nesting_guard<decode_error> guard;
    T result{};
    detail::decode_inspector f{r};
    detail::inspect_adl::call(f, result);
    return result;
  }
};

} // namespace lumen

// `object_ref<T>`: a typed, copyable reference to an immutable object.
//
// A ref names an object by id and keeps it alive: the object is freed once
// no ref to it remains anywhere in the process, including refs held by
// pending tasks and refs nested inside other objects. Refs can be passed to
// tasks (the value is resolved next to the task, not in the caller) and
// stored inside values, where they stay counted.
//
// Thread safety: a ref may be copied, destroyed and read from any thread.
#pragma once

#include <cstdint>
#include <utility>

#include "lumen/codec.hpp"
#include "lumen/detail/object_data.hpp"
#include "lumen/detail/runtime_api.hpp"
#include "lumen/ids.hpp"

namespace lumen {

/// Typed reference to an object holding a `T` (`void` for the result of a
/// function returning nothing).
template <class T>
class object_ref {
 public:
  using value_type = T;

  /// An invalid ref, naming no object.
  object_ref() noexcept = default;

  /// Wraps a counted runtime reference (used by the API internals).
  explicit object_ref(detail::ref_ptr ptr) noexcept : ptr_(std::move(ptr)) {}

  /// The id of the object.
  const object_id& id() const noexcept {
    return ptr_.id();
  }

  /// Whether this ref names an object.
  bool valid() const noexcept {
    return static_cast<bool>(ptr_);
  }

  /// Reinterprets the ref as holding a `U`; `get` checks the type and throws
  /// type_mismatch_error if the object holds something else.
  template <class U>
  object_ref<U> as() const noexcept {
    return object_ref<U>(ptr_);
  }

  /// The counted runtime reference.
  const detail::ref_ptr& ptr() const noexcept {
    return ptr_;
  }

  /// Runs `f(lumen::outcome<T>)` once the object is ready or failed,
  /// without blocking the caller; see lumen/async.hpp (which defines it).
  template <class F>
  void then(F f) const;

  friend bool operator==(const object_ref& x, const object_ref& y) noexcept {
    return x.ptr_.get() == y.ptr_.get() ||
           (x.valid() && y.valid() && x.id() == y.id());
  }

  friend bool operator!=(const object_ref& x, const object_ref& y) noexcept {
    return !(x == y);
  }

 private:
  detail::ref_ptr ptr_;
};

namespace detail {

template <class T>
struct is_object_ref : std::false_type {};

template <class T>
struct is_object_ref<object_ref<T>> : std::true_type {};

template <class T>
inline constexpr bool is_object_ref_v = is_object_ref<std::decay_t<T>>::value;

} // namespace detail

/// Encodes a ref as its id; the containing object keeps the referenced one
/// alive for as long as the container lives.
template <class T>
struct codec<object_ref<T>> {
  static void encode(detail::writer& w, const object_ref<T>& x) {
    w.write_pod(static_cast<std::uint8_t>(x.valid() ? 1 : 0));
    if (!x.valid())
      return;
    w.write_pod(x.id().task.hi);
    w.write_pod(x.id().task.lo);
    w.write_pod(x.id().index);
    w.add_ref(x.ptr());
  }

  static object_ref<T> decode(detail::reader& r) {
    auto flag = r.read_pod<std::uint8_t>();
    if (flag == 0)
      return {};
    if (flag != 1)
      throw decode_error("bad object_ref flag");
    object_id id;
    id.task.hi = r.read_pod<std::uint64_t>();
    id.task.lo = r.read_pod<std::uint64_t>();
    id.index = r.read_pod<std::uint32_t>();
    return object_ref<T>(detail::runtime().lookup(id));
  }
};

} // namespace lumen

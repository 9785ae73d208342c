// What an object is inside one process: encoded bytes, the references they
// contain, or an error; and the counted reference that keeps it alive.
//
// Thread safety: `ref_ptr` copies and destructions may race freely (atomic
// count); `object_data` is immutable once shared.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lumen/detail/byte_buffer.hpp"
#include "lumen/ids.hpp"

namespace lumen::detail {

/// Shared head of every object entry. The runtime allocates entries that
/// start with this header; `on_zero` runs once the last reference in the
/// process is gone and frees the object.
struct ref_header {
  std::atomic<std::int64_t> count{1};
  object_id id;
  void (*on_zero)(ref_header*) noexcept = nullptr;
};

/// Counted reference to an object entry: every `object_ref`, every task
/// argument and every object that contains a reference holds one.
class ref_ptr {
 public:
  ref_ptr() noexcept = default;

  /// Adopts `h` without adding a count (the creator's count of 1).
  static ref_ptr adopt(ref_header* h) noexcept {
    ref_ptr result;
    result.ptr_ = h;
    return result;
  }

  /// Adds a count to `h`.
  static ref_ptr share(ref_header* h) noexcept {
    if (h != nullptr)
      h->count.fetch_add(1, std::memory_order_relaxed);
    return adopt(h);
  }

  ref_ptr(const ref_ptr& other) noexcept : ptr_(other.ptr_) {
    if (ptr_ != nullptr)
      ptr_->count.fetch_add(1, std::memory_order_relaxed);
  }

  ref_ptr(ref_ptr&& other) noexcept
    : ptr_(std::exchange(other.ptr_, nullptr)) {}

  ref_ptr& operator=(ref_ptr other) noexcept {
    std::swap(ptr_, other.ptr_);
    return *this;
  }

  ~ref_ptr() {
    if (ptr_ != nullptr &&
        ptr_->count.fetch_sub(1, std::memory_order_acq_rel) == 1)
      ptr_->on_zero(ptr_);
  }

  ref_header* get() const noexcept {
    return ptr_;
  }

  ref_header* operator->() const noexcept {
    return ptr_;
  }

  explicit operator bool() const noexcept {
    return ptr_ != nullptr;
  }

  const object_id& id() const noexcept {
    return ptr_->id;
  }

 private:
  ref_header* ptr_ = nullptr;
};

/// Why an error object failed; decides the exception type `get` throws.
enum class error_kind : std::uint8_t {
  task_failed,        ///< user code threw: task_error
  function_not_found, ///< unknown function name: function_not_found_error
  type_mismatch,      ///< argument of the wrong type: type_mismatch_error
  object_lost,        ///< no copy left and no lineage: object_lost_error
  store_full,         ///< result did not fit: object_store_full_error
  actor_died,         ///< actor_died_error
  actor_creation,     ///< actor_creation_error
  runtime_error,      ///< any other runtime failure: lumen::error
  owner_died,         ///< the object's owner died: owner_died_error
};

/// The error an error object carries.
struct error_info {
  error_kind kind = error_kind::runtime_error;
  std::string type_name;
  std::string message;
  std::string task_name;
};

/// An object's contents in this process. `bytes` starts with the 8-byte
/// type fingerprint of the encoded value (see codec.hpp).
struct object_data {
  byte_buffer bytes;
  std::vector<ref_ptr> refs;
  std::shared_ptr<const error_info> error;
};

using object_ptr = std::shared_ptr<const object_data>;

/// Throws the exception that `e` describes.
[[noreturn]] void throw_error(const error_info& e);

} // namespace lumen::detail

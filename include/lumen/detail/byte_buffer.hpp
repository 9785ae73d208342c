// A growable byte array that never initializes what it is about to overwrite.
//
// Thread safety: none; a buffer is owned by one thread until it is frozen
// into an object, after which it is only read.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "lumen/detail/buffer_pool.hpp"

namespace lumen::detail {

/// Contiguous bytes, 16-byte aligned, grown without zero-filling. Encoders
/// write straight into `grow(n)`, so a large array is copied exactly once.
/// A capacity of `pooled_buffer_min` bytes or more comes from the buffer
/// pool (buffer_pool.hpp), so that a large object usually lands in memory
/// that is already faulted in; smaller ones come from malloc.
class byte_buffer {
 public:
  byte_buffer() noexcept = default;

  explicit byte_buffer(std::size_t capacity) {
    reserve(capacity);
  }

  byte_buffer(const byte_buffer& other) {
    append(other.data(), other.size());
  }

  byte_buffer(byte_buffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

  byte_buffer& operator=(byte_buffer other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
    return *this;
  }

  ~byte_buffer() {
    release_storage();
  }

  const char* data() const noexcept {
    return data_;
  }

  char* data() noexcept {
    return data_;
  }

  std::size_t size() const noexcept {
    return size_;
  }

  bool empty() const noexcept {
    return size_ == 0;
  }

  void clear() noexcept {
    size_ = 0;
  }

  void reserve(std::size_t capacity) {
    if (capacity <= capacity_)
      return;
    if (capacity < pooled_buffer_min) { // and so is the old capacity
      auto* p = static_cast<char*>(std::realloc(data_, capacity));
      if (p == nullptr)
        throw std::bad_alloc{};
      data_ = p;
      capacity_ = capacity;
      return;
    }
    std::size_t granted = 0;
    auto* p = acquire_pooled_buffer(capacity, &granted);
    if (size_ > 0)
      std::memcpy(p, data_, size_);
    release_storage();
    data_ = p;
    capacity_ = granted;
  }

  /// Appends `n` uninitialized bytes and returns where they start.
  char* grow(std::size_t n) {
    if (size_ + n > capacity_)
      reserve(std::max(size_ + n, capacity_ * 2 < 64 ? 64 : capacity_ * 2));
    char* result = data_ + size_;
    size_ += n;
    return result;
  }

  void append(const void* p, std::size_t n) {
    if (n > 0)
      std::memcpy(grow(n), p, n);
  }

 private:
  void release_storage() noexcept {
    if (capacity_ >= pooled_buffer_min)
      release_pooled_buffer(data_, capacity_);
    else
      std::free(data_);
  }

  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

} // namespace lumen::detail

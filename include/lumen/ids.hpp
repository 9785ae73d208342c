// Identifiers of tasks and objects.
//
// A task id is 128 bits derived from its parent task's id and the parent's
// counter of tasks and puts, so re-executing a parent yields the same ids.
// An object id is a task id plus an index: a task's return values are its
// own id with indexes from 1; a `put` object gets an id derived like a
// child's from its creator and counter, with index `put_flag`.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace lumen {

/// Identifies one task execution (or a driver, for its root "task").
struct task_id {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;

  /// Deterministic id of the `n`-th child submitted by `parent`.
  static task_id derive(const task_id& parent, std::uint64_t n) noexcept;

  /// A fresh random id, for a driver's root.
  static task_id random();

  bool nil() const noexcept {
    return hi == 0 && lo == 0;
  }

  /// 32 lowercase hex digits.
  std::string to_string() const;

  /// Writes to_string()'s 32 hex digits to `out` (no terminator), without
  /// allocating.
  void write_hex(char* out) const noexcept;

  friend bool operator==(const task_id& x, const task_id& y) noexcept {
    return x.hi == y.hi && x.lo == y.lo;
  }

  friend bool operator!=(const task_id& x, const task_id& y) noexcept {
    return !(x == y);
  }

  friend bool operator<(const task_id& x, const task_id& y) noexcept {
    return x.hi < y.hi || (x.hi == y.hi && x.lo < y.lo);
  }
};

/// Identifies one immutable object.
struct object_id {
  /// Set in `index` for objects made by `put` rather than returned by a task.
  static constexpr std::uint32_t put_flag = 0x80000000u;

  task_id task;
  std::uint32_t index = 0;

  bool nil() const noexcept {
    return task.nil() && index == 0;
  }

  bool is_put() const noexcept {
    return (index & put_flag) != 0;
  }

  /// `<task hex>.<index>`, or `<task hex>.p<index>` for put objects.
  std::string to_string() const;

  friend bool operator==(const object_id& x, const object_id& y) noexcept {
    return x.task == y.task && x.index == y.index;
  }

  friend bool operator!=(const object_id& x, const object_id& y) noexcept {
    return !(x == y);
  }

  friend bool operator<(const object_id& x, const object_id& y) noexcept {
    return x.task < y.task || (x.task == y.task && x.index < y.index);
  }
};

} // namespace lumen

template <>
struct std::hash<lumen::task_id> {
  std::size_t operator()(const lumen::task_id& x) const noexcept {
    return static_cast<std::size_t>(x.hi ^ (x.lo * 0x9E3779B97F4A7C15ull));
  }
};

template <>
struct std::hash<lumen::object_id> {
  std::size_t operator()(const lumen::object_id& x) const noexcept {
    return std::hash<lumen::task_id>{}(x.task) ^
           (static_cast<std::size_t>(x.index) * 0xC2B2AE3D27D4EB4Full);
  }
};

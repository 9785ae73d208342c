// A set of non-zero 64-bit hashes in one flat array (open addressing,
// linear probing, at most half full): the lineage log's tombstones, which
// take millions of inserts a second at full task rates. std::unordered_set
// allocated a node per element and chased a pointer per probe; profiled
// on multi_client_tasks_async, that took a third of the stash thread.
//
// Thread safety: none; the lineage log guards it with its mutex.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace lumen::detail {

class u64_set {
 public:
  /// Adds `h`, which must not be 0.
  void insert(std::uint64_t h) {
    if (2 * (used_ + 1) > slots_.size())
      grow();
    if (place(slots_, h))
      ++used_;
  }

  bool contains(std::uint64_t h) const noexcept {
    if (used_ == 0)
      return false;
    auto mask = slots_.size() - 1;
    for (auto i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == h)
        return true;
      if (slots_[i] == 0)
        return false;
    }
  }

  std::size_t size() const noexcept {
    return used_;
  }

  /// Empties it; an array far larger than its last contents needed is
  /// given back.
  void clear() {
    if (slots_.size() > 4 * std::max<std::size_t>(2 * used_, min_slots))
      std::vector<std::uint64_t>(min_slots, 0).swap(slots_);
    else
      std::fill(slots_.begin(), slots_.end(), 0);
    used_ = 0;
  }

  void swap(u64_set& other) noexcept {
    slots_.swap(other.slots_);
    std::swap(used_, other.used_);
  }

 private:
  static constexpr std::size_t min_slots = 1024;

  /// Puts `h` into `slots` (a power of two long, never full); false if it
  /// was there.
  static bool place(std::vector<std::uint64_t>& slots, std::uint64_t h) {
    auto mask = slots.size() - 1;
    for (auto i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
      if (slots[i] == h)
        return false;
      if (slots[i] == 0) {
        slots[i] = h;
        return true;
      }
    }
  }

  void grow() {
    std::vector<std::uint64_t> bigger(
      std::max<std::size_t>(min_slots, 2 * slots_.size()), 0);
    for (auto h : slots_)
      if (h != 0)
        place(bigger, h);
    slots_.swap(bigger);
  }

  std::vector<std::uint64_t> slots_;
  std::size_t used_ = 0;
};

} // namespace lumen::detail

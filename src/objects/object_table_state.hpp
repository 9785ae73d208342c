// The object table's shared state, private to object_table.cpp (entries,
// references, waiting) and object_table_spill.cpp (memory accounting,
// spilling and restoring).
//
// Locks: one mutex per shard guards its entries and its list of values
// that may spill. `spill_mtx` serializes spill passes; it is taken only
// while holding no shard lock, and shard locks are taken under it, never
// the other way round. No disk I/O happens under a shard lock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "lumen/detail/object_data.hpp"
#include "objects/object_table.hpp"
#include "objects/spill_files.hpp"

namespace lumen::detail {

/// One thread blocked in `wait`, or one callback.
struct table_waiter {
  std::mutex mtx;
  std::condition_variable cv;
  std::atomic<std::size_t> hits{0};
  /// Hits that end the wait: fewer wake nobody.
  std::size_t target = 1;
};

struct table_listener {
  std::shared_ptr<table_waiter> w;
  std::function<void()> callback;
};

inline constexpr std::size_t table_shard_count = 64;

struct object_table::state {
  struct shard;

  struct entry : ref_header {
    state* owner = nullptr;
    shard* home = nullptr;
    /// The value while it is in memory.
    object_ptr data;
    /// Bytes of `data` counted against the capacity (0 for error objects
    /// and while spilled).
    std::size_t counted = 0;
    /// Copies exist on other nodes: tell the release hook.
    bool shared = false;
    /// The return of a call to the actor in this slot of the process's
    /// actor directory (0: none); set before the ref is handed out.
    std::uint32_t actor_slot = 0;
    /// Borrower side (object_table_borrow.cpp): the node owning the object
    /// ("" if this node owns it, or for a copy kept for its owner), and
    /// the registrations its owner counted for this node, given back when
    /// the entry goes.
    std::string lender;
    std::uint32_t borrows = 0;
    /// Owned here (create_owned): tell the owned-release hook.
    bool owned = false;
    std::vector<table_listener> listeners;

    // -- spilling -------------------------------------------------------

    /// Ready with the value on disk only (`data` is null).
    bool spilled = false;
    /// The value's bytes on disk, once written; kept until the entry goes.
    std::optional<spill_files::file> file;
    /// While spilled: the references the value contains, kept alive as
    /// `data` kept them.
    std::vector<ref_ptr> refs;
    /// When the value entered memory (table-wide order).
    std::uint64_t seq = 0;
    /// Neighbours in the shard's list of values that may spill.
    entry* older = nullptr;
    entry* newer = nullptr;
    bool listed = false;

    bool ready() const noexcept {
      return data != nullptr || spilled;
    }
  };

  struct alignas(64) shard {
    mutable std::mutex mtx;
    std::unordered_map<object_id, entry> entries;
    /// Values in memory that may spill, oldest first (entries keep their
    /// address in an unordered_map, so the list may link them).
    entry* oldest = nullptr;
    entry* newest = nullptr;

    /// Appends `e`; its `seq` is the newest of this shard, as `seq`s are
    /// drawn under the shard's lock.
    void link(entry& e) noexcept;

    void unlink(entry& e) noexcept;
  };

  shard shards[table_shard_count];
  /// One count for the table object plus one per live entry.
  std::atomic<std::size_t> refs{1};
  std::atomic<std::size_t> used{0};
  std::atomic<bool> closed{false};
  std::size_t capacity = 0;
  /// Bytes of one object at most (0: only the capacity bounds it).
  std::size_t max_object_size = 0;
  /// What pending entries become once the table is closed.
  object_ptr close_reason;
  std::function<void(const object_id&)> release_hook;
  /// This node's id (what refs owned here carry on the wire).
  std::string node_id;
  std::function<void(const object_id&, const std::string&, std::uint32_t)>
    borrow_hook;
  std::function<void(const object_id&)> owned_release_hook;

  // -- spilling (null `spill`: never) -------------------------------------

  std::unique_ptr<spill_files> spill;
  /// Bytes in memory above which values spill.
  std::size_t high_water = 0;
  std::mutex spill_mtx;
  std::atomic<std::uint64_t> next_seq{0};
  std::atomic<std::size_t> restored{0};

  shard& shard_of(const object_id& id) {
    return shards[std::hash<object_id>{}(id) % table_shard_count];
  }

  void unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
      delete this;
  }

  static void release(ref_header* h) noexcept;

  entry& insert(const object_id& id, shard& s);

  static void notify(std::vector<table_listener>& ls);

  /// Makes `e` (ready, in memory, under its shard's lock) a candidate for
  /// spilling, if spilling is on and the value has bytes and no error.
  void list_if_spillable(entry& e);

  /// Counts `size` more bytes in memory, spilling values first when that
  /// passes the high-water mark. Returns an empty string, or why the bytes
  /// do not fit (the caller's counts are then unchanged). With `overcommit`
  /// (a restore) it never fails and may pass the capacity.
  std::string reserve(std::size_t size, bool overcommit);

  /// Spills the oldest unused values until the bytes in memory are at the
  /// high-water mark. Returns false, with the reason in `*why`, if it could
  /// not get there. Takes `spill_mtx`; call holding no lock.
  bool make_room(std::string* why);

  /// The value of the ready entry `e`: from memory, or read back from disk
  /// into memory if it is spilled (an object_lost error object if that
  /// read fails). The caller holds a reference to `e` and no lock.
  object_ptr restore(entry& e);
};

} // namespace lumen::detail

// The object table: every object this process holds or awaits, by id.
//
// An entry exists from the moment a ref to the object exists (a `put`, or
// the submission of the task that will return it) until the last ref in the
// process is gone; it is then erased and its bytes freed. Entries are
// pending until their value (or error) arrives, then ready. Threads block
// on pending entries through `wait`; the scheduler subscribes with
// `when_ready`.
//
// The table is sharded by id with one mutex per shard, so `put` and `get`
// from many threads touch disjoint locks and never an actor: a ready object
// is returned without any message. The object_store actor owns the table
// (capacity, statistics, transfers between nodes); see the contract below.
//
// Spilling (once `enable_spilling` is called): when a `put`, `fulfill` or
// restore would take the bytes in memory past the high-water mark
// (threshold x capacity), the calling thread first moves the oldest ready
// objects that no reader holds to spill files (spill_files.hpp) until the
// bytes in memory are back under the mark. "Oldest" is the order in which
// values entered memory (a restored value counts as new); "no reader"
// means no `object_ptr` to the value exists outside the table, which also
// covers the arguments of running tasks. A spilled entry is still ready:
// `try_get` and `wait` read its bytes back ("restore") outside every shard
// lock, counting them against memory again (spilling others first if
// needed; a restore never fails for want of memory, it may pass the
// capacity instead). Its file is kept until the entry goes, so spilling it
// again costs no write. A put fails with object_store_full_error only when
// the object does not fit in memory and nothing more can spill: every
// object left is in use, or the spill directory is full or unwritable.
//
// Ownership and thread-safety contract. The table is the state of the
// node's object_store actor (actors/object_store.hpp), which owns it: the
// store alone decides about values across nodes (copies kept for remote
// owners, where copies are, pulls into pending entries, frees, spilling
// limits set before the table is shared), and the release hook hands it
// every shared entry that goes. Peers never touch a table; they message
// the store. The local fast path reads and writes the table directly,
// without a message, from any thread (API threads, task workers, actors):
// - create_pending, put, lookup, try_get, ready, wait, wait_ready,
//   when_ready, get_stats and memory_use may be called from any thread at
//   any time;
// - fulfill may be called by whoever produces the value of a pending entry
//   (a task's execution, a result from another node, a pull); the first
//   value wins, later ones return false, so racing producers are harmless;
// - enable_spilling, set_max_object_size and set_release_hook are called
//   once, before the table is shared; close once, at shutdown.
// Each member is atomic per entry (one shard lock, never held while a
// callback, the release hook or a disk read runs), and a ready entry never
// becomes pending again. Entries may outlive the table (a ref held past
// `shutdown`); the shared state is freed with the last of them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lumen/detail/object_data.hpp"
#include "lumen/ids.hpp"

namespace lumen::detail {

class object_table {
 public:
  using clock = std::chrono::steady_clock;

  /// Objects, bytes and capacity at one moment.
  struct stats {
    std::size_t objects = 0;
    std::size_t pending = 0;
    /// Bytes of values in memory.
    std::size_t used_bytes = 0;
    std::size_t capacity_bytes = 0;
    /// Ready objects whose value is on disk only, and its bytes.
    std::size_t spilled_objects = 0;
    std::size_t spilled_bytes = 0;
    /// Bytes in spill files (spilled values, and copies kept of values
    /// restored since) and their limit (0: the disk's size).
    std::size_t spill_file_bytes = 0;
    std::size_t spill_capacity_bytes = 0;
    /// Values read back from disk so far.
    std::size_t restored_objects = 0;
  };

  /// Where and when values spill to disk.
  struct spill_options {
    /// This node's own directory for spill files; removed with the table.
    std::string directory;
    /// Bytes its files may hold; 0: until the disk is full.
    std::size_t capacity = 0;
    /// Fraction of the capacity above which values spill, in (0, 1].
    double threshold = 0.8;
  };

  explicit object_table(std::size_t capacity_bytes);

  /// Removes the spill directory, if any.

  ~object_table();

  object_table(const object_table&) = delete;
  object_table& operator=(const object_table&) = delete;

  /// Creates a pending entry; the returned ref holds its only count. Throws
  /// lumen::error if an entry with this id exists.
  ref_ptr create_pending(const object_id& id);

  /// Creates a pending entry for an object this process owns (a return of
  /// a task submitted here): its release reaches the owned-release hook
  /// (lineage collection, lineage/lineage_pins.hpp). Otherwise as
  /// create_pending.
  ref_ptr create_owned(const object_id& id);

  /// Called (outside any lock) with the id of each released entry made by
  /// `create_owned`; set once, before the table is shared.
  void set_owned_release_hook(std::function<void(const object_id&)> hook);

  /// Lets values spill to disk as `opts` says; call once, before the table
  /// is shared. Without it the table never spills.
  void enable_spilling(spill_options opts);

  /// Bounds the bytes of one object (0: no bound but the capacity); call
  /// once, before the table is shared.
  void set_max_object_size(std::size_t bytes);

  /// The largest object the table may take: the smaller of the bound
  /// (set_max_object_size) and the capacity. A value announced larger is
  /// not worth fetching.
  std::size_t max_object_size() const noexcept;

  /// Creates a ready entry holding `data`; throws lumen::error if it is
  /// larger than set_max_object_size allows, object_store_full_error if it
  /// does not fit (after spilling what can spill), lumen::error if the id
  /// exists.
  ref_ptr put(const object_id& id, object_ptr data);

  /// Makes a pending entry ready and wakes its waiters. A result larger
  /// than set_max_object_size allows is replaced by a runtime_error error
  /// object, one that does not fit (after spilling what can spill) by a
  /// store_full error object. Returns false if no
  /// entry exists (every ref was dropped) or it was ready already.
  bool fulfill(const object_id& id, object_ptr data);

  /// The object if ready, else nullptr. A spilled value is read back from
  /// disk (an object_lost error object if that fails).
  object_ptr try_get(const ref_header* h) const;

  /// Whether the entry is ready (in memory or on disk); never reads disk.
  bool ready(const ref_header* h) const;

  /// A counted ref to the entry for `id`, or an empty ref.
  ref_ptr lookup(const object_id& id);

  /// Waits until at least `needed` of `refs` are ready or `deadline`
  /// passes. Returns each object, nullptr for those still pending; spilled
  /// values are read back.
  std::vector<object_ptr> wait(const std::vector<const ref_header*>& refs,
                               std::size_t needed,
                               std::optional<clock::time_point> deadline);

  /// As `wait`, but says only which are ready, so no value is read back
  /// from disk.
  std::vector<bool> wait_ready(const std::vector<const ref_header*>& refs,
                               std::size_t needed,
                               std::optional<clock::time_point> deadline);

  /// Runs `callback` once the entry is ready: at once, in this thread, if
  /// it is ready now, else in the thread that fulfills it.
  void when_ready(const ref_header* h, std::function<void()> callback);

  /// Called (outside any lock) with the id of each released entry that was
  /// marked with `mark_shared`; set once, before the table is shared.
  void set_release_hook(std::function<void(const object_id&)> hook);

  /// Marks the entry as having copies on other nodes, so that its release
  /// reaches the release hook. Returns false if no entry exists.
  bool mark_shared(const object_id& id);

  // -- borrowing (object_table_borrow.cpp; docs/architecture.md) ----------

  /// What `borrow` did with the registration the sender made.
  enum class borrow_kind {
    /// Counted on a borrowed entry that existed already.
    counted,
    /// Counted on a new pending borrowed entry: its value is elsewhere.
    created,
    /// The entry exists and is no borrowed one (a copy kept here for its
    /// owner): the caller gives the registration back at once.
    not_counted,
  };

  /// Sets this node's id; call once, before the table is shared.
  void set_node_id(std::string id);

  const std::string& node_id() const noexcept;

  /// The node owning the entry's object: its lender, else this node. `h`
  /// must be an entry of this table (not an actor handle's header).
  std::string owner_of(const ref_header* h) const;

  /// Marks `h`'s entry as the return of a call to the actor in `slot` of
  /// this process's actor directory (actor_directory::slot_of), so that
  /// lumen::cancel finds the actor's host. Call before the ref is shared.
  void set_actor_slot(const ref_header* h, std::uint32_t slot) noexcept;

  /// The slot set_actor_slot gave `h`'s entry; 0 if none.
  std::uint32_t actor_slot(const ref_header* h) const noexcept;

  /// The lender of `id`'s entry: "" if none exists or this node owns it.
  std::string lender_of(const object_id& id) const;

  /// A counted ref to `id`, owned by node `owner` (not this node), which
  /// counted one registration for this node: the entry counts it, and
  /// gives its registrations back (borrow hook) once it goes.
  ref_ptr borrow(const object_id& id, const std::string& owner,
                 borrow_kind* kind);

  /// Called (outside any lock) with the id, lender and registrations of
  /// each borrowed entry that goes; set once, before the table is shared.
  void set_borrow_hook(
    std::function<void(const object_id&, const std::string&, std::uint32_t)>
      hook);

  /// Fails every pending entry lent by `owner` with `reason` (the owner
  /// died); returns how many. O(entries).
  std::size_t fail_lent_by(const std::string& owner, object_ptr reason);

  /// Borrowed entries (lender set) and the registrations they hold:
  /// O(entries).
  std::pair<std::size_t, std::size_t> borrowed_count() const;

  /// Fails every pending entry with `reason`, rejects further puts and
  /// fails entries created later at once. Call once.
  void close(object_ptr reason);

  /// Walks every entry (counts pending and spilled ones): O(entries).
  stats get_stats() const;

  /// get_stats()'s used_bytes and capacity_bytes only, without the walk
  /// (what a heartbeat needs, however many entries there are).
  stats memory_use() const;

  /// The shared state (object_table_state.hpp); named here only so that
  /// the table's own .cpp files can reach it.
  struct state;

 private:
  state* state_;
};

/// A ready-made error object.
object_ptr make_error_object(error_kind kind, std::string message,
                             std::string type_name = {},
                             std::string task_name = {});

} // namespace lumen::detail

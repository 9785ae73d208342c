// The GCS's committed lineage on disk: one RocksDB row per commit batch,
// and an index in memory from task id to the row that holds its spec.
//
// A commit of n rows is one write of one value, not n key inserts, so the
// GCS keeps up with a node's stash at task speed:
//
// | key                             | value                                 |
// | ------------------------------- | ------------------------------------- |
// | `lineage-log/<seq, 8 bytes BE>` | a lineage batch (wire/lineage_batch)  |
//
// On a scratch store (rocks_db's, read by nobody after this process: the
// embedded cluster's private GCS) the batches go instead to one append-only
// file in the store's directory, `lineage-log.bin`, and are read back by
// offset: a batch is immutable and is written once, where RocksDB would
// copy it into its memtable and then again into a table file. The file is
// emptied when the log opens, so there is nothing to load; its blocks are
// allocated ahead of the writes (`reserve`).
//
// The index maps a 64-bit hash of the id to (seq, offset of the row) in
// an open-addressing table of 16-byte slots (no allocation per row); a
// different id with the same hash goes to a small exact table instead, so
// look-ups are exact. It costs 23 to 46 bytes per committed task and
// is rebuilt by reading the log when the GCS starts. A task committed
// again (a stash that never saw the answer retries) is indexed at its
// newest row; the older one stays in the log.
//
// A commit only checks and writes its batch: the index takes it in when
// it is next read (`find`, `size`), reading back the batches committed
// since. Lineage is read when something is rebuilt, rarely, and written
// with every task: indexing at commit cost the committing thread about
// 100 ns a row (a cache miss or two in a table of millions), the first
// look-up after a burst of commits pays it instead.
//
// Collection (lineage_log_gc.cpp): `erase` deletes the rows of tasks whose
// owner no longer needs their lineage (lineage/lineage_pins.hpp). Each
// batch counts its live rows; a batch with none left is deleted (a RocksDB
// delete, which compaction reclaims, or a hole punched in a scratch
// store's file). A batch whose live rows fall under a quarter is rewritten
// as a new batch of those rows and deleted. The offsets of erased rows of
// a batch still kept are written beside it (`lineage-dead/<seq>`), so a
// restarted GCS does not bring them back. An erased id is remembered for
// 10 to 20 s (`tombstone_period`): a copy of its row committed meanwhile
// (a node the task was forwarded to commits it too) is not indexed.
//
// Thread safety: every member locks the log. The gcs actor owns it
// (through gcs_store); a lineage stash in the same process commits to it
// directly (local_lineage_log), on the stash actor's thread: the batch is
// written from the stash's own buffer while it is still in that core's
// cache, with no copy into a message and no hop to the gcs actor.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lineage/u64_set.hpp"
#include "storage/rocks_db.hpp"
#include "wire/lineage_batch.hpp"

namespace lumen::detail {

class lineage_log {
 public:
  /// Key prefix of the log's rows.
  static constexpr std::string_view prefix = "lineage-log/";

  /// The key of batch `seq`.
  static std::string key_of(std::uint64_t seq);

  /// How ids are hashed for the index.
  using hasher = std::uint64_t (*)(std::string_view);

  /// The default hasher (std::hash).
  static std::uint64_t default_hash(std::string_view id);

  /// `hash` is for tests that force collisions.
  explicit lineage_log(std::shared_ptr<rocks_db> db,
                       hasher hash = &default_hash);

  ~lineage_log();

  lineage_log(const lineage_log&) = delete;
  lineage_log& operator=(const lineage_log&) = delete;

  /// Name of the batch file of a scratch store, in its directory.
  static constexpr std::string_view file_name = "lineage-log.bin";

  /// Reads the log and rebuilds the index; rows that cannot be read are
  /// skipped and reported as "key: reason" in `skipped`.
  void load(std::vector<std::string>& skipped);

  /// Appends one batch of rows (after loading the log, if load() was not
  /// called), synced if `sync`; returns how many rows it holds. Throws
  /// lumen::error if the batch is malformed or the write fails; then
  /// nothing of it is ever found.
  std::size_t commit(std::string_view batch, bool sync);

  /// The same for rows ids[i] = specs[i]; sizes must match.
  std::size_t commit(const std::vector<std::string>& ids,
                     const std::vector<std::string>& specs, bool sync);

  /// The newest spec committed for `id` (indexing what came since the
  /// last look-up first).
  std::optional<std::string> find(const std::string& id);

  /// Distinct task ids committed (indexing as find does).
  std::uint64_t size();

  // -- collection (lineage_log_gc.cpp) ----------------------------------

  /// Key prefix of the offsets of erased rows of a batch still kept.
  static constexpr std::string_view dead_prefix = "lineage-dead/";

  /// How long an erased id keeps a copy committed later out (between one
  /// and two periods).
  static constexpr std::chrono::seconds tombstone_period{10};

  /// Deletes the rows of `ids` (ids not found are remembered all the
  /// same, for a copy that may still come); returns how many were found.
  /// Throws lumen::error if the store cannot be written (the index has
  /// forgotten the rows all the same).
  std::size_t erase(const std::vector<std::string>& ids);

  /// Bytes of the batches the log holds, and of their lists of erased
  /// rows.
  std::uint64_t bytes();

  /// Batches the log holds.
  std::uint64_t batches();

 private:
  struct location {
    std::uint32_t seq = 0;
    std::uint32_t offset = 0;
  };

  /// A slot of the index; hash 0 marks it empty.
  struct slot {
    std::uint64_t hash = 0;
    location at;
  };

  /// What the log knows of each batch, by seq.
  struct batch_info {
    std::uint32_t rows = 0;
    /// Rows the index points at.
    std::uint32_t live = 0;
    std::uint32_t bytes = 0;
    /// Deleted, or never indexed (a seq not in the store).
    bool gone = true;
  };

  /// The hash of `id` as the index keeps it (never 0).
  std::uint64_t key_hash(std::string_view id) const;

  /// Where the slot holding `h` is, or the empty slot where it would go
  /// (the table must not be empty).
  std::size_t slot_of(std::uint64_t h) const;

  /// Doubles the table.
  void grow();

  /// The row at `at`, or nullopt if the batch is gone or malformed there;
  /// it views cached_, valid until the next call.
  std::optional<lineage_row_view> record_at(const location& at) const;

  /// Indexes `id`, whose key_hash is `h`, at `at`; counts it if it is
  /// new. The table must have room for one more.
  void index(std::string_view id, std::uint64_t h, const location& at);

  /// Indexes the rows of batch `seq` (each with its offset): the table
  /// grows first, and each row's slot is fetched into the cache a few
  /// rows ahead, so that a batch's cache misses overlap.
  void
  index_batch(const std::vector<std::pair<lineage_row_view, std::size_t>>& rows,
              std::uint32_t seq, std::size_t bytes);

  /// Key of the erased rows' offsets of batch `seq`.
  static std::string dead_key(std::uint64_t seq);

  /// The index's location of `id` (whose hash is `h`), if any.
  std::optional<location> locate(std::string_view id, std::uint64_t h);

  /// Forgets `id` (hash `h`) in the index; returns where it was.
  std::optional<location> unindex(std::string_view id, std::uint64_t h);

  /// Empties slot `i`, shifting back the slots after it (linear probing).
  void remove_slot(std::size_t i);

  /// A row of batch `at.seq` is no longer live there.
  void release_row(const location& at);

  /// Deletes batch `seq`, which holds no live row.
  void drop_batch(std::uint32_t seq);

  /// Writes the live rows of batch `seq` as a new batch and deletes it.
  void rewrite_batch(std::uint32_t seq);

  /// Whether `h` was erased lately; rotates the remembered hashes.
  bool tombstoned(std::uint64_t h) const;
  void rotate_tombstones();

  /// Reads the lists of erased rows (load).
  void load_dead();

  /// Stores batch `seq` (the next one); throws lumen::error on failure.
  void store(std::uint64_t seq, std::string_view batch, bool sync);

  /// Allocates the batch file's blocks ahead of `bytes` more (in steps;
  /// best effort: a file system without fallocate gets plain writes).
  void reserve(std::size_t bytes);

  /// Indexes the batches committed since the last call, read back from
  /// the store (a batch that no longer reads is skipped); `mtx_` held.
  void catch_up();

  /// load, with `mtx_` held.
  void load_locked(std::vector<std::string>& skipped);

  /// Batch `seq` as stored, or nullopt if it is not there.
  std::optional<std::string> fetch(std::uint64_t seq) const;

  /// The members below, and the log on disk.
  std::mutex mtx_;
  std::shared_ptr<rocks_db> db_;
  hasher hash_;
  /// A scratch store's batch file (-1: batches are RocksDB rows), where
  /// each batch is, by seq, and where the file ends.
  int fd_ = -1;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> extents_;
  std::uint64_t file_end_ = 0;
  /// Bytes of the file allocated ahead (reserve), and whether to.
  std::uint64_t allocated_ = 0;
  bool preallocate_ = true;
  bool loaded_ = false;
  std::uint64_t next_seq_ = 0;
  /// Batches below this are indexed (or were skipped as unreadable).
  std::uint64_t indexed_ = 0;
  /// The batch index_batch is indexing (-1: none): not dropped meanwhile.
  std::int64_t indexing_ = -1;
  std::uint64_t count_ = 0;
  /// The slots: a power of two of them, or none. Fresh anonymous pages
  /// (zeroed by the kernel, not written over once more), on huge pages
  /// where the kernel gives them: the table is touched at random, so with
  /// 4 KiB pages every page of it faults once and nearly every probe of a
  /// large table misses the TLB.
  struct unmap_slots {
    // No initializer: in a nested class it would keep unique_ptr from
    // default-constructing the deleter.
    std::size_t bytes;
    void operator()(slot* p) const noexcept;
  };
  std::unique_ptr<slot[], unmap_slots> slots_;
  std::size_t capacity_ = 0;
  std::size_t used_ = 0;
  /// Ids whose hash belongs to another id in by_hash_.
  std::map<std::string, location, std::less<>> collided_;
  /// By seq; and the bytes of the batches not gone.
  std::vector<batch_info> batches_;
  std::uint64_t live_bytes_ = 0;
  /// Offsets of erased rows by batch (RocksDB only), and their bytes.
  std::map<std::uint32_t, std::vector<std::uint32_t>> dead_;
  std::uint64_t dead_bytes_ = 0;
  /// Hashes of ids erased in this period and the one before.
  u64_set tombstones_[2];
  std::chrono::steady_clock::time_point rotated_ =
    std::chrono::steady_clock::now();
  /// The batch read last (recovery reads neighbours of one chain).
  mutable std::uint64_t cached_seq_ = 0;
  mutable std::shared_ptr<const std::string> cached_;
};

/// The lineage log of a GCS in this process, for its lineage stash to
/// commit to without a message (make_gcs hands it out): `sync` as the GCS
/// would commit.
struct local_lineage_log {
  std::shared_ptr<lineage_log> log;
  bool sync = true;
};

} // namespace lumen::detail

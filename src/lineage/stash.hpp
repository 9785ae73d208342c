// The lineage stash: this node's log of task specs not yet committed to
// the GCS ("commit lineage later").
//
// Every task submitted on, or forwarded through, this node is appended
// here: `append` only pushes the task (or its encoded TaskSpec) onto a
// queue of its own (a lock held for the push alone), so submitting never
// encodes, never waits for the disk nor behind the actor's work. Every
// other member first takes the queued rows in, encoding each spec straight
// into the open segment: rows packed as the lineage batch that later goes
// to the GCS, so a row costs no allocation of its own. The lineage_stash
// actor sends segments to the GCS (`next_commit_batch`) and, once the GCS
// has committed one, drops it here (`committed`). A row still uncommitted
// one flush period after it came is written to RocksDB without sync
// (`flush_to_disk`, called by the actor every period while rows wait), and
// deleted there once committed: while the GCS keeps up, a row costs no
// local disk write at all; while it is slow or down, rows wait on disk.
//
// Until committed, a row also stays in memory: a task sent to another node
// takes along the uncommitted specs of the ancestors it depends on
// (`uncommitted_ancestors`), and reconstruction finds specs here before it
// asks the GCS (`find`).
//
// Rows left on disk by a node that died are not lost: the next node
// started on the same machine and runtime directory adopts them
// (`adopt_orphans`) and commits them like its own. The stash holds a lock
// on its directory for as long as it lives (storage/dir_lock.hpp), so a
// directory whose lock can be taken belongs to a node that has ended,
// however it ended; `remove_dead` (for `lumen stop`) removes such
// directories once no node is left to adopt them.
//
// Thread safety: every member may be called from any thread, except that
// `next_commit_batch`, `committed` and `retry` belong to one caller at a
// time (the actor).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "lineage/u64_set.hpp"
#include "lumen/ids.hpp"

namespace lumen::detail {

class rocks_db;
struct task_spec;

class lineage_stash {
 public:
  /// Rows on their way to the GCS: one segment of the stash, its rows
  /// as one lineage batch (wire/lineage_batch.hpp) keyed by the ids as
  /// text, how many, and the segment's number for `committed` and
  /// `retry`. `rows` is the segment's own buffer, not a copy: nothing
  /// changes it while the batch is in flight. Reset `rows` before calling
  /// `committed`, so that its buffer can serve a later segment.
  struct commit_batch {
    std::uint64_t seq = 0;
    std::size_t count = 0;
    std::shared_ptr<const std::string> rows;
    bool empty() const noexcept {
      return count == 0;
    }
  };

  /// Rows a segment holds at most (and so a batch).
  static constexpr std::size_t segment_rows = 4096;

  /// Opens (creating) the stash's RocksDB store at `path`; rows found
  /// there are uncommitted lineage of an earlier run and are queued for
  /// the GCS again. Throws lumen::error if the store cannot be opened.
  explicit lineage_stash(const std::string& path);

  /// Writes the rows not on disk yet (a clean stop keeps them too).
  ~lineage_stash();

  lineage_stash(const lineage_stash&) = delete;
  lineage_stash& operator=(const lineage_stash&) = delete;

  /// Queues `spec` (an encoded TaskSpec) of task `id`, whose ref arguments
  /// were produced by the tasks `deps`. A spec still uncommitted here is
  /// kept once. Returns true if no row waited to be taken in before (the
  /// caller then wakes the lineage_stash actor).
  bool append(const task_id& id, std::string spec, std::vector<task_id> deps);

  /// Queues `task` itself, to be encoded (without the lineage it may carry)
  /// when the stash next takes its queued rows in, off the submitting
  /// thread; until then the stash holds the spec, and with it its
  /// arguments. `task` must not change once queued, and its id must be new
  /// to the stash (a fresh submission): it is not looked up. Returns as
  /// `append`.
  bool append(std::shared_ptr<const task_spec> task);

  /// Rows take_in encodes between two yields of its thread.
  static constexpr std::size_t take_in_chunk = 256;

  /// Takes the queued rows in, as every other member does first, but
  /// `chunk` rows at a time, yielding the core between chunks without
  /// holding the stash's lock. For the actor: its work is never urgent,
  /// and a thread that woke on its core (a task's worker, the node
  /// manager) runs at once instead of waiting out the take-in of a whole
  /// period's rows. Rows queued during the call may stay queued.
  void take_in(std::size_t chunk = take_in_chunk);

  /// Writes to RocksDB, without waiting for the disk, the uncommitted rows
  /// that came before the previous call and are not on their way to the
  /// GCS (with `all`: every uncommitted row not on disk yet); returns how
  /// many.
  std::size_t flush_to_disk(bool all = false);

  /// Whether rows wait that `flush_to_disk` may have to write.
  bool has_unflushed();

  /// The oldest uncommitted rows not yet sent to the GCS, at most `max`
  /// of them (and at most one segment); they count as in flight until
  /// `committed` or `retry` with the batch's seq. With `ripe_only`, only
  /// rows that were here at the last `ripen`, or a segment holding rows
  /// from peers only (those cannot be collected here: nothing to wait for).
  commit_batch next_commit_batch(std::size_t max = segment_rows,
                                 bool ripe_only = false);

  /// Makes every row taken in ripe, for `next_commit_batch(max, true)`;
  /// rows that come later go to a segment of their own. Returns how many
  /// rows were not ripe before. The actor ripens once a period and sends
  /// only ripe rows: a row waits one to two periods, time for most tasks'
  /// objects to be freed and their rows dropped (`discard`) instead.
  std::size_t ripen();

  /// The GCS committed batch `seq`: drop its rows here and on disk.
  void committed(std::uint64_t seq);

  /// Sending batch `seq` failed: send its rows again later.
  void retry(std::uint64_t seq);

  /// What `discard` did: rows dropped, and the ids whose lineage the GCS
  /// may still hold, to delete there.
  struct discarded {
    std::size_t dropped = 0;
    std::vector<task_id> to_delete;
  };

  /// Drops the rows of the tasks `ids` that are still here and not on
  /// their way to the GCS: their owner collected their lineage before it
  /// was committed (lineage collection), so it never goes. Queued rows go
  /// before they are encoded; a segment keeps its other rows. A dropped
  /// row counts as committed (`committed_total`). The GCS may hold the
  /// lineage of the rest (committed, in flight, or never stashed here),
  /// and of the dropped rows that were `shared`: a node they went to may
  /// commit a copy.
  discarded discard(std::vector<task_id> ids);

  /// The rows of `ids` went to another node (a task sent there and the
  /// uncommitted lineage it took along), which commits copies of them.
  /// Each id is kept until its row is committed or discarded, or, for an
  /// id whose row is not here, until every row held at the time has gone.
  /// Cheap: no look-up (it runs for every task sent to a peer).
  void shared(const std::vector<task_id>& ids);

  /// Ids `shared` keeps now (tests).
  std::size_t shared_ids() const;

  /// Rows in segments (taken in, not yet committed), without taking the
  /// queued rows in first as `uncommitted` does.
  std::size_t held() const;

  /// The spec of task `id` if it is still here (uncommitted).
  std::optional<std::string> find(const task_id& id);

  /// The uncommitted specs that `deps` and, recursively, their own
  /// dependencies consist of, each once.
  /// Their ids go to `ids` if given.
  std::vector<std::string>
  uncommitted_ancestors(const std::vector<task_id>& deps,
                        std::vector<task_id>* ids = nullptr);

  /// Rows not yet committed (queued, on disk or in flight).
  std::size_t uncommitted();

  /// Moves the rows of every stash directory next to this one (same
  /// parent, named by a process id) whose process is gone into this stash,
  /// then deletes that directory; returns how many rows came over.
  std::size_t adopt_orphans();

  /// Removes the stash directories in `root` (`<runtime-dir>/stash`) of
  /// nodes that have ended (their lock is free), with their uncommitted
  /// rows, as a node's clean stop does with its own; returns how many.
  static std::size_t remove_dead(const std::string& root) noexcept;

  /// Rows committed since the stash opened.
  std::uint64_t committed_total() const;

  const std::string& path() const;

 private:
  /// Rows in arrival order, packed as one lineage batch: what goes to the
  /// GCS in one message, to disk in one write, and away in one commit.
  /// No allocation per row; look-ups scan the few uncommitted segments.
  struct segment {
    struct row {
      task_id id;
      /// Offset of the row in `rows`.
      std::uint32_t at = 0;
      /// Its dependencies: deps[deps_begin, deps_end).
      std::uint32_t deps_begin = 0;
      std::uint32_t deps_end = 0;
    };
    std::uint64_t seq = 0;
    /// Shared with the commit batch while it is in flight.
    std::shared_ptr<std::string> rows = std::make_shared<std::string>();
    std::vector<row> index;
    std::vector<task_id> deps;
    /// flushes_ when the segment was opened (or its batch failed).
    std::uint64_t born = 0;
    /// Taking no more rows (sent, written, ripe, or full).
    bool sealed = false;
    /// Its rows may go to the GCS (`ripen`).
    bool ripe = false;
    /// Holds a row of a task submitted here. Only such rows can be
    /// collected here (this node's pins), so a segment of rows that came
    /// from peers goes without ripening.
    bool local = false;
    bool in_flight = false;
    bool on_disk = false;
    /// Positions in `index`, by id: built by the first look-up once
    /// sealed (an open segment is scanned).
    std::vector<std::uint32_t> by_id;
  };

  /// An appended row not yet in a segment: its spec encoded, or the task
  /// to encode.
  struct incoming_row {
    task_id id;
    std::string spec;
    std::vector<task_id> deps;
    std::shared_ptr<const task_spec> task;
  };

  /// Takes in the rows an earlier run left in `db_`; from the constructor.
  void load();

  /// Moves the appended rows into segments; call with `mtx_` held.
  void drain();

  /// Moves at most `limit` appended rows into segments, first those taken
  /// from the queue before; returns whether taken rows remain. Call with
  /// `mtx_` held.
  bool drain_some(std::size_t limit);

  /// The segment open for rows (a new one if none is); call with `mtx_`.
  segment& open_segment();

  /// Keeps the buffers of `seg`, committed, for a later segment if few are
  /// kept and nothing else holds its rows; call with `mtx_`.
  void recycle(segment& seg);

  /// Adds a row of `id`, whose spec `write` appends to the segment's
  /// rows; call with `mtx_` held.
  template <class Write>
  void add_row(const task_id& id, const std::vector<task_id>& deps,
               Write&& write);

  /// add_row with the spec as it is; call with `mtx_` held.
  void add_spec_row(const task_id& id, const std::vector<task_id>& deps,
                    std::string_view spec);

  /// Where the row of `id` is, if uncommitted here; call with `mtx_`.
  const segment::row* locate(const task_id& id, const segment** in);

  /// The spec of `r` in `seg`.
  static std::string_view spec_of(const segment& seg, const segment::row& r);

  /// Drops from `seg` the rows whose ids `table` holds (and marks them
  /// dropped there); returns how many; the stash keys of dropped rows on
  /// disk go to `disk_keys`. Call with `mtx_` held, `seg` not in flight.
  template <class Table>
  std::size_t discard_in(segment& seg, Table& table,
                         std::vector<std::string>& disk_keys);

  /// The segment with number `seq`, or null.
  segment* segment_of(std::uint64_t seq);

  /// Forgets `id` as shared; whether it was. Call with `mtx_` held.
  bool unshare(const task_id& id);

  /// Forgets the older generation of shared ids and row keys once its
  /// mark is reached. Call with `mtx_` held, after committed_total_ grew.
  void age_generations();

  /// The non-zero key of `id` in present_.
  static std::uint64_t present_key(const task_id& id) noexcept {
    return (id.hi ^ (id.lo * 0x9e3779b97f4a7c15ULL)) | 1;
  }

  /// Whether a row of `id` may be here (false: it is not).
  bool maybe_present(const task_id& id) const noexcept {
    auto k = present_key(id);
    return present_[0].contains(k) || present_[1].contains(k);
  }

  /// Guards `incoming_` only, held for a push: `append` (the submitting
  /// thread) never waits while the actor commits or flushes under mtx_.
  /// Order: mtx_, then in_mtx_.
  std::mutex in_mtx_;
  std::vector<incoming_row> incoming_;
  mutable std::mutex mtx_;
  /// Rows taken from `incoming_` (swapped: the appending thread goes on
  /// with this vector's old buffer), the first `taken_` of them already
  /// in segments.
  std::vector<incoming_row> taking_;
  std::size_t taken_ = 0;
  /// One task's dependencies, while its row is added.
  std::vector<task_id> deps_buffer_;
  /// Oldest first; only the last may be open.
  std::deque<segment> segments_;
  /// Emptied segments whose buffers (rows, index, deps) the next ones
  /// take: a segment written into fresh memory faults in every page of
  /// its few hundred KiB, which cost more than encoding its rows did.
  std::vector<segment> spare_segments_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t flushes_ = 0;
  std::size_t rows_ = 0;
  /// Bytes and rows of the segment sent last.
  std::size_t last_bytes_ = 0;
  std::size_t last_rows_ = 0;
  std::uint64_t committed_total_ = 0;
  /// Ids of rows that went to another node (`shared`), in two
  /// generations: the older is forgotten once every segment that existed
  /// when it became the older has gone (`aged_seq_`, the last segment
  /// then), so an id whose row had already gone does not stay.
  std::unordered_set<task_id> shared_[2];
  std::uint64_t aged_seq_ = 0;
  /// Keys (`present_key`) of every row added, in the same two
  /// generations: a row from a peer whose key is in neither is new, and
  /// skips the search for a copy already here (`locate` walks the open
  /// segment and sorts sealed ones that `discard` reshaped; per peer row,
  /// that took a tenth of a two-node task run).
  u64_set present_[2];
  /// The lock on the stash's directory, held while the stash lives.
  int lock_fd_ = -1;
  std::unique_ptr<rocks_db> db_;
};

/// The tasks whose returns `task` takes as ref arguments (put objects have
/// no producing task and are left out).
std::vector<task_id> task_deps(const task_spec& task);

/// The same, appended to `deps`.
void append_task_deps(std::vector<task_id>& deps, const task_spec& task);

/// The task id and dependencies of an encoded TaskSpec; throws
/// lumen::decode_error for bad bytes.
std::pair<task_id, std::vector<task_id>> spec_deps(const std::string& spec);

/// Encodes `task` (without the lineage it may carry) and appends it to
/// `stash`; returns append's result.
bool stash_task(lineage_stash& stash, const task_spec& task);

} // namespace lumen::detail

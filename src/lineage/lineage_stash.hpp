// The lineage stash: this node's log of task specs not yet committed to
// the GCS ("commit lineage later").
//
// Every task submitted on, or forwarded through, this node is appended
// here as its encoded TaskSpec: `append` only pushes the row onto a queue
// of its own (a lock held for the push alone), so submitting never waits
// for the disk nor behind the actor's work; every other member first moves
// the queued rows into the stash proper. The lineage_stash actor sends rows
// to the GCS in batches (`next_commit_batch`) and, once the GCS has
// committed them, drops them here (`committed`). A row still uncommitted
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
// (`adopt_orphans`) and commits them like its own.
//
// Thread safety: every member may be called from any thread, except that
// `next_commit_batch`, `committed` and `retry` belong to one caller at a
// time (the actor): a batch reads its rows' specs after the lock is gone.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lumen/ids.hpp"

namespace lumen::detail {

class kv_store;

class lineage_stash {
 public:
  /// Rows on their way to the GCS: their ids, and the rows themselves as
  /// one lineage batch (wire/lineage_batch.hpp) keyed by the ids as text.
  struct commit_batch {
    std::vector<task_id> ids;
    std::string rows;
    bool empty() const noexcept {
      return ids.empty();
    }
  };

  /// Opens (creating) the stash's RocksDB store at `path`; rows found
  /// there are uncommitted lineage of an earlier run and are queued for
  /// the GCS again. Throws lumen::error if the store cannot be opened.
  explicit lineage_stash(const std::string& path);

  /// Writes the rows not on disk yet (a clean stop keeps them too).
  ~lineage_stash();

  lineage_stash(const lineage_stash&) = delete;
  lineage_stash& operator=(const lineage_stash&) = delete;

  /// Queues `spec` (an encoded TaskSpec) of task `id`, whose ref arguments
  /// were produced by the tasks `deps`. A spec already here is kept once.
  /// Returns true if no row waited to be sent before (the caller then
  /// wakes the lineage_stash actor).
  bool append(const task_id& id, std::string spec, std::vector<task_id> deps);

  /// Writes to RocksDB, without waiting for the disk, the uncommitted rows
  /// that came before the previous call (with `all`: every uncommitted row
  /// not on disk yet); returns how many.
  std::size_t flush_to_disk(bool all = false);

  /// Whether rows wait that `flush_to_disk` may have to write.
  bool has_unflushed();

  /// Up to `max` uncommitted rows not yet sent to the GCS, oldest first;
  /// they count as in flight until `committed` or `retry`.
  commit_batch next_commit_batch(std::size_t max);

  /// The GCS committed these rows: drop them here and on disk.
  void committed(const std::vector<task_id>& ids);

  /// Sending these rows failed: send them again later.
  void retry(const std::vector<task_id>& ids);

  /// The spec of task `id` if it is still here (uncommitted).
  std::optional<std::string> find(const task_id& id);

  /// The uncommitted specs that `deps` and, recursively, their own
  /// dependencies consist of, each once.
  std::vector<std::string>
  uncommitted_ancestors(const std::vector<task_id>& deps);

  /// Rows not yet committed (queued, on disk or in flight).
  std::size_t uncommitted();

  /// Moves the rows of every stash directory next to this one (same
  /// parent, named by a process id) whose process is gone into this stash,
  /// then deletes that directory; returns how many rows came over.
  std::size_t adopt_orphans();

  /// Rows committed since the stash opened.
  std::uint64_t committed_total() const;

  const std::string& path() const;

 private:
  struct entry {
    std::string spec;
    std::vector<task_id> deps;
    bool on_disk = false;
    bool in_flight = false;
  };

  /// An appended row not yet in `rows_`.
  struct incoming_row {
    task_id id;
    std::string spec;
    std::vector<task_id> deps;
  };

  static entry entry_of(std::string spec);

  /// Moves the appended rows into `rows_`; call with `mtx_` held.
  void drain();

  /// Guards `incoming_` only, held for a push: `append` (the submitting
  /// thread) never waits while the actor commits or flushes under mtx_.
  /// Order: mtx_, then in_mtx_.
  std::mutex in_mtx_;
  std::vector<incoming_row> incoming_;
  mutable std::mutex mtx_;
  std::unordered_map<task_id, entry> rows_;
  /// Not on disk: appended since the last flush, and before it.
  std::vector<task_id> fresh_;
  std::vector<task_id> aging_;
  /// Not yet sent to the GCS, in order.
  std::vector<task_id> to_send_;
  /// Written to disk while being committed: deleted there at the next
  /// commit.
  std::vector<task_id> gone_on_disk_;
  std::uint64_t committed_total_ = 0;
  std::unique_ptr<kv_store> db_;
};

struct task_spec;

/// The tasks whose returns `task` takes as ref arguments (put objects have
/// no producing task and are left out).
std::vector<task_id> task_deps(const task_spec& task);

/// The task id and dependencies of an encoded TaskSpec; throws
/// lumen::decode_error for bad bytes.
std::pair<task_id, std::vector<task_id>> spec_deps(const std::string& spec);

/// Encodes `task` (without the lineage it may carry) and appends it to
/// `stash`; returns append's result.
bool stash_task(lineage_stash& stash, const task_spec& task);

} // namespace lumen::detail

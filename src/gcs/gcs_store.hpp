// The GCS's tables on disk: what a head writes before it acknowledges a
// change, and reads back when it starts again with the same directory.
//
// One RocksDB store (rocks_db) per head, rows by table prefix:
//
// | key                         | value                                   |
// | --------------------------- | --------------------------------------- |
// | `node/<node id>`            | StoredNode (order + NodeRecord)         |
// | `actor/<actor id>`          | StoredActor                             |
// | `pg/<group id>`             | StoredGroup                             |
// | `kv/<ns size, 4 hex><ns><key>` | the value's bytes                    |
// | `lineage-log/<seq>`         | a batch of committed specs (lineage_log) |
//
// Actor, placement group, key-value and lineage writes are synced (on disk
// when the call returns); node rows are not (a process crash loses nothing
// that write() handed to the kernel; a machine crash may lose the last
// node updates, which re-registration repairs). A write that fails throws
// lumen::error and the caller must not acknowledge the change.
//
// A store that keeps only lineage (keep_tables(false): the private store of
// an embedded cluster, which nothing reads back) writes no node, actor,
// group or key-value rows and loads none: the gcs actor keeps those tables
// in memory, as without a store.
//
// Without a rocks_db (null) the store is memory only: writes of nodes,
// actors, groups and key-value rows do nothing (the gcs actor keeps those
// tables in memory anyway), and lineage is kept in a map here, since the
// GCS keeps only its count otherwise.
//
// Thread safety: none; owned by the gcs actor.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gcs/gcs_rows.hpp"
#include "lineage/lineage_log.hpp"
#include "storage/rocks_db.hpp"

namespace lumen::detail {

/// What a GCS finds in its store when it starts.
struct gcs_snapshot {
  struct kv_row {
    std::string ns;
    std::string key;
    std::string value;
  };
  /// In registration order.
  std::vector<stored_node> nodes;
  std::vector<stored_actor> actors;
  std::vector<stored_group> groups;
  std::vector<kv_row> kv;
  std::uint64_t lineage_rows = 0;
  /// Rows that could not be read and were skipped: key and reason.
  std::vector<std::string> skipped;
};

class gcs_store {
 public:
  /// Memory only when `db` is null.
  explicit gcs_store(std::shared_ptr<rocks_db> db = nullptr);

  gcs_store(gcs_store&&) noexcept;
  gcs_store& operator=(gcs_store&&) noexcept;
  ~gcs_store();

  bool durable() const noexcept {
    return db_ != nullptr;
  }

  /// The RocksDB directory, "" when memory only.
  std::string path() const;

  /// Reads every table (empty when memory only); also counts the lineage
  /// rows for lineage_count().
  gcs_snapshot load();

  /// Reads one stored row of the node, actor, group or key-value table
  /// into `into`, as `load` does for each row it finds: a damaged row goes
  /// to `into.skipped` with the reason; keys of other tables are ignored.
  /// (Node rows are ordered by `load` once all are read.)
  static void load_row(std::string_view key, std::string_view value,
                       gcs_snapshot& into);

  // -- writes (see the header comment for which are synced) ------------------

  void put_node(const stored_node& x);
  void put_actor(const stored_actor& x);
  void erase_actor(const std::string& id);
  void put_group(const stored_group& x);
  void erase_group(const std::string& id);
  void put_kv(const std::string& ns, const std::string& key,
              const std::string& value);
  void erase_kv(const std::string& ns, const std::string& key);

  // -- committed lineage ------------------------------------------------------

  /// Commits `specs[i]` as the lineage of `ids[i]` for every i, as one
  /// synced batch of the lineage log (a row committed again replaces the
  /// earlier one). Throws lumen::error when the
  /// sizes differ, an id is empty, or the write fails.
  void commit_lineage(const std::vector<std::string>& ids,
                      const std::vector<std::string>& specs);

  /// Commits the rows of a lineage batch (wire/lineage_batch.hpp) the same
  /// way; returns how many there were. Throws lumen::error if the batch is
  /// malformed or the write fails.
  std::size_t commit_lineage_batch(std::string batch);

  /// The spec committed for `id`, empty if none.
  std::vector<char> get_lineage(const std::string& id) const;

  /// Whether node, actor, group and key-value rows go to the store
  /// (default true); false: only lineage does. Set before load().
  void keep_tables(bool on) noexcept {
    tables_ = on;
  }

  /// Whether commit_lineage waits for the disk (default true).
  void sync_lineage(bool on) noexcept {
    sync_lineage_ = on;
  }

  /// Distinct task ids committed.
  std::uint64_t lineage_count() const;

  /// Deletes the lineage of `ids` (collected by their owners); returns how
  /// many rows were found. Throws lumen::error if the store cannot be
  /// written.
  std::size_t erase_lineage(const std::vector<std::string>& ids);

  /// Bytes the committed lineage takes in the store (as written, before
  /// RocksDB's own compression and compaction).
  std::uint64_t lineage_bytes() const;

  /// The lineage log, for a stash in this process to commit to as this
  /// store would (sync_lineage); null without a rocks_db.
  local_lineage_log local_lineage() const {
    return {lineage_, sync_lineage_};
  }

  // -- keys
  // ---------------------------------------------------------------------

  static std::string node_key(const std::string& id);
  static std::string actor_key(const std::string& id);
  static std::string group_key(const std::string& id);
  static std::string kv_key(const std::string& ns, const std::string& key);
  /// Key prefix of the lineage log's rows.
  static std::string lineage_prefix();

 private:
  std::shared_ptr<rocks_db> db_;
  bool sync_lineage_ = true;
  bool tables_ = true;
  /// Lineage of a durable store.
  std::shared_ptr<lineage_log> lineage_;
  /// Lineage of a memory-only store.
  std::unordered_map<std::string, std::string> lineage_mem_;
};

} // namespace lumen::detail

// A small key-value store on RocksDB: what the lineage stash and the
// durable GCS tables share.
//
// Keys are byte strings; callers put a table prefix in front of them
// (`"node/"`, `"actor/"`, ...) and scan a table with `scan(prefix)`.
// Writes go through `batch` so that several rows land at once; `sync`
// decides whether a write waits for the disk (the GCS's commits) or not
// (the stash's appends).
//
// A full disk never reaches RocksDB (whose write-ahead log aborts the
// process on a write after a failed one, and again when the store is
// closed or opened on a full disk): before each write the free space of
// the store's file system is checked, and with less than min_free_bytes
// left (plus the write) the write throws lumen::error saying so, touching
// nothing; it succeeds again once space is back. A store opened on a disk
// that full is opened read-only (reads work, writes throw) and becomes
// writable again by itself, at a later write, once space is back. A write
// RocksDB fails anyway (the disk filled between the check and the write, a
// file size limit) leaves the store refusing writes until the process
// starts again; it is then never closed, only left to the process's end,
// so that RocksDB does not abort. Each of these is logged at error level.
//
// Files are private: the directory is made with mode 0700 and every file
// RocksDB makes in it gets mode 0600.
//
// Thread safety: every member may be called from any thread (RocksDB's own
// guarantee; reopening takes a lock of its own); a `batch` is a plain value
// of one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rocksdb {
class Status;
} // namespace rocksdb

namespace lumen::detail {

class rocks_db {
 public:
  /// Rows to write together.
  class batch {
   public:
    void put(std::string key, std::string value);
    void erase(std::string key);
    bool empty() const noexcept {
      return ops_.empty();
    }
    std::size_t size() const noexcept {
      return ops_.size();
    }

   private:
    friend class rocks_db;
    struct op {
      std::string key;
      std::optional<std::string> value; // none: erase
    };
    std::vector<op> ops_;
  };

  /// Free bytes a write must leave on the store's file system.
  static constexpr std::uint64_t min_free_bytes = std::uint64_t{32} << 20;

  /// Opens (creating if needed) the store in directory `path`; throws
  /// lumen::error naming the path and what to do: another process holds it
  /// (a second head on the same directory), it is damaged, or it cannot be
  /// read. On a full disk it opens read-only instead. A `scratch` store
  /// is one nothing reads once this process ends (an embedded cluster's
  /// private GCS store): writes without `sync` skip RocksDB's write-ahead
  /// log, and tables are not compressed.
  explicit rocks_db(const std::string& path, bool scratch = false);

  ~rocks_db();

  rocks_db(const rocks_db&) = delete;
  rocks_db& operator=(const rocks_db&) = delete;

  /// Applies `b` atomically; with `sync`, returns once it is on disk.
  /// Throws lumen::error on failure.
  void write(const batch& b, bool sync);

  /// Writes one row, as `write` of a batch holding only it would.
  void put(const std::string& key, std::string_view value, bool sync);

  void erase(const std::string& key, bool sync);

  /// The value of `key`, if any.
  std::optional<std::string> get(const std::string& key) const;

  /// Calls `f(key, value)` for every row whose key starts with `prefix`, in
  /// key order, until it returns false.
  void
  scan(std::string_view prefix,
       const std::function<bool(std::string_view, std::string_view)>& f) const;

  /// Rows whose key starts with `prefix`.
  std::size_t count(std::string_view prefix) const;

  const std::string& path() const noexcept {
    return path_;
  }

  /// Whether the store was opened as scratch.
  bool scratch() const noexcept {
    return scratch_;
  }

  /// Whether writes are refused now: opened read-only on a full disk and
  /// not reopened yet, or a write failed in RocksDB.
  bool read_only() const;

  /// Deletes the store's directory and everything in it (after closing).
  static void destroy(const std::string& path);

 private:
  /// Throws lumen::error saying what to do when opening failed.
  static void check(const rocksdb::Status& s, const std::string& path);
  /// Throws lumen::error if a write of `bytes` must not reach RocksDB now.
  void before_write(std::size_t bytes);
  /// Reopens a read-only store for writing once there is space again.
  void reopen_writable();
  /// Marks the store failed after RocksDB failed a write; throws.
  [[noreturn]] void write_failed(const rocksdb::Status& s);

  struct impl;
  std::unique_ptr<impl> impl_;
  std::string path_;
  bool scratch_ = false;
};

} // namespace lumen::detail

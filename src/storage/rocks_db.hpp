// A small key-value store on RocksDB: what the lineage stash and the
// durable GCS tables share.
//
// Keys are byte strings; callers put a table prefix in front of them
// (`"node/"`, `"actor/"`, ...) and scan a table with `scan(prefix)`.
// Writes go through `batch` so that several rows land at once; `sync`
// decides whether a write waits for the disk (the GCS's commits) or not
// (the stash's appends).
//
// Thread safety: every member may be called from any thread (RocksDB's own
// guarantee); a `batch` is a plain value of one thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

  /// Opens (creating if needed) the store in directory `path`; throws
  /// lumen::error naming the path and RocksDB's reason. A `scratch` store
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

  /// Deletes the store's directory and everything in it (after closing).
  static void destroy(const std::string& path);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string path_;
  bool scratch_ = false;
};

} // namespace lumen::detail

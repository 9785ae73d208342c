// rocks_db on RocksDB.
#include "storage/rocks_db.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <shared_mutex>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_batch.h>

#include "log/log.hpp"
#include "lumen/error.hpp"

namespace lumen::detail {

namespace {

using steady = std::chrono::steady_clock;

/// RocksDB's own file system, with every file it creates made private
/// (mode 0600) right after.
class private_fs : public rocksdb::FileSystemWrapper {
 public:
  explicit private_fs(const std::shared_ptr<rocksdb::FileSystem>& t)
    : FileSystemWrapper(t) {}

  static const char* kClassName() {
    return "LumenPrivateFileSystem";
  }

  const char* Name() const override {
    return kClassName();
  }

  rocksdb::IOStatus NewWritableFile(const std::string& f,
                                    const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* d) override {
    return private_file(f, target()->NewWritableFile(f, o, r, d));
  }

  rocksdb::IOStatus
  ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                     std::unique_ptr<rocksdb::FSWritableFile>* r,
                     rocksdb::IODebugContext* d) override {
    return private_file(f, target()->ReopenWritableFile(f, o, r, d));
  }

  rocksdb::IOStatus
  ReuseWritableFile(const std::string& f, const std::string& old,
                    const rocksdb::FileOptions& o,
                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                    rocksdb::IODebugContext* d) override {
    return private_file(f, target()->ReuseWritableFile(f, old, o, r, d));
  }

  rocksdb::IOStatus NewRandomRWFile(const std::string& f,
                                    const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* r,
                                    rocksdb::IODebugContext* d) override {
    return private_file(f, target()->NewRandomRWFile(f, o, r, d));
  }

  rocksdb::IOStatus LockFile(const std::string& f, const rocksdb::IOOptions& o,
                             rocksdb::FileLock** l,
                             rocksdb::IODebugContext* d) override {
    return private_file(f, target()->LockFile(f, o, l, d));
  }

  rocksdb::IOStatus NewLogger(const std::string& f, const rocksdb::IOOptions& o,
                              std::shared_ptr<rocksdb::Logger>* r,
                              rocksdb::IODebugContext* d) override {
    return private_file(f, target()->NewLogger(f, o, r, d));
  }

 private:
  static rocksdb::IOStatus private_file(const std::string& f,
                                        rocksdb::IOStatus s) {
    if (s.ok())
      ::chmod(f.c_str(), 0600);
    return s;
  }
};

/// The Env every store uses; never destroyed (RocksDB's threads may use it
/// until the process ends).
rocksdb::Env* private_env() {
  static auto* env = rocksdb::NewCompositeEnv(std::make_shared<private_fs>(
                                                rocksdb::FileSystem::Default()))
                       .release();
  return env;
}

/// Makes `path` and its missing parents with mode 0700, and `path` itself
/// 0700 if it exists already; throws lumen::error if it cannot.
void make_private_dir(const std::string& path) {
  std::error_code ec;
  auto parent = std::filesystem::path{path}.parent_path();
  if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
    std::string prefix;
    for (auto& part : parent) {
      prefix = (std::filesystem::path{prefix} / part).string();
      ::mkdir(prefix.c_str(), 0700);
    }
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    throw error("cannot create the directory " + path + ": " +
                std::error_code{errno, std::generic_category()}.message());
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw error("cannot create the directory " + path +
                ": a file of that name is in the way");
  if ((st.st_mode & 0777) != 0700)
    ::chmod(path.c_str(), 0700);
}

/// Files a store made before its files were private: made private now.
void make_files_private(const std::string& path) {
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator{path, ec})
    if (e.is_regular_file(ec))
      ::chmod(e.path().c_str(), 0600);
}

/// The pid of another process holding RocksDB's lock on the store at
/// `path`, or 0.
pid_t lock_holder(const std::string& path) {
  int fd = ::open((path + "/LOCK").c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return 0;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  pid_t pid = 0;
  if (::fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
    pid = fl.l_pid;
  ::close(fd);
  return pid;
}

/// Free bytes for an unprivileged writer on the file system of `path`
/// (all of them if it cannot tell).
std::uint64_t free_bytes(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0)
    return UINT64_MAX;
  return static_cast<std::uint64_t>(fs.f_bavail) *
         static_cast<std::uint64_t>(fs.f_frsize);
}

std::string mib(std::uint64_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

std::string in_use(const std::string& path, const std::string& holder) {
  return "the RocksDB store " + path + " is in use by " + holder +
         ": another node (a second head on the same runtime directory and "
         "port?) runs on it; stop that node (lumen stop), or give this one "
         "another --runtime-dir, --port or --gcs-dir";
}

[[noreturn]] void open_failed(const rocksdb::Status& s,
                              const std::string& path) {
  auto why = s.ToString();
  if (s.IsIOError() && (why.find("lock") != std::string::npos ||
                        why.find("LOCK") != std::string::npos))
    throw error(in_use(path, "this process or another (" + why + ")"));
  if (s.IsCorruption())
    throw error("the RocksDB store " + path + " is damaged (" + why +
                "): move the directory away to start with empty tables (its "
                "rows are then lost), or put back a copy from a backup");
  throw error("cannot open the RocksDB store " + path + ": " + why);
}

} // namespace

struct rocks_db::impl {
  /// Shared by every read and write, exclusive to reopen.
  mutable std::shared_mutex mtx;
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::Options opts;
  /// Opened read-only (a full disk at open), not reopened yet.
  std::atomic<bool> read_only{false};
  /// A write failed in RocksDB: no more writes, and never closed.
  std::atomic<bool> failed{false};
  std::string failure; // under gate
  /// The free-space check before writes.
  std::mutex gate;
  std::uint64_t free_at_check = 0;
  /// Whether the last check found the disk full (logged once per episode).
  bool full = false;
  steady::time_point last_reopen{};

  /// Opens `path` read-write, or read-only if `read_only`.
  rocksdb::Status open(const std::string& path, bool ro) {
    rocksdb::DB* raw = nullptr;
    auto s = ro ? rocksdb::DB::OpenForReadOnly(opts, path, &raw)
                : rocksdb::DB::Open(opts, path, &raw);
    if (s.ok()) {
      db.reset(raw);
      read_only = ro;
    }
    return s;
  }
};

void rocks_db::batch::put(std::string key, std::string value) {
  ops_.push_back(op{std::move(key), std::move(value)});
}

void rocks_db::batch::erase(std::string key) {
  ops_.push_back(op{std::move(key), std::nullopt});
}

rocks_db::rocks_db(const std::string& path, bool scratch)
  : impl_(std::make_unique<impl>()), path_(path), scratch_(scratch) {
  make_private_dir(path);
  if (auto pid = lock_holder(path); pid != 0)
    throw error(in_use(path, "process " + std::to_string(pid)));
  auto& opts = impl_->opts;
  opts.env = private_env();
  opts.create_if_missing = true;
  // Small tables: keep RocksDB's threads and memory modest.
  opts.max_background_jobs = 2;
  opts.write_buffer_size = 16 << 20;
  opts.keep_log_file_num = 2;
  opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  if (scratch)
    opts.compression = rocksdb::kNoCompression;
  // Bloom filters, in tables and in the memtable: looking up a key that is
  // not there (the common case when checking before an insert) then reads
  // no table index.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Tables holding many deletions are compacted soon, not when a level
  // fills: collected lineage (and committed stash rows) give their disk
  // space back while the rows around them stay (lineage_log.hpp).
  opts.table_properties_collector_factories.emplace_back(
    rocksdb::NewCompactOnDeletionCollectorFactory(128, 32));
  opts.memtable_prefix_bloom_size_ratio = 0.05;
  opts.memtable_whole_key_filtering = true;
  make_files_private(path);
  // RocksDB aborts the process when it opens a store on a full disk: such
  // a store is opened read-only.
  auto free = free_bytes(path);
  bool has_store = std::filesystem::exists(path + "/CURRENT");
  if (free < min_free_bytes && has_store) {
    check(impl_->open(path, true), path);
    log_error("the disk of ", path, " has ", mib(free), " free, less than the ",
              mib(min_free_bytes),
              " a store needs to be written: it is open READ-ONLY; writes "
              "fail until space is freed there, then resume by themselves");
    return;
  }
  if (free < min_free_bytes)
    throw error("cannot create the RocksDB store " + path + ": its disk has " +
                mib(free) + " free, less than the " + mib(min_free_bytes) +
                " a store needs; free space there and start again");
  check(impl_->open(path, false), path);
}

void rocks_db::check(const rocksdb::Status& s, const std::string& path) {
  if (!s.ok())
    open_failed(s, path);
}

rocks_db::~rocks_db() {
  if (impl_ && impl_->failed.load()) {
    // Closing a store whose write-ahead log failed a write aborts in
    // RocksDB: it is left to the end of the process instead.
    log_warn("left the RocksDB store ", path_,
             " open: it failed a write, and closing it now would abort");
    (void)impl_->db.release();
  }
}

bool rocks_db::read_only() const {
  return impl_->read_only.load() || impl_->failed.load();
}

void rocks_db::reopen_writable() {
  auto& m = *impl_;
  {
    std::lock_guard g{m.gate};
    auto now = steady::now();
    if (now - m.last_reopen < std::chrono::seconds(1))
      return;
    m.last_reopen = now;
  }
  auto free = free_bytes(path_);
  if (free < min_free_bytes)
    return;
  std::unique_lock lock{m.mtx};
  if (!m.read_only.load())
    return;
  m.db.reset();
  auto s = m.open(path_, false);
  if (s.ok()) {
    log_info("the RocksDB store ", path_, " is writable again (", mib(free),
             " free)");
    return;
  }
  log_error("cannot reopen the RocksDB store ", path_,
            " for writing: ", s.ToString(), "; it stays read-only");
  auto back = m.open(path_, true);
  if (!back.ok())
    log_error("cannot reopen the RocksDB store ", path_,
              " even read-only: ", back.ToString());
}

void rocks_db::before_write(std::size_t bytes) {
  auto& m = *impl_;
  if (m.failed.load()) {
    std::lock_guard g{m.gate};
    throw error(m.failure);
  }
  if (m.read_only.load()) {
    reopen_writable();
    if (m.read_only.load())
      throw error("cannot write to the RocksDB store " + path_ +
                  ": it is open read-only, its disk having less than " +
                  mib(min_free_bytes) +
                  " free; free space there (writes resume by themselves)");
  }
  // Checked at every write (a statvfs, about a microsecond): space taken
  // by another program since the last write counts too.
  auto free = free_bytes(path_);
  std::lock_guard g{m.gate};
  m.free_at_check = free;
  auto need = min_free_bytes + bytes;
  if (m.free_at_check < need) {
    auto msg = "cannot write to the RocksDB store " + path_ +
               ": its disk is full (" + mib(m.free_at_check) +
               " free, a write must leave " + mib(min_free_bytes) +
               "); free space there (writes resume by themselves)";
    if (!m.full) {
      m.full = true;
      log_error(msg);
    }
    throw error(msg);
  }
  if (m.full) {
    m.full = false;
    log_info("the disk of the RocksDB store ", path_, " has ",
             mib(m.free_at_check), " free again: writes resume");
  }
}

void rocks_db::write_failed(const rocksdb::Status& s) {
  auto& m = *impl_;
  std::lock_guard g{m.gate};
  if (!m.failed.load()) {
    m.failure = "cannot write to the RocksDB store " + path_ + ": " +
                s.ToString() +
                "; it refuses writes until this process starts again: free "
                "space on its disk, then restart the node";
    m.failed = true;
    log_error(m.failure);
  }
  throw error(m.failure);
}

void rocks_db::write(const batch& b, bool sync) {
  if (b.empty())
    return;
  std::size_t bytes = 0;
  for (auto& o : b.ops_)
    bytes += o.key.size() + (o.value ? o.value->size() : 0) + 16;
  before_write(bytes);
  // In key order (the order of one key's operations kept): the memtable
  // then inserts each key next to the previous one instead of searching
  // its skip list from the top, several times faster for random keys.
  std::vector<std::size_t> order(b.ops_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t x, std::size_t y) {
                     return b.ops_[x].key < b.ops_[y].key;
                   });
  rocksdb::WriteBatch wb;
  for (auto i : order) {
    auto& o = b.ops_[i];
    if (o.value)
      wb.Put(o.key, *o.value);
    else
      wb.Delete(o.key);
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  wo.disableWAL = scratch_ && !sync;
  std::shared_lock lock{impl_->mtx};
  if (auto s = impl_->db->Write(wo, &wb); !s.ok())
    write_failed(s);
}

void rocks_db::put(const std::string& key, std::string_view value, bool sync) {
  before_write(key.size() + value.size() + 16);
  // Straight to RocksDB: no copy of the value into a batch first.
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  wo.disableWAL = scratch_ && !sync;
  std::shared_lock lock{impl_->mtx};
  if (auto s =
        impl_->db->Put(wo, key, rocksdb::Slice{value.data(), value.size()});
      !s.ok())
    write_failed(s);
}

void rocks_db::erase(const std::string& key, bool sync) {
  batch b;
  b.erase(key);
  write(b, sync);
}

std::optional<std::string> rocks_db::get(const std::string& key) const {
  std::string value;
  std::shared_lock lock{impl_->mtx};
  auto s = impl_->db->Get(rocksdb::ReadOptions{}, key, &value);
  if (s.IsNotFound())
    return std::nullopt;
  if (!s.ok())
    throw error("cannot read from " + path_ + ": " + s.ToString());
  return value;
}

void rocks_db::scan(
  std::string_view prefix,
  const std::function<bool(std::string_view, std::string_view)>& f) const {
  std::shared_lock lock{impl_->mtx};
  std::unique_ptr<rocksdb::Iterator> it{
    impl_->db->NewIterator(rocksdb::ReadOptions{})};
  for (it->Seek(rocksdb::Slice{prefix.data(), prefix.size()}); it->Valid();
       it->Next()) {
    auto k = it->key();
    std::string_view key{k.data(), k.size()};
    if (key.substr(0, prefix.size()) != prefix)
      break;
    auto v = it->value();
    if (!f(key, std::string_view{v.data(), v.size()}))
      break;
  }
  if (!it->status().ok())
    throw error("cannot scan " + path_ + ": " + it->status().ToString());
}

std::size_t rocks_db::count(std::string_view prefix) const {
  std::size_t n = 0;
  scan(prefix, [&](std::string_view, std::string_view) {
    ++n;
    return true;
  });
  return n;
}

void rocks_db::destroy(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

} // namespace lumen::detail

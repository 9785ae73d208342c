// The lineage stash: orphaned stashes of nodes that ended, adopted
// (adopt_orphans) or removed (remove_dead).
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "lineage/stash.hpp"
#include "lineage/stash_keys.hpp"
#include "log/log.hpp"
#include "storage/dir_lock.hpp"
#include "storage/rocks_db.hpp"

namespace lumen::detail {

namespace {

/// Whether no process holds a write lock (fcntl, as RocksDB takes) on the
/// file `path`.
bool lock_free(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return true;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  bool free = ::fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK;
  ::close(fd);
  return free;
}

} // namespace

std::size_t lineage_stash::adopt_orphans() {
  namespace fs = std::filesystem;
  std::size_t adopted = 0;
  std::error_code ec;
  auto own = fs::path{db_->path()};
  for (auto& entry : fs::directory_iterator{own.parent_path(), ec}) {
    auto name = entry.path().filename().string();
    if (entry.path() == own || name.empty() ||
        name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    // Its node has ended if its lock is free (a zombie not yet reaped
    // holds none; kill(pid, 0) would still find it). Held from here on,
    // so that no other node adopts the same rows meanwhile.
    int fd = lock_unheld_dir(entry.path().string());
    if (fd < 0)
      continue; // its node still runs
    if (!lock_free(entry.path().string() + "/LOCK")) {
      ::close(fd); // a node that predates the directory lock runs on it
      continue;
    }
    try {
      std::vector<std::pair<task_id, std::string>> rows;
      {
        rocks_db old{entry.path().string()};
        old.scan(stash_key_prefix, [&](std::string_view k, std::string_view v) {
          if (auto id = stash_id_of(k))
            rows.emplace_back(*id, std::string{v});
          return true;
        });
      }
      for (auto& row : rows) {
        // Not structured bindings: lambdas in C++17 cannot capture those.
        const auto& id = row.first;
        const auto& spec = row.second;
        std::vector<task_id> deps;
        try {
          deps = spec_deps(spec).second;
        } catch (const std::exception&) {
          // The GCS checks it; no ancestors to follow.
        }
        std::lock_guard guard{mtx_};
        drain();
        if (locate(id, nullptr))
          continue;
        add_spec_row(id, deps, spec);
        ++adopted;
      }
      rocks_db::destroy(entry.path().string());
    } catch (const std::exception& e) {
      // Unreadable: left where it is.
      log_warn("lineage stash: left ", entry.path().string(),
               " where it is: ", e.what());
    }
    ::close(fd);
  }
  return adopted;
}

std::size_t lineage_stash::remove_dead(const std::string& root) noexcept {
  namespace fs = std::filesystem;
  std::size_t removed = 0;
  std::error_code ec;
  std::vector<std::string> dirs;
  for (auto& entry : fs::directory_iterator{root, ec}) {
    auto name = entry.path().filename().string();
    std::error_code kind;
    if (!name.empty() &&
        name.find_first_not_of("0123456789") == std::string::npos &&
        entry.is_directory(kind) && !entry.is_symlink(kind))
      dirs.push_back(entry.path().string());
  }
  for (auto& dir : dirs) {
    int fd = lock_unheld_dir(dir);
    if (fd < 0)
      continue; // its node lives
    // RocksDB's own lock too: a node that predates the directory lock.
    std::error_code rm;
    if (!fs::exists(dir + "/LOCK", rm) || lock_free(dir + "/LOCK")) {
      if (fs::remove_all(dir, rm) > 0)
        ++removed;
    }
    ::close(fd);
  }
  return removed;
}

} // namespace lumen::detail

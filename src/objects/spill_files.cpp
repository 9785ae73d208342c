// Spill files: POSIX writes and reads, one file per object.
#include "objects/spill_files.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <string_view>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

#include "storage/dir_lock.hpp"

namespace lumen::detail {

namespace {

std::string errno_text(int err) {
  return std::error_code{err, std::generic_category()}.message();
}

/// Writes all `n` bytes to `fd`; returns 0 or the errno of the failure.
int write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    auto k = ::write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    if (k == 0)
      return ENOSPC;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return 0;
}

/// Makes `path`'s missing parents with mode 0700.
void make_parents(const std::string& path) {
  std::string prefix;
  auto parent = std::filesystem::path{path}.parent_path();
  for (auto& part : parent) {
    prefix = (std::filesystem::path{prefix} / part).string();
    if (!prefix.empty() && prefix != "/")
      ::mkdir(prefix.c_str(), 0700);
  }
}

constexpr std::string_view dir_prefix = "lumen-spill-";

} // namespace

spill_files::spill_files(std::string directory, std::size_t capacity)
  : dir_(std::move(directory)), capacity_(capacity) {}

spill_files::~spill_files() {
  if (lock_fd_ >= 0)
    ::close(lock_fd_);
}

std::size_t spill_files::remove_dead(const std::string& root) noexcept {
  namespace fs = std::filesystem;
  std::size_t removed = 0;
  std::error_code ec;
  std::vector<std::string> dirs;
  for (auto& e : fs::directory_iterator{root, ec}) {
    auto name = e.path().filename().string();
    std::error_code kind;
    if (name.size() > dir_prefix.size() &&
        name.compare(0, dir_prefix.size(), dir_prefix) == 0 &&
        e.is_directory(kind) && !e.is_symlink(kind))
      dirs.push_back(e.path().string());
  }
  for (auto& dir : dirs) {
    // Held: its node lives (or this process holds it itself).
    int fd = lock_unheld_dir(dir);
    if (fd < 0)
      continue;
    // Removed while locked: no node takes it meanwhile.
    std::error_code rm;
    if (fs::remove_all(dir, rm) > 0)
      ++removed;
    ::close(fd);
  }
  return removed;
}

bool spill_files::make_directory(std::string* why) {
  std::lock_guard guard{dir_mtx_};
  if (removed_) {
    *why = "the spill directory " + dir_ + " was removed at shutdown";
    return false;
  }
  if (made_)
    return true;
  make_parents(dir_);
  // Locked for as long as this object lives: an unlocked one is a dead
  // node's (remove_dead).
  lock_fd_ = make_locked_dir(dir_, why);
  if (lock_fd_ < 0) {
    *why = "cannot make the spill directory " + dir_ + ": " + *why;
    return false;
  }
  made_ = true;
  return true;
}

std::optional<spill_files::file> spill_files::write(const object_id& id,
                                                    const char* data,
                                                    std::size_t n,
                                                    std::string* why) {
  // Claim the bytes first, so that concurrent writers never pass the limit.
  auto before = used_.fetch_add(n, std::memory_order_relaxed);
  if (capacity_ > 0 && before + n > capacity_) {
    used_.fetch_sub(n, std::memory_order_relaxed);
    *why = "the spill directory " + dir_ + " is full (" +
           std::to_string(before) + " of " + std::to_string(capacity_) +
           " bytes used, " + std::to_string(n) + " more needed)";
    return std::nullopt;
  }
  if (!make_directory(why)) {
    used_.fetch_sub(n, std::memory_order_relaxed);
    return std::nullopt;
  }
  file result;
  result.size = n;
  result.path = dir_ + "/" + id.to_string() + "-" +
                std::to_string(serial_.fetch_add(1, std::memory_order_relaxed));
  int fd =
    ::open(result.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    auto err = errno;
    used_.fetch_sub(n, std::memory_order_relaxed);
    *why = "cannot create " + result.path + ": " + errno_text(err);
    return std::nullopt;
  }
  auto err = write_all(fd, data, n);
  if (::close(fd) != 0 && err == 0)
    err = errno;
  if (err != 0) {
    ::unlink(result.path.c_str());
    used_.fetch_sub(n, std::memory_order_relaxed);
    *why = "cannot write " + result.path + ": " + errno_text(err);
    return std::nullopt;
  }
  files_.fetch_add(1, std::memory_order_relaxed);
  return result;
}

bool spill_files::read(const file& f, byte_buffer& out,
                       std::string* why) const {
  int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = "cannot open " + f.path + ": " + errno_text(errno);
    return false;
  }
  out.clear();
  char* p = out.grow(f.size);
  std::size_t done = 0;
  int err = 0;
  while (done < f.size) {
    auto k = ::read(fd, p + done, f.size - done);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      err = errno;
      break;
    }
    if (k == 0)
      break;
    done += static_cast<std::size_t>(k);
  }
  ::close(fd);
  if (err != 0) {
    *why = "cannot read " + f.path + ": " + errno_text(err);
    return false;
  }
  if (done < f.size) {
    *why = f.path + " holds " + std::to_string(done) + " bytes, expected " +
           std::to_string(f.size);
    return false;
  }
  return true;
}

void spill_files::remove(const file& f) noexcept {
  // After remove_all the file is gone already; the count no longer matters.
  ::unlink(f.path.c_str());
  used_.fetch_sub(f.size, std::memory_order_relaxed);
  files_.fetch_sub(1, std::memory_order_relaxed);
}

void spill_files::remove_all() noexcept {
  std::lock_guard guard{dir_mtx_};
  if (removed_)
    return;
  removed_ = true;
  if (!made_)
    return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec); // best effort: nothing to report to
  ::close(lock_fd_);
  lock_fd_ = -1;
}

} // namespace lumen::detail

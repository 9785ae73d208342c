// Directories locked by their owner (flock).
#include "storage/dir_lock.hpp"

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <sys/file.h>
#include <sys/stat.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace lumen::detail {

namespace {

std::string errno_text(int err) {
  return std::error_code{err, std::generic_category()}.message();
}

/// Makes `path`'s missing parents with mode 0700.
void make_parents(const std::string& path) {
  std::string prefix;
  for (auto& part : std::filesystem::path{path}.parent_path()) {
    prefix = (std::filesystem::path{prefix} / part).string();
    if (!prefix.empty() && prefix != "/")
      ::mkdir(prefix.c_str(), 0700);
  }
}

} // namespace

int make_locked_dir(const std::string& dir, std::string* why) {
  make_parents(dir);
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      *why = "cannot create the directory " + dir + ": " + errno_text(errno);
      return -1;
    }
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT)
        continue; // removed under us
      *why = "cannot open the directory " + dir + ": " + errno_text(errno);
      return -1;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    struct stat held {};
    struct stat named {};
    if (::fstat(fd, &held) == 0 && ::stat(dir.c_str(), &named) == 0 &&
        held.st_ino == named.st_ino && held.st_dev == named.st_dev)
      return fd;
    ::close(fd); // removed under us: again
  }
  *why = "the directory " + dir +
         " is locked by another process (another node uses it)";
  return -1;
}

int lock_unheld_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

} // namespace lumen::detail

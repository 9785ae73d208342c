// The runtime directory: made private, checked before use.
#include "node/runtime_dir.hpp"

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

#include "log/log.hpp"
#include "lumen/error.hpp"

namespace lumen::detail {

namespace {

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

} // namespace

void check_runtime_dir(const std::string& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    return;
  if (S_ISLNK(st.st_mode)) {
    // A link another user planted (in /tmp, say) must not lead us anywhere.
    if (st.st_uid != ::geteuid())
      throw error("runtime directory " + dir +
                  " is a symbolic link of another user (uid " +
                  std::to_string(st.st_uid) +
                  "); remove it, or give --runtime-dir or set "
                  "LUMEN_RUNTIME_DIR to a directory of your own");
    if (::stat(dir.c_str(), &st) != 0)
      throw error("runtime directory " + dir + " is a dangling link");
  }
  if (!S_ISDIR(st.st_mode))
    throw error("runtime directory " + dir +
                " is not a directory; give --runtime-dir or set "
                "LUMEN_RUNTIME_DIR to another path");
  if (st.st_uid != ::geteuid())
    throw error("runtime directory " + dir + " belongs to another user (uid " +
                std::to_string(st.st_uid) +
                "), who could read or plant its files; give --runtime-dir "
                "or set LUMEN_RUNTIME_DIR to a directory of your own");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    throw error("runtime directory " + dir + " is writable by other users " +
                "(mode " + octal(st.st_mode) +
                "), who could have planted files in it; if you trust its "
                "contents make it private (chmod 700 " +
                dir + "), else remove it or use another one");
  if ((st.st_mode & 077) != 0) {
    // Nobody else could write to it: safe to close.
    if (::chmod(dir.c_str(), 0700) != 0)
      throw error("runtime directory " + dir + " is open to other users " +
                  "(mode " + octal(st.st_mode) + ") and cannot be made " +
                  "private: " +
                  std::error_code{errno, std::generic_category()}.message());
    log_warn("runtime directory ", dir, " was readable by other users (mode ",
             octal(st.st_mode), "); made it private (0700)");
  }
}

void prepare_runtime_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    // Missing parents: each made private too.
    std::string prefix;
    for (auto& part : std::filesystem::path{dir}) {
      prefix = (std::filesystem::path{prefix} / part).string();
      if (!prefix.empty() && prefix != "/")
        ::mkdir(prefix.c_str(), 0700);
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
      throw error("cannot create runtime directory " + dir + ": " +
                  std::error_code{errno, std::generic_category()}.message());
  }
  check_runtime_dir(dir);
}

} // namespace lumen::detail

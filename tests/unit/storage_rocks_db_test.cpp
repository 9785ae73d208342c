// rocks_db on a real RocksDB in a fresh directory.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <thread>
#include <unistd.h>

#include "lumen/error.hpp"
#include "storage/rocks_db.hpp"

namespace {

std::string fresh_dir(const std::string& tag) {
  auto p = std::filesystem::temp_directory_path() /
           ("lumen-kv-" + tag + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(p);
  return p.string();
}

} // namespace

TEST_CASE("rocks_db: rows survive closing and reopening", "[storage]") {
  auto dir = fresh_dir("reopen");
  {
    lumen::detail::rocks_db db{dir};
    lumen::detail::rocks_db::batch b;
    b.put("node/a", "1");
    b.put("node/b", "2");
    b.put("actor/x", "3");
    db.write(b, true);
    db.put("node/c", "4", false);
    db.erase("node/b", true);
  }
  lumen::detail::rocks_db db{dir};
  CHECK(db.get("node/a") == std::optional<std::string>{"1"});
  CHECK_FALSE(db.get("node/b"));
  CHECK(db.get("node/c") == std::optional<std::string>{"4"});
  CHECK(db.count("node/") == 2);
  CHECK(db.count("actor/") == 1);
  std::string keys;
  db.scan("node/", [&](std::string_view k, std::string_view v) {
    keys += std::string{k} + "=" + std::string{v} + ";";
    return true;
  });
  CHECK(keys == "node/a=1;node/c=4;");
  lumen::detail::rocks_db::destroy(dir);
}

TEST_CASE("rocks_db: an unusable path is a clear error", "[storage]") {
  CHECK_THROWS_WITH(lumen::detail::rocks_db{"/proc/lumen-no-such/db"},
                    Catch::Contains("/proc/lumen-no-such/db"));
}

namespace {

/// Paths below `dir` (itself too) that are not 0700 directories or 0600
/// files, with their modes.
std::string off_modes(const std::string& dir) {
  namespace fs = std::filesystem;
  std::string out;
  auto check = [&](const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0)
      return;
    auto want = S_ISDIR(st.st_mode) ? 0700u : 0600u;
    if ((st.st_mode & 07777) != want)
      out += p.string() + " " + std::to_string(st.st_mode & 07777) + "\n";
  };
  check(dir);
  for (auto& e : fs::recursive_directory_iterator{dir})
    check(e.path());
  return out;
}

/// A tmpfs of `mib` MiB, mounted where this process may (root).
struct small_tmpfs {
  std::string dir;
  bool mounted = false;

  explicit small_tmpfs(int mib) {
    char tmpl[] = "/tmp/lumen-unit-smallfs-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    if (::geteuid() == 0)
      mounted = std::system(("mount -t tmpfs -o size=" + std::to_string(mib) +
                             "m tmpfs " + dir + " 2>/dev/null")
                              .c_str()) == 0;
  }

  ~small_tmpfs() {
    if (mounted)
      (void)std::system(("umount -l " + dir).c_str());
    std::filesystem::remove_all(dir);
  }

  /// Fills it until `leave` bytes are free.
  void fill(std::uint64_t leave) {
    struct statvfs fs {};
    REQUIRE(::statvfs(dir.c_str(), &fs) == 0);
    auto free = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    REQUIRE(free > leave);
    int fd = ::open((dir + "/filler").c_str(), O_WRONLY | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::posix_fallocate(fd, 0, static_cast<off_t>(free - leave)) == 0);
    ::close(fd);
  }

  void empty() {
    ::unlink((dir + "/filler").c_str());
  }
};

} // namespace

TEST_CASE("rocks_db: the directory is 0700 and every file in it 0600",
          "[storage][security]") {
  auto dir = fresh_dir("modes");
  {
    lumen::detail::rocks_db db{dir + "/inner"};
    for (int i = 0; i < 100; ++i)
      db.put("k" + std::to_string(i), std::string(1000, 'v'), true);
    CHECK(off_modes(dir + "/inner") == "");
  }
  // A store made before files were private is made private when opened.
  ::chmod((dir + "/inner").c_str(), 0755);
  ::chmod((dir + "/inner/CURRENT").c_str(), 0644);
  {
    lumen::detail::rocks_db db{dir + "/inner"};
    CHECK(off_modes(dir + "/inner") == "");
  }
  lumen::detail::rocks_db::destroy(dir);
}

TEST_CASE("rocks_db: a store in use says so and what to do", "[storage]") {
  auto dir = fresh_dir("in-use");
  lumen::detail::rocks_db db{dir};
  CHECK_THROWS_WITH(lumen::detail::rocks_db{dir},
                    Catch::Contains("is in use by") &&
                      Catch::Contains("lumen stop"));
  lumen::detail::rocks_db::destroy(dir);
}

TEST_CASE("rocks_db: a damaged store says so and what to do", "[storage]") {
  auto dir = fresh_dir("damaged");
  {
    lumen::detail::rocks_db db{dir};
    db.put("k", "v", true);
  }
  {
    std::ofstream current{dir + "/CURRENT", std::ios::trunc};
    current << "MANIFEST-no-such";
  }
  CHECK_THROWS_WITH(lumen::detail::rocks_db{dir},
                    Catch::Contains("is damaged") &&
                      Catch::Contains("move the directory away"));
  lumen::detail::rocks_db::destroy(dir);
}

TEST_CASE("rocks_db: a full disk refuses writes without reaching RocksDB, "
          "keeps the rows, writes again once space is back, and opens "
          "read-only",
          "[storage][disk]") {
  small_tmpfs fs{64};
  if (!fs.mounted) {
    WARN("cannot mount a tmpfs here (not root); the RLIMIT_FSIZE "
         "integration test covers a failing write");
    return;
  }
  using lumen::detail::rocks_db;
  auto path = fs.dir + "/db";
  {
    rocks_db db{path};
    db.put("kept", "1", true);
    fs.fill(rocks_db::min_free_bytes / 2);
    // Without the check, RocksDB's write-ahead log would fail these writes
    // and the process would abort (in a later write, or when closing).
    std::string big(1 << 20, 'x');
    for (int i = 0; i < 20; ++i)
      CHECK_THROWS_WITH(db.put("big" + std::to_string(i), big, true),
                        Catch::Contains("disk is full") &&
                          Catch::Contains("free space there"));
    CHECK(db.get("kept") == std::optional<std::string>{"1"});
    fs.empty();
    db.put("after", "2", true);
    CHECK(db.get("after") == std::optional<std::string>{"2"});
    fs.fill(rocks_db::min_free_bytes / 2);
    CHECK_THROWS_WITH(db.put("full", "again", true),
                      Catch::Contains("disk is full"));
  } // closed on a full disk: no abort
  // Closing gave back the log's preallocated space: full again.
  fs.empty();
  fs.fill(rocks_db::min_free_bytes / 2);
  {
    rocks_db db{path};
    CHECK(db.read_only());
    CHECK(db.get("kept") == std::optional<std::string>{"1"});
    CHECK(db.get("after") == std::optional<std::string>{"2"});
    CHECK_THROWS_WITH(db.put("x", "y", true), Catch::Contains("read-only"));
    fs.empty();
    // Reopened for writing at a write once space is back (at most once a
    // second).
    bool written = false;
    for (int i = 0; i < 30 && !written; ++i) {
      try {
        db.put("x", "y", true);
        written = true;
      } catch (const lumen::error&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    CHECK(written);
    CHECK_FALSE(db.read_only());
    CHECK(db.get("x") == std::optional<std::string>{"y"});
    CHECK(db.get("kept") == std::optional<std::string>{"1"});
  }
}

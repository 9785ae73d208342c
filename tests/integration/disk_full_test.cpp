// A GCS whose disk fills: writes that do not fit fail with a clear error,
// the head stays up with its rows, and writes again once space is back; a
// head started on a full disk opens its tables read-only instead of
// aborting. The disk is a small tmpfs when this process may mount one
// (root), and in every case a head whose files may not grow past a limit
// (RLIMIT_FSIZE) is tried too.
#include <catch2/catch.hpp>

#include <chrono>
#include <fcntl.h>
#include <optional>
#include <string>
#include <sys/statvfs.h>
#include <thread>
#include <unistd.h>
#include <utility>

#include "gcs_durable_support.hpp"

using namespace std::chrono_literals;

namespace {

/// A tmpfs of `mib` MiB mounted on `dir` (a runtime directory, empty),
/// where this process may mount (root; mounted() says). At the end the
/// nodes of that runtime directory are stopped, then it is unmounted.
class small_fs {
 public:
  small_fs(int mib, std::string dir) : dir_(std::move(dir)) {
    if (::geteuid() == 0)
      mounted_ =
        cluster_it::run("mount -t tmpfs -o size=" + std::to_string(mib) +
                        "m,mode=0700 tmpfs " + dir_)
          .first == 0;
  }

  ~small_fs() {
    if (!mounted_)
      return;
    empty();
    cluster_it::run(std::string{LUMEN_CLI_PATH} +
                    " stop --timeout 10 --runtime-dir " + dir_);
    cluster_it::run("umount -l " + dir_);
  }

  small_fs(const small_fs&) = delete;
  small_fs& operator=(const small_fs&) = delete;

  bool mounted() const {
    return mounted_;
  }

  const std::string& dir() const {
    return dir_;
  }

  /// Fills the file system until only `leave` bytes are free.
  void fill(std::uint64_t leave) {
    struct statvfs fs {};
    REQUIRE(::statvfs(dir_.c_str(), &fs) == 0);
    auto free = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    REQUIRE(free > leave);
    auto path = dir_ + "/filler-" + std::to_string(fillers_++);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    auto rc = ::posix_fallocate(fd, 0, static_cast<off_t>(free - leave));
    ::close(fd);
    REQUIRE(rc == 0);
  }

  /// Removes what fill() wrote.
  void empty() {
    for (int i = 0; i < fillers_; ++i)
      ::unlink((dir_ + "/filler-" + std::to_string(i)).c_str());
  }

 private:
  std::string dir_;
  bool mounted_ = false;
  int fillers_ = 0;
};

/// kv::put of `value` under `key`: nothing, or the error's message.
std::optional<std::string> try_put(const std::string& key,
                                   const std::string& value) {
  try {
    lumen::kv::put(key, value);
    return std::nullopt;
  } catch (const lumen::error& e) {
    return std::string{e.what()};
  }
}

/// Retries kv::put for up to 30 s (the head coming back, space coming
/// back); whether it succeeded.
bool put_eventually(const std::string& key, const std::string& value) {
  for (int i = 0; i < 150; ++i) {
    if (!try_put(key, value))
      return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

/// kv::get, retried for up to 30 s while the head cannot be reached.
std::optional<std::string> get_eventually(const std::string& key) {
  for (int i = 0;; ++i) {
    try {
      return lumen::kv::get(key);
    } catch (const lumen::error&) {
      if (i >= 150)
        throw;
      std::this_thread::sleep_for(200ms);
    }
  }
}

/// Whether the head answers `lumen status` (bounded wait).
bool head_answers(const durable_it::restartable_cluster& c) {
  for (int i = 0; i < 50; ++i) {
    if (c.cli("status --address " + c.address()).first == 0)
      return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

} // namespace

TEST_CASE("disk full: GCS writes fail with a clear error, the head stays up "
          "and writes again once space is back, and a restart on a full disk "
          "starts read-only",
          "[cluster][gcs][disk]") {
  durable_it::restartable_cluster c;
  // The whole runtime directory on it: node file, log, stash, GCS tables.
  small_fs fs{96, c.dir()};
  if (!fs.mounted()) {
    WARN("cannot mount a tmpfs here (not root): the RLIMIT_FSIZE case "
         "covers the failing write");
    return;
  }
  auto head_args = "start --head --port " + std::to_string(c.port()) +
                   " --num-cpus 0 --runtime-dir " + c.dir();
  auto [status, out] = c.cli(head_args);
  REQUIRE(status == 0);
  lumen::init_guard g{lumen::config{.address = c.address()}};
  lumen::kv::put("kept", "before the disk filled");
  // Less than a value's size left: without the check, RocksDB's
  // write-ahead log fails a write and the head aborts.
  fs.fill(512 << 10);
  std::string big(1 << 20, 'x');
  std::optional<std::string> why;
  for (int i = 0; i < 40 && !why; ++i)
    why = try_put("big-" + std::to_string(i), big);
  REQUIRE(why);
  CHECK_THAT(*why, Catch::Contains("disk is full") &&
                     Catch::Contains("free space there"));
  REQUIRE(head_answers(c));
  CHECK(lumen::kv::get("kept") ==
        std::optional<std::string>{"before the disk filled"});
  fs.empty();
  CHECK(put_eventually("after", "space came back"));
  CHECK(lumen::kv::get("after") ==
        std::optional<std::string>{"space came back"});
  // Started again on a full disk: read-only, rows intact.
  fs.fill(512 << 10);
  c.kill_head();
  std::tie(status, out) = c.cli(head_args);
  INFO(out);
  REQUIRE(status == 0);
  REQUIRE(head_answers(c));
  CHECK(get_eventually("kept") ==
        std::optional<std::string>{"before the disk filled"});
  CHECK(lumen::kv::get("after") ==
        std::optional<std::string>{"space came back"});
  auto refused = try_put("while-read-only", "x");
  REQUIRE(refused);
  CHECK_THAT(*refused, Catch::Contains("read-only"));
  auto log = cluster_it::run("cat " + c.dir() + "/logs/head-*.log").second;
  CHECK(log.find("READ-ONLY") != std::string::npos);
  // Its own lineage stash could not be made: said, and the head runs.
  CHECK(log.find("no lineage stash on this node") != std::string::npos);
  fs.empty();
  CHECK(put_eventually("while-read-only", "written once space was back"));
  CHECK(lumen::kv::get("while-read-only") ==
        std::optional<std::string>{"written once space was back"});
}

TEST_CASE("disk full: a head whose files may not grow (RLIMIT_FSIZE) "
          "refuses GCS writes with a clear error, stays up with its rows, "
          "and stops cleanly",
          "[cluster][gcs][disk]") {
  durable_it::restartable_cluster c;
  // 4 MiB per file: enough for the logs and RocksDB's small files, not for
  // the write-ahead log once values of 1 MiB arrive.
  auto [status, out] = c.cli("start --head --port " + std::to_string(c.port()) +
                             " --num-cpus 0 --runtime-dir " + c.dir());
  (void)out;
  REQUIRE(status == 0);
  auto pid = std::stoi(c.nodes().at(0).at("pid"));
  REQUIRE(
    cluster_it::run("prlimit --pid " + std::to_string(pid) + " --fsize=4194304")
      .first == 0);
  lumen::init_guard g{lumen::config{.address = c.address()}};
  lumen::kv::put("kept", "small");
  std::string big(1 << 20, 'x');
  std::optional<std::string> why;
  for (int i = 0; i < 16 && !why; ++i)
    why = try_put("big-" + std::to_string(i), big);
  REQUIRE(why);
  CHECK_THAT(*why, Catch::Contains("cannot write to the RocksDB store"));
  REQUIRE(head_answers(c));
  CHECK(lumen::kv::get("kept") == std::optional<std::string>{"small"});
  // Later writes are refused with the same reason, without touching
  // RocksDB (which would abort the head).
  auto again = try_put("later", "x");
  REQUIRE(again);
  CHECK_THAT(*again, Catch::Contains("restart the node"));
  REQUIRE(head_answers(c));
  REQUIRE(c.cli("stop --timeout 20 --runtime-dir " + c.dir()).first == 0);
  CHECK(durable_it::gone(pid));
  auto log = cluster_it::run("cat " + c.dir() + "/logs/head-*.log").second;
  CHECK(log.find("Assertion") == std::string::npos);
  CHECK(log.find("stopping (signal") != std::string::npos);
}

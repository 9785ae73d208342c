// The runtime directory as an operator meets it: spill files of a killed
// node are removed by the next node to start and by `lumen stop` (those of
// live nodes stay); the directory is private (0700, refused when open to
// others or another user's), and so are the files of the GCS, the stash
// and the spill directory; a second head on a used directory says what to
// do; a driver's stderr carries no informational line.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "cluster_support.hpp"
#include "cluster_tasks.hpp"
#include "gcs_durable_support.hpp"
#include "lumen/lumen.hpp"

using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

std::size_t files_below(const std::string& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file())
      ++n;
  return n;
}

/// The permission bits of `path` (lstat), -1 if it is missing.
int mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return -1;
  return static_cast<int>(st.st_mode & 07777);
}

/// Paths below `dir` (itself too) whose mode is not `dir_mode` for a
/// directory or `file_mode` for a file, with their modes.
std::vector<std::string> off_modes(const std::string& dir, int dir_mode,
                                   int file_mode) {
  std::vector<std::string> out;
  auto check = [&](const fs::path& p) {
    std::error_code ec;
    int want = fs::is_directory(p, ec) ? dir_mode : file_mode;
    int got = mode_of(p.string());
    if (got != want)
      out.push_back(p.string() + " " + std::to_string(got));
  };
  check(dir);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    check(it->path());
  return out;
}

/// Makes `n` results of 1 MiB on node `node` and waits for them: with a
/// small store there, most of them spill.
std::vector<lumen::object_ref<std::vector<char>>>
spill_on(const std::string& node, int n) {
  std::vector<lumen::object_ref<std::vector<char>>> blobs;
  for (int i = 0; i < n; ++i)
    blobs.push_back(lumen::task(cluster_tasks::make_blob)
                      .node_affinity(node)
                      .remote(std::int64_t{1} << 20, i));
  REQUIRE(lumen::wait(blobs, blobs.size(), 120s).ready.size() == blobs.size());
  return blobs;
}

/// The pid of the node whose node file names `id`.
int pid_of(const cluster_it::test_cluster& c, const std::string& id) {
  for (auto& f : c.nodes())
    if (f.count("id") && f.at("id") == id)
      return std::stoi(f.at("pid"));
  FAIL("no node file for node " << id);
  return -1;
}

void kill_and_wait(int pid) {
  ::kill(pid, SIGKILL);
  for (int i = 0; i < 200 && !durable_it::gone(pid); ++i)
    std::this_thread::sleep_for(50ms);
  REQUIRE(durable_it::gone(pid));
}

} // namespace

TEST_CASE("runtime dir: spill files of a SIGKILLed node are removed by the "
          "next node to start and by lumen stop, and a live node's stay",
          "[cluster][spilling][runtime-dir]") {
  cluster_it::test_cluster cluster{
    2, 2, {"--object-store-memory 8Mi", "--object-store-memory 8Mi"}};
  cluster_it::watchdog dog{cluster, 240s};
  std::vector<std::string> workers;
  {
    lumen::init_guard g{lumen::config{.address = cluster.address()}};
    REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
    for (auto& n : lumen::nodes())
      if (!n.driver && !n.head && n.alive)
        workers.push_back(n.id);
    REQUIRE(workers.size() == 2);
    auto kept = spill_on(workers[0], 16);
    auto lost = spill_on(workers[1], 16);
    auto spill = cluster.dir() + "/spill/lumen-spill-";
    REQUIRE(files_below(spill + workers[0]) >= 4);
    REQUIRE(files_below(spill + workers[1]) >= 4);
    CHECK(off_modes(spill + workers[0], 0700, 0600).empty());
    // Killed: it cannot remove its files itself.
    kill_and_wait(pid_of(cluster, workers[1]));
    REQUIRE(fs::exists(spill + workers[1]));
    cluster.add_worker();
    CHECK_FALSE(fs::exists(spill + workers[1]));
    // The live worker's values, spilled to its disk, are intact.
    REQUIRE(files_below(spill + workers[0]) >= 4);
    for (int i = 0; i < 16; ++i)
      REQUIRE(lumen::get(kept[static_cast<std::size_t>(i)], 120s) ==
              cluster_tasks::make_blob(std::int64_t{1} << 20, i));
    // Now the other one is killed too, and `lumen stop` clears up.
    kill_and_wait(pid_of(cluster, workers[0]));
  }
  auto spill = cluster.dir() + "/spill/lumen-spill-" + workers[0];
  REQUIRE(fs::exists(spill));
  auto [status, out] =
    cluster.cli("stop --timeout 10 --runtime-dir " + cluster.dir());
  INFO(out);
  CHECK(status == 0);
  CHECK_FALSE(fs::exists(spill));
  CHECK(out.find("removed the spill files of 1 ended node") !=
        std::string::npos);
}

TEST_CASE("runtime dir: made 0700 by lumen::init, and GCS, stash and spill "
          "files are 0600",
          "[runtime-dir][security]") {
  char tmpl[] = "/tmp/lumen-it-private-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string parent = tmpl;
  auto dir = parent + "/runtime";
  auto* old = std::getenv("LUMEN_RUNTIME_DIR");
  std::string saved = old != nullptr ? old : "";
  ::setenv("LUMEN_RUNTIME_DIR", dir.c_str(), 1);
  {
    // write_ahead: the embedded GCS keeps lineage in a RocksDB store of
    // its own under the runtime dir, and the stash is on disk too.
    lumen::init_guard guard{
      lumen::config{.num_cpus = 2,
                    .object_store_memory = 4 << 20,
                    .lineage = lumen::lineage_mode::write_ahead}};
    CHECK(mode_of(dir) == 0700);
    std::vector<lumen::object_ref<std::vector<char>>> refs;
    for (int i = 0; i < 8; ++i)
      refs.push_back(
        lumen::task(cluster_tasks::make_blob).remote(std::int64_t{1} << 20, i));
    REQUIRE(lumen::wait(refs, refs.size(), 120s).ready.size() == refs.size());
    lumen::kv::put("secret", "not for other users");
    std::size_t gcs = 0;
    for (auto& e : fs::directory_iterator{dir})
      if (e.path().filename().string().rfind("gcs-wal-", 0) == 0)
        ++gcs;
    CHECK(gcs == 1);
    CHECK(fs::exists(dir + "/stash"));
    CHECK(files_below(dir + "/spill") >= 2);
    auto off = off_modes(dir, 0700, 0600);
    std::string listed;
    for (auto& p : off)
      listed += p + "\n";
    INFO(listed);
    CHECK(off.empty());
  }
  if (old != nullptr)
    ::setenv("LUMEN_RUNTIME_DIR", saved.c_str(), 1);
  else
    ::unsetenv("LUMEN_RUNTIME_DIR");
  cluster_it::run("rm -rf " + parent);
}

TEST_CASE("runtime dir: one open to others or of another user is refused "
          "by lumen::init and lumen start",
          "[runtime-dir][security]") {
  char tmpl[] = "/tmp/lumen-it-open-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string parent = tmpl;
  auto dir = parent + "/runtime";
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  REQUIRE(::chmod(dir.c_str(), 0777) == 0);
  auto* old = std::getenv("LUMEN_RUNTIME_DIR");
  std::string saved = old != nullptr ? old : "";
  ::setenv("LUMEN_RUNTIME_DIR", dir.c_str(), 1);
  CHECK_THROWS_WITH(lumen::init(lumen::config{.num_cpus = 1}),
                    Catch::Contains("writable by other users") &&
                      Catch::Contains("chmod 700"));
  CHECK_FALSE(lumen::is_initialized());
  auto [status, out] =
    cluster_it::run(std::string{LUMEN_CLI_PATH} +
                    " start --head --port 0 --runtime-dir " + dir);
  CHECK(status != 0);
  CHECK_THAT(out, Catch::Contains("writable by other users"));
  // Nothing was written into it.
  CHECK(fs::is_empty(dir));
  // Readable by others only (as an older lumen made it): made private.
  REQUIRE(::chmod(dir.c_str(), 0755) == 0);
  {
    lumen::init_guard g{lumen::config{.num_cpus = 1}};
    CHECK(mode_of(dir) == 0700);
  }
  if (::geteuid() == 0) {
    // Another user's: refused, even for root.
    REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);
    CHECK_THROWS_WITH(lumen::init(lumen::config{.num_cpus = 1}),
                      Catch::Contains("belongs to another user"));
    CHECK_FALSE(lumen::is_initialized());
  } else {
    // A directory of another user that this one cannot write anyway.
    ::setenv("LUMEN_RUNTIME_DIR", "/", 1);
    CHECK_THROWS_WITH(lumen::init(lumen::config{.num_cpus = 1}),
                      Catch::Contains("belongs to another user"));
  }
  if (old != nullptr)
    ::setenv("LUMEN_RUNTIME_DIR", saved.c_str(), 1);
  else
    ::unsetenv("LUMEN_RUNTIME_DIR");
  cluster_it::run("rm -rf " + parent);
}

TEST_CASE(
  "runtime dir: a head's files are private, and a second head on a used "
  "directory says what to do",
  "[cluster][gcs][runtime-dir]") {
  durable_it::restartable_cluster c;
  c.start_head();
  // Everything the head made is private: node file, log, GCS tables.
  REQUIRE(fs::exists(c.dir() + "/gcs-" + std::to_string(c.port())));
  {
    auto off = off_modes(c.dir(), 0700, 0600);
    std::string listed;
    for (auto& p : off)
      listed += p + "\n";
    INFO(listed);
    CHECK(off.empty());
  }
  auto [status, out] =
    c.cli("start --head --num-cpus 0 --port " + std::to_string(c.port()) +
          " --runtime-dir " + c.dir());
  INFO(out);
  CHECK(status != 0);
  CHECK_THAT(out,
             Catch::Contains("is in use by") && Catch::Contains("lumen stop"));
  CHECK(out.find("Resource temporarily unavailable") == std::string::npos);
  // The first head is unharmed.
  CHECK(c.cli("status --address " + c.address()).first == 0);
}

// Run alone by the stderr test below, as a driver of its cluster; ctest
// runs it too, without LUMEN_ADDRESS: then it is the embedded cluster.
TEST_CASE("driver helper: lumen::init joins the cluster at LUMEN_ADDRESS, "
          "or else runs the embedded one-node cluster",
          "[driver-helper]") {
  auto* address = std::getenv("LUMEN_ADDRESS");
  bool joining = address != nullptr && *address != '\0';
  lumen::init_guard g;
  auto nodes = lumen::nodes();
  if (joining) {
    CHECK(nodes.size() >= 2);
  } else {
    REQUIRE(nodes.size() == 1);
    CHECK(nodes[0].id == lumen::node_id());
  }
}

TEST_CASE("runtime dir: a driver's stderr has no informational line, "
          "whether it joins or fails to",
          "[cluster][logging]") {
  cluster_it::test_cluster cluster{0};
  auto self = fs::read_symlink("/proc/self/exe").string();
  auto run_driver = [&](const std::string& env) {
    char tmpl[] = "/tmp/lumen-it-stderr-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    auto status =
      cluster_it::run("env -u LUMEN_LOG_LEVEL -u LUMEN_LOG_FILE " + env + " " +
                      self + " '[driver-helper]' 2>" + tmpl)
        .first;
    auto err = cluster_it::run(std::string{"cat "} + tmpl).second;
    std::remove(tmpl);
    return std::make_pair(status, err);
  };
  auto [joined, err] = run_driver("LUMEN_ADDRESS=" + cluster.address());
  INFO(err);
  CHECK(joined == 0);
  CHECK(err.find("info") == std::string::npos);
  CHECK(err.find("objects move") == std::string::npos);
  CHECK(err.empty());
  // A driver whose start fails (nobody listens there) says why, and only
  // that.
  auto [failed, why] = run_driver("LUMEN_ADDRESS=127.0.0.1:1");
  INFO(why);
  CHECK(failed != 0);
  CHECK(why.find("objects move") == std::string::npos);
  CHECK(why.find("info") == std::string::npos);
}

// Lineage collection on real clusters: the lineage of tasks whose objects
// were dropped leaves the GCS (its rows, its bytes, its disk), while the
// lineage a referenced object may need stays, and still rebuilds it after
// its node is SIGKILLed.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/gcs.hpp"
#include "chain_support.hpp"
#include "cluster_support.hpp"
#include "cluster_tasks.hpp"
#include "gcs_durable_support.hpp"
#include "lumen/lumen.hpp"
#include "node/embedded_runtime.hpp"
#include <lumen/native_actor.hpp>

using namespace std::chrono_literals;
using namespace chain_it;

namespace {

/// The committed lineage `lumen status` reports for the cluster at
/// `address`, or -1.
template <class Cluster>
long committed(const Cluster& cluster) {
  auto [code, out] = cluster.cli("status --address " + cluster.address());
  auto at = out.find("Lineage: ");
  if (code != 0 || at == std::string::npos)
    return -1;
  return std::stol(out.substr(at + 9));
}

/// Polls (up to `limit`) until `ok(committed rows)` holds; returns the
/// last count read.
template <class Cluster, class Pred>
long committed_when(const Cluster& cluster, Pred ok,
                    std::chrono::seconds limit = 60s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  long n = committed(cluster);
  while (!ok(n) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    n = committed(cluster);
  }
  return n;
}

/// Asks the GCS on 127.0.0.1:`port` directly.
template <class R, class... Ts>
R ask_head(std::uint16_t port, Ts... xs) {
  lumen::detail::caf_thread_guard guard;
  auto& sys = lumen::detail::native_system();
  auto gcs = sys.middleman().remote_actor<lumen::gcs_actor>("127.0.0.1", port);
  REQUIRE(gcs);
  caf::scoped_actor self{sys};
  R result{};
  bool ok = false;
  self->request(*gcs, std::chrono::seconds(30), xs...)
    .receive(
      [&](R& r) {
        result = std::move(r);
        ok = true;
      },
      [&](const caf::error&) {});
  REQUIRE(ok);
  return result;
}

/// Bytes of disk the files under `dir` take.
std::uint64_t disk_bytes(const std::string& dir) {
  std::uint64_t n = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::recursive_directory_iterator{dir, ec}) {
    struct stat st {};
    if (::lstat(e.path().c_str(), &st) == 0 && S_ISREG(st.st_mode))
      n += static_cast<std::uint64_t>(st.st_blocks) * 512;
  }
  return n;
}

/// Runs `n` small tasks in waves, dropping each wave's refs once got.
void run_and_drop(int n) {
  constexpr int wave = 10'000;
  std::vector<lumen::object_ref<std::string>> refs;
  refs.reserve(wave);
  for (int done = 0; done < n; done += wave) {
    for (int i = done; i < std::min(n, done + wave); ++i)
      refs.push_back(lumen::task(cluster_tasks::where).remote(i));
    auto got = lumen::get(refs, 300s);
    REQUIRE(got.size() == refs.size());
    CHECK_FALSE(got.back().empty());
    refs.clear();
  }
}

/// A head whose GCS keeps its tables in RocksDB (a fixed port: its own
/// directory) and one worker that runs the tasks.
struct rocks_cluster {
  durable_it::restartable_cluster c;
  rocks_cluster() {
    c.start_head();
    c.start_worker("--num-cpus 2");
  }
  std::string gcs_dir() const {
    return c.dir() + "/gcs-" + std::to_string(c.port());
  }
};

/// Runs `n` tasks with their refs dropped on a rocks_cluster and checks
/// that the GCS's lineage comes back to where it began; prints figures.
void collection_run(int n) {
  rocks_cluster cluster;
  lumen::init_guard g{
    lumen::config{.address = cluster.c.address(), .num_cpus = 0}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  auto before = committed(cluster.c);
  REQUIRE(before >= 0);
  auto bytes_before =
    ask_head<std::uint64_t>(cluster.c.port(), lumen::lineage_bytes_atom::value);
  auto start = std::chrono::steady_clock::now();
  run_and_drop(n);
  auto ran = std::chrono::steady_clock::now();
  // Near where it began: a wave's worth at most may still be on its way.
  auto now = committed_when(cluster.c, [&](long c) {
    return c >= 0 && c <= before + 10;
  });
  auto settled = std::chrono::steady_clock::now();
  auto bytes_after =
    ask_head<std::uint64_t>(cluster.c.port(), lumen::lineage_bytes_atom::value);
  auto disk = disk_bytes(cluster.gcs_dir());
  // The driver's own side: its stash committed everything, and its pins
  // hold no record (its tasks took no ref arguments).
  auto* rt = lumen::detail::current_embedded_runtime();
  REQUIRE(rt != nullptr);
  auto mine = rt->lineage_stats();
  std::printf("lineage gc: %d tasks in %.1f s; GCS lineage rows %ld -> %ld "
              "(%.1f s later), %llu -> %llu bytes; GCS directory %.1f MiB "
              "on disk; driver's stash %llu rows, pins %llu records\n",
              n, std::chrono::duration<double>(ran - start).count(), before,
              now, std::chrono::duration<double>(settled - ran).count(),
              static_cast<unsigned long long>(bytes_before),
              static_cast<unsigned long long>(bytes_after),
              static_cast<double>(disk) / (1 << 20),
              static_cast<unsigned long long>(mine.stash_rows),
              static_cast<unsigned long long>(mine.pinned));
  CHECK(mine.stash_rows == 0);
  CHECK(mine.pinned == 0);
  CHECK(now >= 0);
  CHECK(now <= before + 10);
  CHECK(bytes_after <= bytes_before + 64 * 1024);
  // RocksDB gave the space back (a few write buffers and logs stay): the
  // specs alone are ~300 bytes a task.
  CHECK(disk < 96u << 20);
}

} // namespace

TEST_CASE("lineage gc: a dropped chain's lineage leaves the GCS; a "
          "referenced chain's stays and rebuilds it after its node is "
          "killed",
          "[lineage][cluster][gc]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto victim = a_worker(cluster);
  auto before = committed(cluster);
  REQUIRE(before >= 0);
  const int length = 20;
  // Only the last ref of each chain is kept (its intermediate objects are
  // freed as the chain is built), and the dropped chain not even that.
  auto kept = make_chain(victim.at("id"), length);
  {
    auto dropped = make_chain(victim.at("id"), length);
    wait_computed(dropped, victim.at("id"));
  }
  wait_computed(kept, victim.at("id"));
  // The kept chain's 21 tasks stay; the dropped chain's, and the sums',
  // go.
  const long kept_rows = length + 1;
  auto now = committed_when(cluster, [&](long n) {
    return n >= 0 && n <= before + kept_rows;
  });
  CHECK(now == before + kept_rows);
  // Collection ran; now the chain's values die with their node, and the
  // lineage left (in the GCS only: the driver's stash committed it) still
  // rebuilds the whole chain, its freed intermediate objects included.
  kill_and_wait(victim);
  auto v = lumen::get(kept, 120s);
  REQUIRE(v.size() == static_cast<std::size_t>(chain_n));
  const std::int64_t added = length * (length + 1) / 2;
  std::int64_t wrong = -1;
  for (std::int64_t i = 0; i < chain_n && wrong < 0; ++i)
    if (v[static_cast<std::size_t>(i)] != i + added)
      wrong = i;
  CHECK(wrong == -1);
  // Once the last ref goes, so does the rest.
  kept = {};
  now = committed_when(cluster, [&](long n) {
    return n >= 0 && n <= before;
  });
  CHECK(now == before);
}

TEST_CASE("lineage gc: 20,000 tasks with their refs dropped leave the GCS's "
          "lineage where it began",
          "[lineage][cluster][gc]") {
  collection_run(20'000);
}

TEST_CASE("lineage gc: 1,000,000 tasks with their refs dropped leave the "
          "GCS's lineage and disk where they began",
          "[lineage][cluster][gc][scale]") {
  collection_run(1'000'000);
}

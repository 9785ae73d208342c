// Lineage: objects lost with a killed node are rebuilt from the lineage the
// driver's stash and the GCS hold; with lineage off they fail cleanly.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>
#include <vector>

#include "chain_support.hpp"
#include "cluster_support.hpp"
#include "cluster_tasks.hpp"

using namespace std::chrono_literals;
using namespace chain_it;

namespace {

/// The first index where `v` is not chain_n numbers 0, 1, ... with `added`
/// added to each (a rebuilt chain's value), or -1 if every element is (0
/// if the size is wrong).
std::int64_t first_wrong(const std::vector<std::int64_t>& v,
                         std::int64_t added) {
  if (v.size() != static_cast<std::size_t>(chain_n))
    return 0;
  for (std::int64_t i = 0; i < chain_n; ++i)
    if (v[static_cast<std::size_t>(i)] != i + added)
      return i;
  return -1;
}

} // namespace

TEST_CASE("lineage: a chain whose values died with their node is rebuilt",
          "[lineage][cluster]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto victim = a_worker(cluster);
  const int length = 20;
  auto last = make_chain(victim.at("id"), length);
  // Every step ran (its value is on the victim) before the victim dies.
  wait_computed(last, victim.at("id"));
  kill_and_wait(victim);
  auto v = lumen::get(last, 120s);
  REQUIRE(v.size() == static_cast<std::size_t>(chain_n));
  const std::int64_t added = length * (length + 1) / 2;
  CHECK(first_wrong(v, added) == -1);
}

TEST_CASE("lineage: chains rebuilt side by side keep the values later "
          "rebuilds take as arguments",
          "[lineage][cluster]") {
  // The reconstruction actor rebuilds the lost objects one message at a
  // time while rebuilt tasks already finish; a value rebuilt before the task
  // that takes it was decoded must not be dropped and then awaited forever.
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto victim = a_worker(cluster);
  const int chains = 4;
  const int length = 50;
  std::vector<lumen::object_ref<std::vector<std::int64_t>>> lasts;
  for (int c = 0; c < chains; ++c)
    lasts.push_back(make_chain(victim.at("id"), length));
  for (auto& last : lasts)
    wait_computed(last, victim.at("id"));
  kill_and_wait(victim);
  const std::int64_t added = length * (length + 1) / 2;
  for (auto& last : lasts) {
    auto v = lumen::get(last, 120s);
    REQUIRE(v.size() == static_cast<std::size_t>(chain_n));
    CHECK(first_wrong(v, added) == -1);
  }
}

TEST_CASE("lineage: with lineage off a lost object fails get, no hang",
          "[lineage][cluster]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address(),
                                    .lineage = lumen::lineage_mode::off}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto victim = a_worker(cluster);
  auto last = make_chain(victim.at("id"), 3);
  wait_computed(last, victim.at("id"));
  kill_and_wait(victim);
  CHECK_THROWS_AS(lumen::get(last, 60s), lumen::object_lost_error);
  CHECK_THROWS_WITH(lumen::get(last, 60s), Catch::Contains("lineage is off"));
}

namespace {

/// The committed lineage `lumen status` reports, or -1.
long committed(const cluster_it::test_cluster& cluster) {
  auto [code, out] = cluster.cli("status --address " + cluster.address());
  auto at = out.find("Lineage: ");
  if (code != 0 || at == std::string::npos)
    return -1;
  return std::stol(out.substr(at + 9));
}

} // namespace

TEST_CASE("lineage: stashed specs reach the GCS in the background",
          "[lineage][cluster]") {
  // Only the driver keeps lineage here.
  cluster_it::test_cluster cluster{1, 2, {"--lineage off"}};
  lumen::init_guard g{lumen::config{.address = cluster.address(),
                                    .lineage = lumen::lineage_mode::stash}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  auto before = committed(cluster);
  REQUIRE(before >= 0);
  std::vector<lumen::object_ref<std::string>> refs;
  for (int i = 0; i < 50; ++i)
    refs.push_back(lumen::task(cluster_tasks::where).remote(i));
  lumen::get(refs, 60s);
  long now = before;
  for (int i = 0; i < 100 && now < before + 50; ++i) {
    std::this_thread::sleep_for(100ms);
    now = committed(cluster);
  }
  CHECK(now >= before + 50);
}

TEST_CASE("lineage: write_ahead commits each spec before its task runs",
          "[lineage][cluster]") {
  cluster_it::test_cluster cluster{1, 2, {"--lineage off"}};
  lumen::init_guard g{lumen::config{
    .address = cluster.address(), .lineage = lumen::lineage_mode::write_ahead}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  auto worker = a_worker(cluster);
  auto before = committed(cluster);
  REQUIRE(before >= 0);
  std::vector<lumen::object_ref<std::string>> refs;
  for (int i = 0; i < 20; ++i)
    refs.push_back(lumen::task(cluster_tasks::where).remote(i));
  lumen::get(refs, 60s);
  // Every task ran, so every spec was committed first: no waiting here.
  CHECK(committed(cluster) >= before + 20);
  // The order itself: while the GCS (on the head) cannot commit, a task
  // for the worker does not run, although the worker is up and the driver
  // reaches it directly (stash or off would run it at once). Stopped for
  // 2 s, well within the head's node timeout, so nobody is declared dead.
  auto runs = cluster.dir() + "/runs";
  auto exists = [&runs] {
    return std::ifstream{runs}.good();
  };
  const pid_t head = std::stoi(cluster.head().at("pid"));
  struct resume { // the head runs again, whatever happens below
    pid_t pid;
    ~resume() {
      ::kill(pid, SIGCONT);
    }
  };
  REQUIRE(::kill(head, SIGSTOP) == 0);
  resume resume_head{head};
  auto r = lumen::task(cluster_tasks::mark_and_nap)
             .node_affinity(worker.at("id"))
             .remote(runs, 0);
  bool ran_early = false;
  for (int i = 0; i < 40 && !ran_early; ++i) {
    std::this_thread::sleep_for(50ms);
    ran_early = exists();
  }
  ::kill(head, SIGCONT);
  CHECK_FALSE(ran_early);
  // Once the head is back, the spec is committed and the task runs.
  CHECK(lumen::get(r, 60s) == worker.at("id"));
  CHECK(exists());
  CHECK(committed(cluster) >= before + 21);
}

TEST_CASE("lineage: the stash of a SIGKILLed worker that no node adopted is "
          "gone after lumen stop",
          "[cluster][lineage]") {
  namespace fs = std::filesystem;
  cluster_it::test_cluster cluster{1};
  auto stash = cluster.dir() + "/stash";
  std::string pid;
  for (auto& f : cluster.nodes())
    if (f.at("role") != "head")
      pid = f.at("pid");
  REQUIRE_FALSE(pid.empty());
  REQUIRE(fs::exists(stash + "/" + pid)); // lineage is on by default
  REQUIRE(::kill(std::stoi(pid), SIGKILL) == 0);
  // The head's stash is removed by its own clean stop; the worker's by
  // `lumen stop`, as its node has ended.
  auto [status, out] =
    cluster.cli("stop --timeout 10 --runtime-dir " + cluster.dir());
  INFO(out);
  CHECK(status == 0);
  std::vector<std::string> left;
  std::error_code ec;
  for (auto& e : fs::directory_iterator{stash, ec})
    left.push_back(e.path().filename().string());
  CHECK(left.empty());
  CHECK(out.find("removed the lineage stashes of 1 ended node") !=
        std::string::npos);
}

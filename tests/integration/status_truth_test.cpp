// `lumen status` and `lumen::nodes()` tell the truth (issue 22, items 7
// and 8): a resource in full use shows as used (zero available is zero,
// not absent), and resources held by running tasks show with the job that
// submitted them, the driver, even after that driver died.
#include <catch2/catch.hpp>

#include <csignal>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "cluster_support.hpp"
#include "cluster_tasks.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

/// A driver of no CPUs: its tasks run on the head and the worker.
lumen::config driver_of(const cluster_it::test_cluster& cluster) {
  return lumen::config{.address = cluster.address(), .num_cpus = 0};
}

/// The CPUs available on each live node that is not a driver, as
/// lumen::nodes() reports them; -1 where the key is missing.
std::vector<double> available_cpus() {
  std::vector<double> out;
  for (auto& n : lumen::nodes()) {
    if (!n.alive || n.driver)
      continue;
    auto i = n.resources_available.find("CPU");
    out.push_back(i == n.resources_available.end() ? -1 : i->second);
  }
  return out;
}

/// Whether every CPU of the cluster is in use (a missing key counts as
/// busy here, so that this also holds before the fix).
bool all_busy() {
  auto cpus = available_cpus();
  if (cpus.size() != 2)
    return false;
  for (auto c : cpus)
    if (c > 0)
      return false;
  return true;
}

/// Waits (bounded) for `pred`.
template <class Pred>
bool eventually(Pred pred, std::chrono::seconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

/// CPUs held by tasks of `job` on all live nodes, as lumen::nodes() says.
double held_by(const std::string& job) {
  double sum = 0;
  for (auto& n : lumen::nodes()) {
    if (!n.alive)
      continue;
    if (auto i = n.resources_by_job.find(job); i != n.resources_by_job.end())
      if (auto j = i->second.find("CPU"); j != i->second.end())
        sum += j->second;
  }
  return sum;
}

} // namespace

TEST_CASE("status: every CPU busy shows as used, with the job holding it",
          "[cluster][status]") {
  cluster_it::test_cluster cluster{1, 1};
  cluster_it::watchdog dog{cluster, 180s};
  lumen::init_guard g{driver_of(cluster)};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  auto me = lumen::node_id();
  std::vector<lumen::object_ref<std::string>> naps;
  for (int i = 0; i < 2; ++i)
    naps.push_back(lumen::task(cluster_tasks::nap).remote(6000));
  REQUIRE(eventually(all_busy));
  // Zero is zero: the key is there, at 0.
  for (auto c : available_cpus())
    CHECK(c == 0);
  CHECK(held_by(me) == 2);
  auto [status, out] = cluster.cli("status --address " + cluster.address());
  REQUIRE(status == 0);
  INFO(out);
  // Per node, in sum, and who holds them.
  CHECK_THAT(out, !Contains("CPU 0/1"));
  CHECK_THAT(out, Contains("resources     CPU 1/1 (used/total)"));
  CHECK_THAT(out, Contains("  CPU  2/2\n"));
  CHECK_THAT(out, Contains("1 task of job " + me +
                           " (driver alive) holds "
                           "CPU 1"));
  CHECK_THAT(out, Contains(me + " (driver alive): 2 tasks hold CPU 2"));
  for (auto& n : lumen::get(naps, 60s))
    CHECK(n.size() == 32);
  // And all of it comes back.
  CHECK(eventually([] {
    auto cpus = available_cpus();
    return cpus.size() == 2 && cpus[0] == 1 && cpus[1] == 1;
  }));
  CHECK(eventually([&] {
    return held_by(me) == 0;
  }));
}

TEST_CASE("status: a dead driver's running tasks show as held by its job",
          "[cluster][status]") {
  cluster_it::test_cluster cluster{1, 1};
  cluster_it::watchdog dog{cluster, 180s};
  int out[2];
  REQUIRE(::pipe(out) == 0);
  // A driver that starts two long tasks and is SIGKILLed while they run.
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(out[0]);
    try {
      lumen::init(driver_of(cluster));
      if (cluster_it::test_cluster::wait_for_nodes(2)) {
        for (int i = 0; i < 2; ++i)
          lumen::task(cluster_tasks::nap).remote(12000);
        if (eventually(all_busy)) {
          auto line = lumen::node_id() + "\n";
          if (::write(out[1], line.data(), line.size()) ==
              static_cast<ssize_t>(line.size()))
            ::raise(SIGKILL);
        }
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "dying driver: %s\n", e.what());
    }
    _exit(1);
  }
  ::close(out[1]);
  std::string dead;
  char c = 0;
  while (::read(out[0], &c, 1) == 1 && c != '\n')
    dead += c;
  ::close(out[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  REQUIRE(WIFSIGNALED(st));
  REQUIRE(dead.size() == 32);
  lumen::init_guard g{driver_of(cluster)};
  // The head has seen the driver go.
  REQUIRE(eventually([&] {
    for (auto& n : lumen::nodes())
      if (n.id == dead)
        return !n.alive;
    return true;
  }));
  // Its tasks still run: the CPUs are used, by the dead driver's job.
  CHECK(held_by(dead) == 2);
  for (auto cpu : available_cpus())
    CHECK(cpu == 0);
  auto [status, text] = cluster.cli("status --address " + cluster.address());
  REQUIRE(status == 0);
  INFO(text);
  CHECK_THAT(text, Contains("  CPU  2/2\n"));
  CHECK_THAT(text, Contains("1 task of job " + dead +
                            " (driver dead) holds "
                            "CPU 1"));
  CHECK_THAT(text, Contains(dead + " (driver dead): 2 tasks hold CPU 2"));
  // The jobs, with their start and end as the GCS recorded them: the dead
  // driver finished, this one runs.
  CHECK_THAT(text, Contains("  " + dead + "  finished, 20"));
  CHECK_THAT(text, Contains(" UTC to 20"));
  CHECK_THAT(text, Contains("  " + lumen::node_id() + "  running since 20"));
  // Once they return, the CPUs are free again.
  CHECK(eventually(
    [] {
      auto cpus = available_cpus();
      return cpus.size() == 2 && cpus[0] == 1 && cpus[1] == 1;
    },
    60s));
  CHECK(held_by(dead) == 0);
}

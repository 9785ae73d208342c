// A driver's end cleans up (issue 23 item 5): when a driver exits or is
// SIGKILLed, its queued tasks are cancelled on every node, its running
// tasks see lumen::cancelled(), and the resources come back. The driver
// is a forked child of this test; a head and two workers run as `lumen`
// processes.
#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "cancel_tasks.hpp"
#include "cluster_support.hpp"
#include "lumen/cancel.hpp"

using namespace std::chrono_literals;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool contains(const std::string& path, const std::string& what) {
  return slurp(path).find(what) != std::string::npos;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

lumen::config driver_of(const cluster_it::test_cluster& cluster) {
  return lumen::config{.address = cluster.address(), .num_cpus = 0};
}

/// Whether every live node that is not a driver has all its CPUs free.
bool cpus_free() {
  std::size_t nodes = 0;
  for (auto& n : lumen::nodes()) {
    if (!n.alive || n.driver)
      continue;
    ++nodes;
    auto a = n.resources_available.find("CPU");
    auto t = n.resources_total.find("CPU");
    if (a == n.resources_available.end() || t == n.resources_total.end() ||
        a->second != t->second)
      return false;
  }
  return nodes == 3;
}

/// The work a driver leaves behind: `running` long tasks (one per CPU of
/// the cluster) that loop until cancelled, and `queued` tasks behind them.
struct left_work {
  std::string dir;
  int running = 3;
  int queued = 5;

  std::string run_file(int i) const {
    return dir + "/run." + std::to_string(i);
  }

  std::string queued_file() const {
    return dir + "/queued";
  }

  /// In the driver: submits it all and waits until the long tasks run.
  bool submit() const {
    for (int i = 0; i < running; ++i)
      lumen::task(cancel_tasks::spin).spread().remote(run_file(i), 60'000);
    for (int i = 0; i < queued; ++i)
      lumen::task(cancel_tasks::mark).remote(queued_file());
    return eventually([this] {
      for (int i = 0; i < running; ++i)
        if (!contains(run_file(i), "start"))
          return false;
      return true;
    });
  }

  /// After the driver's end: every long task saw the cancel.
  bool all_cancelled() const {
    for (int i = 0; i < running; ++i)
      if (!contains(run_file(i), "cancelled"))
        return false;
    return true;
  }
};

/// Forks a driver that leaves `work` behind and then ends: SIGKILLed if
/// `kill`, else by lumen::shutdown() and exit. Returns when it is gone,
/// with the time it ended.
std::chrono::steady_clock::time_point
run_driver(const cluster_it::test_cluster& cluster, const left_work& work,
           bool kill) {
  int out[2];
  REQUIRE(::pipe(out) == 0);
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(out[0]);
    try {
      lumen::init(driver_of(cluster));
      if (cluster_it::test_cluster::wait_for_nodes(3) && work.submit()) {
        if (::write(out[1], "x", 1) == 1) {
          if (kill)
            ::raise(SIGKILL);
          lumen::shutdown();
          _exit(0);
        }
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "driver: %s\n", e.what());
    }
    _exit(1);
  }
  ::close(out[1]);
  char c = 0;
  bool ready = ::read(out[0], &c, 1) == 1;
  ::close(out[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  auto ended = std::chrono::steady_clock::now();
  REQUIRE(ready);
  if (kill)
    REQUIRE(WIFSIGNALED(st));
  else
    REQUIRE((WIFEXITED(st) && WEXITSTATUS(st) == 0));
  return ended;
}

void check_cleaned_up(const left_work& work,
                      std::chrono::steady_clock::time_point ended) {
  // Running tasks see lumen::cancelled() and return; the queued ones are
  // removed on every node, so nothing holds a CPU any more.
  CHECK(eventually([&] {
    return work.all_cancelled();
  }));
  CHECK(eventually(cpus_free));
  auto took = std::chrono::steady_clock::now() - ended;
  INFO("resources back after "
       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
       << " ms");
  CHECK(took < 5s);
  // The queued tasks never ran.
  std::this_thread::sleep_for(500ms);
  CHECK(slurp(work.queued_file()).empty());
}

} // namespace

TEST_CASE("cancel driver: a SIGKILLed driver's work is cancelled",
          "[cancel][cluster]") {
  cluster_it::test_cluster cluster{2, 1};
  cluster_it::watchdog dog{cluster, 240s};
  left_work work{cluster.dir()};
  auto ended = run_driver(cluster, work, true);
  lumen::init_guard g{driver_of(cluster)};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  check_cleaned_up(work, ended);
}

TEST_CASE("cancel driver: a driver that exits leaves no work behind",
          "[cancel][cluster]") {
  cluster_it::test_cluster cluster{2, 1};
  cluster_it::watchdog dog{cluster, 240s};
  left_work work{cluster.dir()};
  auto ended = run_driver(cluster, work, false);
  lumen::init_guard g{driver_of(cluster)};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  check_cleaned_up(work, ended);
}

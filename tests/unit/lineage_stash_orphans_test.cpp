// The lineage stash: the stashes of nodes that ended are adopted by a
// node that starts, or removed (remove_dead, as `lumen stop` does).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "lineage/stash.hpp"

#include "lineage_stash_test_support.hpp"

using lumen::detail::lineage_stash;

namespace {

using namespace stash_test;

/// Waits (up to 10 s) until process `pid`, a child, has exited without
/// reaping it: /proc shows it as a zombie.
bool wait_zombie(pid_t pid) {
  for (int i = 0; i < 1000; ++i) {
    std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
    std::string line;
    std::getline(in, line);
    auto close = line.rfind(')');
    if (close != std::string::npos && close + 2 < line.size() &&
        line[close + 2] == 'Z')
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

} // namespace

TEST_CASE("lineage stash: rows of a node that died are adopted", "[lineage]") {
  temp_dir parent{"orphans"};
  // A process id that is surely not running: a child that has exited.
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0)
    _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  auto dead = parent.path + "/" + std::to_string(pid);
  {
    lineage_stash s{dead};
    s.append(tid(1), "one", {});
    s.append(tid(2), "two", {});
    s.flush_to_disk();
  }
  // A live node's stash (its lock held: open here) is left alone.
  auto live = parent.path + "/" + std::to_string(getppid());
  lineage_stash live_stash{live};
  live_stash.append(tid(3), "three", {});
  live_stash.flush_to_disk();
  lineage_stash own{parent.path + "/" + std::to_string(getpid())};
  CHECK(own.adopt_orphans() == 2);
  CHECK(own.find(tid(1)) == std::optional<std::string>{"one"});
  CHECK_FALSE(own.find(tid(3)));
  CHECK_FALSE(std::filesystem::exists(dead));
  CHECK(std::filesystem::exists(live));
  own.flush_to_disk();
  CHECK(own.next_commit_batch(10).count == 2);
}

TEST_CASE("lineage stash: rows of a node that died are adopted while its "
          "process is a zombie not yet reaped",
          "[lineage]") {
  // kill(pid, 0) still finds a zombie; its stash's lock is gone with it.
  temp_dir parent{"zombie"};
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0)
    _exit(0);
  // Exited, not reaped: a zombie, as a SIGKILLed node is until its parent
  // waits for it.
  REQUIRE(wait_zombie(pid));
  auto dead = parent.path + "/" + std::to_string(pid);
  {
    lineage_stash s{dead}; // its rows, as the node left them
    s.append(tid(1), "one", {});
    s.flush_to_disk();
  }
  REQUIRE(::kill(pid, 0) == 0);
  lineage_stash own{parent.path + "/" + std::to_string(getpid())};
  CHECK(own.adopt_orphans() == 1);
  CHECK(own.find(tid(1)) == std::optional<std::string>{"one"});
  CHECK_FALSE(std::filesystem::exists(dead));
  int status = 0;
  waitpid(pid, &status, 0);
}

TEST_CASE("lineage stash: remove_dead removes the stashes of ended nodes "
          "only",
          "[lineage]") {
  temp_dir parent{"remove_dead"};
  auto ended = parent.path + "/" + std::to_string(getppid());
  {
    lineage_stash s{ended};
    s.append(tid(1), "one", {});
    s.flush_to_disk();
  }
  auto live = parent.path + "/" + std::to_string(getpid());
  lineage_stash live_stash{live};
  live_stash.append(tid(2), "two", {});
  live_stash.flush_to_disk();
  std::filesystem::create_directory(parent.path + "/not-a-pid");
  CHECK(lineage_stash::remove_dead(parent.path) == 1);
  CHECK_FALSE(std::filesystem::exists(ended));
  CHECK(std::filesystem::exists(live));
  CHECK(std::filesystem::exists(parent.path + "/not-a-pid"));
  CHECK(live_stash.find(tid(2)) == std::optional<std::string>{"two"});
  CHECK(lineage_stash::remove_dead(parent.path + "/missing") == 0);
}

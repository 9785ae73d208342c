// Names and kills are cluster-wide (issue 22, items 5 and 6): a detached
// named actor keeps its name in the GCS after the driver that created it
// has gone, a second create of that name fails, and `lumen::kill` from a
// driver that found an actor with get_actor ends the one instance for
// every driver. The drivers are separate processes.
#include <catch2/catch.hpp>

#include <csignal>
#include <optional>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "cluster_support.hpp"
#include "cluster_tasks.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using cluster_tasks::Tally;

namespace {

/// Two workers that can each hold one Tally; drivers hold none.
const std::vector<std::string> tally_nodes{"--resources '{\"tally\": 1}'",
                                           "--resources '{\"tally\": 1}'"};

/// A driver of no CPUs (its tasks and actors go to the cluster).
lumen::config driver_of(const cluster_it::test_cluster& cluster) {
  return lumen::config{.address = cluster.address(), .num_cpus = 0};
}

/// Waits (bounded) until this driver sees node `id` dead or gone.
bool wait_node_dead(const std::string& id) {
  for (int i = 0; i < 300; ++i) {
    bool alive = false;
    for (auto& n : lumen::nodes())
      alive = alive || (n.id == id && n.alive);
    if (!alive)
      return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

/// Reads a line the other process wrote to `fd` ("" on end of file).
std::string read_line(int fd) {
  std::string out;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n')
    out += c;
  return out;
}

void write_line(int fd, const std::string& s) {
  auto line = s + "\n";
  CHECK(::write(fd, line.data(), line.size()) ==
        static_cast<ssize_t>(line.size()));
}

/// Exit status of child `pid` (-1 if it did not exit normally).
int wait_child(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

TEST_CASE("actor names: a detached actor keeps its name after its creator "
          "exits",
          "[actors][cluster][names]") {
  cluster_it::test_cluster cluster{2, 1, tally_nodes};
  cluster_it::watchdog dog{cluster, 240s};
  int out[2];
  REQUIRE(::pipe(out) == 0);
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The creating driver: makes the actor, drops every handle to it,
    // and shuts down cleanly.
    ::close(out[0]);
    int code = 1;
    try {
      lumen::init(driver_of(cluster));
      {
        auto k = lumen::actor(Tally::create)
                   .name("kept", "it")
                   .detached()
                   .resources({{"tally", 1}})
                   .remote(5);
        if (lumen::get(k.task(&Tally::add).remote(10), 30s) == 15)
          code = 0;
      }
      write_line(out[1], lumen::node_id());
      lumen::shutdown();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "creating driver: %s\n", e.what());
    }
    _exit(code);
  }
  ::close(out[1]);
  auto creator = read_line(out[0]);
  ::close(out[0]);
  REQUIRE(wait_child(pid) == 0);
  REQUIRE(creator.size() == 32);
  lumen::init_guard g{driver_of(cluster)};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  // Everything the creator sent has reached the GCS once it saw it go.
  REQUIRE(wait_node_dead(creator));
  auto k = lumen::get_actor<Tally>("kept", "it");
  REQUIRE(k);
  CHECK(lumen::get(k->task(&Tally::add).remote(1), 30s) == 16);
  // The name is taken: a second actor of that name is refused, clearly,
  // and the first one is untouched.
  CHECK_THROWS_WITH(lumen::actor(Tally::create)
                      .name("kept", "it")
                      .detached()
                      .resources({{"tally", 1}})
                      .remote(0),
                    Contains("an actor named 'kept' exists already") &&
                      Contains("namespace 'it'"));
  CHECK(lumen::get(k->task(&Tally::add).remote(1), 30s) == 17);
  lumen::kill(*k);
}

TEST_CASE("actor names: a kill from another driver ends the actor for every "
          "driver",
          "[actors][cluster][names]") {
  cluster_it::test_cluster cluster{2, 1, tally_nodes};
  cluster_it::watchdog dog{cluster, 240s};
  int go[2];
  int done[2];
  REQUIRE(::pipe(go) == 0);
  REQUIRE(::pipe(done) == 0);
  // The killer: forked before this process starts lumen, it waits for
  // the word, finds both actors by name, kills them, and says so.
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(go[1]);
    ::close(done[0]);
    int code = 1;
    if (read_line(go[0]) == "go") {
      try {
        lumen::init(driver_of(cluster));
        auto owned = lumen::get_actor<Tally>("owned", "it");
        auto kept = lumen::get_actor<Tally>("detached", "it");
        if (owned && kept &&
            lumen::get(owned->task(&Tally::add).remote(1), 30s) == 2 &&
            lumen::get(kept->task(&Tally::add).remote(1), 30s) == 3) {
          lumen::kill(*owned);
          lumen::kill(*kept);
          // Its own later calls reach each host after the kill: once they
          // fail, the kills are done there.
          int died = 0;
          for (auto* h : {&*owned, &*kept}) {
            try {
              lumen::get(h->task(&Tally::add).remote(1), 30s);
            } catch (const lumen::actor_died_error&) {
              ++died;
            }
          }
          if (died == 2)
            code = 0;
        }
        write_line(done[1], code == 0 ? "killed" : "not found");
        lumen::shutdown();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "killing driver: %s\n", e.what());
        write_line(done[1], e.what());
      }
    }
    _exit(code);
  }
  ::close(go[0]);
  ::close(done[1]);
  int code = -1;
  {
    lumen::init_guard g{driver_of(cluster)};
    REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
    auto owned = lumen::actor(Tally::create)
                   .name("owned", "it")
                   .resources({{"tally", 1}})
                   .remote(1);
    auto kept = lumen::actor(Tally::create)
                  .name("detached", "it")
                  .detached()
                  .resources({{"tally", 1}})
                  .remote(2);
    REQUIRE(lumen::get(owned.task(&Tally::node).remote(), 30s).size() == 32);
    REQUIRE(lumen::get(kept.task(&Tally::node).remote(), 30s).size() == 32);
    write_line(go[1], "go");
    CHECK(read_line(done[0]) == "killed");
    code = wait_child(pid);
    // Both instances are gone for this driver too: its calls fail, and
    // the names are free.
    CHECK_THROWS_AS(lumen::get(owned.task(&Tally::add).remote(1), 30s),
                    lumen::actor_died_error);
    CHECK_THROWS_AS(lumen::get(kept.task(&Tally::add).remote(1), 30s),
                    lumen::actor_died_error);
    bool freed = false;
    for (int i = 0; i < 100 && !freed; ++i) {
      freed = !lumen::get_actor<Tally>("owned", "it") &&
              !lumen::get_actor<Tally>("detached", "it");
      if (!freed)
        std::this_thread::sleep_for(100ms);
    }
    CHECK(freed);
    // The resources came back: a new actor of each name fits again.
    auto again = lumen::actor(Tally::create)
                   .name("owned", "it")
                   .resources({{"tally", 1}})
                   .remote(7);
    CHECK(lumen::get(again.task(&Tally::add).remote(1), 30s) == 8);
  }
  ::close(go[1]);
  ::close(done[0]);
  CHECK(code == 0);
}

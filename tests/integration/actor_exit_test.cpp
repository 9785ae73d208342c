// Integration tests: the lifecycle of Ray-style actors, continued —
// exit_actor, the end of an actor without handles, and detached actors
// (issue 3, point 4). The actor class is in actor_lifecycle_support.hpp.

#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "actor_lifecycle_support.hpp"
#include "lumen/lumen.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using lumen_it::patience;

namespace {

/// exit_actor outside an actor: in a task.
int al_exit_in_task(int x) {
  lumen::exit_actor();
  return x;
}

} // namespace

LUMEN_REMOTE(al_exit_in_task);

// -- exit_actor ---------------------------------------------------------------

TEST_CASE("actor lifecycle: exit_actor ends the actor for good",
          "[actors][lifecycle][exit]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  // Restarts left do not bring it back.
  auto a = lumen::actor(al_Life::create)
             .max_restarts(-1)
             .max_task_retries(-1)
             .name("al_exit")
             .remote(1);
  CHECK(lumen::get(a.task(&al_Life::add).remote(1), patience) == 2);
  try {
    lumen::get(a.task(&al_Life::quit).remote(), patience);
    FAIL("the exiting call returned");
  } catch (const lumen::actor_died_error& e) {
    CHECK_THAT(std::string{e.what()}, Contains("exit_actor"));
  }
  // The instance goes. (Calls racing with the exit: see the
  // tests below.)
  CHECK(lumen_it::eventually([] {
    return al_destroyed == 1;
  }));
  CHECK_THROWS_AS(lumen::get(a.task(&al_Life::add).remote(1), patience),
                  lumen::actor_died_error);
  CHECK_THROWS_AS(lumen::get(a.task(&al_Life::quit).remote(), patience),
                  lumen::actor_died_error);
  CHECK(al_made == 1);
  CHECK(lumen_it::eventually([] {
    return !lumen::get_actor<al_Life>("al_exit").has_value();
  }));
  // A kill that allows a restart does not revive it.
  lumen::kill(a, false);
  CHECK_THROWS_AS(lumen::get(a.task(&al_Life::add).remote(1), patience),
                  lumen::actor_died_error);
  CHECK(al_made == 1);
  CHECK(al_destroyed == 1);
}

// Regression (fixed): the host learnt of exit_actor by a message from the
// worker and only then bumped the generation, so calls already queued on
// the worker ran on the instance that had exited.
TEST_CASE("actor lifecycle: calls queued behind exit_actor fail too",
          "[actors][lifecycle][exit]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  auto a = lumen::actor(al_Life::create).remote(0);
  REQUIRE(lumen::get(a.task(&al_Life::bump).remote(), patience) == 1001);
  auto quitting = a.task(&al_Life::quit_after_gate).remote();
  REQUIRE(lumen_it::eventually([] {
    return al_held == 1;
  }));
  std::vector<lumen::object_ref<int>> queued;
  for (int i = 0; i < 5; ++i)
    queued.push_back(a.task(&al_Life::bump).remote());
  // Let the host hand the queued calls on before the method exits.
  std::this_thread::sleep_for(300ms);
  al_gate.open();
  CHECK(outcome(quitting) == "died");
  std::vector<std::string> results;
  for (auto& r : queued)
    results.push_back(outcome(r));
  CHECK(results == std::vector<std::string>(5, "died"));
}

// Regression (fixed), same cause as above: the exiting call's result was
// stored before the host learnt of the exit, so a caller that had seen it
// could send a call that the host still handed to the instance.
TEST_CASE("actor lifecycle: a call sent after exit_actor's result was seen "
          "fails",
          "[actors][lifecycle][exit]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  int ran = 0;
  for (int i = 0; i < 100; ++i) {
    auto a = lumen::actor(al_Life::create).remote(0);
    REQUIRE(lumen::get(a.task(&al_Life::add).remote(1), patience) == 1);
    REQUIRE(outcome(a.task(&al_Life::quit).remote()) == "died");
    if (outcome(a.task(&al_Life::add).remote(1)) == "ok")
      ++ran;
  }
  CHECK(ran == 0);
}

TEST_CASE("actor lifecycle: exit_actor outside an actor throws lumen::error",
          "[actors][lifecycle][exit][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  CHECK_THROWS_AS(lumen::exit_actor(), lumen::error);
  // In a task, the task fails with that error (a plain lumen::error keeps
  // its kind on the way to the caller).
  auto r = lumen::task(al_exit_in_task).remote(1);
  CHECK_THROWS_AS(lumen::get(r, patience), lumen::error);
  CHECK_THROWS_WITH(lumen::get(r, patience), Contains("exit_actor"));
}

// -- the end of an actor without handles, detached actors ---------------------

TEST_CASE("actor lifecycle: an actor whose handles are all gone is ended",
          "[actors][lifecycle][scope]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  {
    auto a = lumen::actor(al_Life::create).num_cpus(1).remote(1);
    auto b = a;
    CHECK(lumen::get(a.task(&al_Life::add).remote(1), patience) == 2);
    CHECK(lumen_it::snapshot().available.at("CPU") == 1);
    a = {};
    // One copy left: still alive.
    CHECK(lumen::get(b.task(&al_Life::add).remote(1), patience) == 3);
    CHECK(al_destroyed == 0);
  }
  CHECK(lumen_it::eventually([] {
    return al_destroyed == 1;
  }));
  // Its CPU is back.
  CHECK(lumen_it::eventually([] {
    auto s = lumen_it::snapshot();
    return s.actors == 0 && s.available.at("CPU") == 2;
  }));
}

TEST_CASE("actor lifecycle: a handle inside an object keeps the actor alive",
          "[actors][lifecycle][scope]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  auto stored = lumen::put(lumen::actor(al_Life::create).remote(5));
  auto h = lumen::get(stored, patience);
  CHECK(lumen::get(h.task(&al_Life::add).remote(1), patience) == 6);
  h = {};
  // Only the object holds it now.
  auto again = lumen::get(stored, patience);
  CHECK(lumen::get(again.task(&al_Life::add).remote(1), patience) == 7);
  CHECK(al_destroyed == 0);
  again = {};
  stored = {};
  CHECK(lumen_it::eventually([] {
    return al_destroyed == 1;
  }));
}

TEST_CASE("actor lifecycle: a detached actor outlives its handles",
          "[actors][lifecycle][scope]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  {
    auto a = lumen::actor(al_Life::create)
               .name("al_detached", "al_ns")
               .detached()
               .remote(1);
    CHECK(lumen::get(a.task(&al_Life::add).remote(41), patience) == 42);
  }
  // No handle is left anywhere; the actor lives on.
  CHECK_FALSE(lumen_it::eventually(
    [] {
      return al_destroyed > 0;
    },
    300ms));
  auto found = lumen::get_actor<al_Life>("al_detached", "al_ns");
  REQUIRE(found);
  CHECK(lumen::get(found->task(&al_Life::add).remote(1), patience) == 43);
  // Dropping the found handle again does not end it either.
  found.reset();
  CHECK_FALSE(lumen_it::eventually(
    [] {
      return al_destroyed > 0;
    },
    300ms));
  auto again = lumen::get_actor<al_Life>("al_detached", "al_ns");
  REQUIRE(again);
  CHECK(lumen::get(again->task(&al_Life::add).remote(1), patience) == 44);
  // Only kill ends it.
  lumen::kill(*again);
  CHECK_THROWS_AS(lumen::get(again->task(&al_Life::add).remote(1), patience),
                  lumen::actor_died_error);
  CHECK(lumen_it::eventually([] {
    return al_destroyed == 1;
  }));
  CHECK_FALSE(lumen::get_actor<al_Life>("al_detached", "al_ns"));
}

// Regression (fixed; it diverged from Ray): when the last handle went, the
// host died at once and failed the calls still queued, so a call accepted
// while a handle existed never ran. As in Ray, the termination now comes
// after the calls already sent (ray-project/ray#2041, #2052).
TEST_CASE("actor lifecycle: a call sent through a handle that is dropped "
          "right after still runs",
          "[actors][lifecycle][scope]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  // As in Ray, `ray.get(Actor.remote().method.remote())`: the call was
  // accepted while a handle existed.
  auto r =
    lumen::actor(al_Life::create).remote(1).task(&al_Life::add).remote(1);
  CHECK(outcome(r) == "ok");
  CHECK(al_made == 1);
  CHECK(lumen_it::eventually([] {
    return al_destroyed == al_made;
  }));
}

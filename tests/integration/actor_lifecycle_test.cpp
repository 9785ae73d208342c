// Integration tests: the lifecycle of Ray-style actors — kill, restarts,
// and calls caught by a restart (issue 3, point 4). exit_actor, the end of
// an actor without handles and detached actors are in actor_exit_test.cpp.

#include <atomic>
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

int al_plain(int x) {
  return x;
}

bool al_restarted_in_task() {
  return lumen::was_current_actor_restarted();
}

} // namespace

LUMEN_REMOTE(al_Life::create, &al_Life::add, &al_Life::generation,
             &al_Life::restarted, &al_Life::restarted_at_birth, &al_Life::quit,
             &al_Life::quit_after_gate, &al_Life::hold, &al_Life::hold_long,
             &al_Life::bump);
LUMEN_REMOTE(al_restarted_in_task, al_plain);

// -- kill ---------------------------------------------------------------------

TEST_CASE("actor lifecycle: after kill every call throws actor_died_error",
          "[actors][lifecycle]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  auto a = lumen::actor(al_Life::create).remote(1);
  auto copy = a;
  CHECK(lumen::get(a.task(&al_Life::add).remote(1), patience) == 2);
  lumen::kill(a);
  CHECK_THROWS_AS(lumen::get(a.task(&al_Life::add).remote(1), patience),
                  lumen::actor_died_error);
  CHECK_THROWS_AS(lumen::get(copy.task(&al_Life::add).remote(1), patience),
                  lumen::actor_died_error);
  CHECK_THROWS_WITH(lumen::get(a.task(&al_Life::add).remote(1), patience),
                    Contains("kill"));
  // The instance is destroyed while handles remain.
  CHECK(lumen_it::eventually([] {
    return al_destroyed == 1;
  }));
  // Killing again is harmless; a dead actor stays dead.
  lumen::kill(a);
  lumen::kill(a, false);
  CHECK_THROWS_AS(lumen::get(a.task(&al_Life::generation).remote(), patience),
                  lumen::actor_died_error);
  CHECK(al_made == 1);
}

TEST_CASE(
  "actor lifecycle: a kill allowing a restart kills without restarts left",
  "[actors][lifecycle]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  auto a = lumen::actor(al_Life::create).remote(1); // max_restarts 0
  CHECK(lumen::get(a.task(&al_Life::add).remote(1), patience) == 2);
  lumen::kill(a, false);
  CHECK_THROWS_AS(lumen::get(a.task(&al_Life::add).remote(1), patience),
                  lumen::actor_died_error);
  CHECK(al_made == 1);
  // kill(h) on a restartable actor does not restart it either.
  auto r = lumen::actor(al_Life::create).max_restarts(5).remote(1);
  CHECK(lumen::get(r.task(&al_Life::generation).remote(), patience) == 2);
  lumen::kill(r);
  CHECK_THROWS_AS(lumen::get(r.task(&al_Life::add).remote(1), patience),
                  lumen::actor_died_error);
  CHECK(al_made == 2);
}

// Regression (fixed): with max_concurrency 1 the host handed every call to
// the actor's one worker thread at once, and a kill only bumped the
// generation, so calls queued on the worker learnt of it only after the
// running call returned. If that call hung (the usual reason to kill an
// actor), `get` on the waiting calls hung with it, although kill promises
// "Pending calls fail with actor_died_error".
TEST_CASE("actor lifecycle: calls waiting at a kill fail with "
          "actor_died_error while the running call is stuck",
          "[actors][lifecycle]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  auto a = lumen::actor(al_Life::create).remote(0);
  auto running = a.task(&al_Life::hold_long).remote();
  REQUIRE(lumen_it::eventually([] {
    return al_held == 1;
  }));
  std::vector<lumen::object_ref<int>> waiting;
  for (int i = 0; i < 5; ++i)
    waiting.push_back(a.task(&al_Life::bump).remote());
  lumen::kill(a);
  // Wait for all five at once (one timeout, not five).
  auto settled = lumen::wait(waiting, waiting.size(), patience);
  CHECK(settled.unready.empty());
  std::vector<std::string> results;
  for (auto& r : settled.ready)
    results.push_back(outcome(r));
  CHECK(results == std::vector<std::string>(settled.ready.size(), "died"));
  al_gate.open();
  // The running call cannot be interrupted: it ends one way or the other.
  auto o = outcome(running);
  CHECK((o == "ok" || o == "died"));
  CHECK(lumen_it::eventually([] {
    return al_destroyed == 1;
  }));
}

TEST_CASE("actor lifecycle: calls waiting at a kill fail with "
          "actor_died_error once the running call returns",
          "[actors][lifecycle]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  auto a = lumen::actor(al_Life::create).remote(0);
  auto running = a.task(&al_Life::hold).remote();
  REQUIRE(lumen_it::eventually([] {
    return al_held == 1;
  }));
  std::vector<lumen::object_ref<int>> waiting;
  for (int i = 0; i < 5; ++i)
    waiting.push_back(a.task(&al_Life::bump).remote());
  lumen::kill(a);
  // Calls sent after the kill fail at once.
  std::vector<lumen::object_ref<int>> after;
  for (int i = 0; i < 3; ++i)
    after.push_back(a.task(&al_Life::bump).remote());
  for (auto& r : after)
    CHECK(outcome(r) == "died");
  al_gate.open();
  auto o = outcome(running);
  CHECK((o == "ok" || o == "died"));
  std::vector<std::string> results;
  for (auto& r : waiting)
    results.push_back(outcome(r));
  CHECK(results == std::vector<std::string>(5, "died"));
  CHECK(lumen_it::eventually([] {
    return al_destroyed == 1;
  }));
}

// Regression (fixed): a kill released the actor's worker thread to the
// pool at once, although that thread still ran the killed actor's method;
// the pool handed it out first, so the next task or actor queued behind
// the stuck method.
TEST_CASE("actor lifecycle: killing a stuck actor frees the node for new "
          "tasks and actors",
          "[actors][lifecycle]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  auto a = lumen::actor(al_Life::create).remote(0);
  auto running = a.task(&al_Life::hold_long).remote();
  REQUIRE(lumen_it::eventually([] {
    return al_held == 1;
  }));
  lumen::kill(a);
  CHECK_THROWS_AS(lumen::get(a.task(&al_Life::bump).remote(), patience),
                  lumen::actor_died_error);
  SECTION("a task runs") {
    auto t = lumen::task(al_plain).remote(3);
    CHECK(outcome(t) == "ok");
  }
  SECTION("a new actor runs") {
    auto b = lumen::actor(al_Life::create).remote(0);
    CHECK(outcome(b.task(&al_Life::add).remote(1)) == "ok");
  }
  al_gate.open();
  auto o = outcome(running);
  CHECK((o == "ok" || o == "died"));
}

// Regression (fixed), same cause as above, for a restart: the fresh
// instance's factory was queued on the worker that still ran the stuck
// method, so a restarted actor took no call until the method of the
// killed instance returned.
TEST_CASE("actor lifecycle: a kill allowing a restart restarts a stuck actor",
          "[actors][lifecycle][restart]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  auto a = lumen::actor(al_Life::create).max_restarts(1).remote(5);
  auto running = a.task(&al_Life::hold_long).remote();
  REQUIRE(lumen_it::eventually([] {
    return al_held == 1;
  }));
  lumen::kill(a, false);
  auto fresh = a.task(&al_Life::add).remote(1);
  CHECK(outcome(fresh) == "ok");
  al_gate.open();
  auto o = outcome(running);
  CHECK((o == "ok" || o == "died"));
  CHECK(lumen::get(fresh, patience) == 6);
}

TEST_CASE("actor lifecycle: shutdown ends every actor", "[actors][lifecycle]") {
  al_reset();
  {
    lumen::init_guard guard{lumen::config{.num_cpus = 2}};
    auto a = lumen::actor(al_Life::create).remote(1);
    lumen::actor(al_Life::create).name("al_kept").detached().remote(2);
    auto r = lumen::actor(al_Life::create).max_restarts(-1).remote(3);
    CHECK(lumen::get(a.task(&al_Life::add).remote(1), patience) == 2);
    CHECK(lumen::get(r.task(&al_Life::add).remote(1), patience) == 4);
    auto kept = lumen::get_actor<al_Life>("al_kept");
    REQUIRE(kept);
    CHECK(lumen::get(kept->task(&al_Life::add).remote(1), patience) == 3);
  }
  CHECK(al_made == 3);
  CHECK(al_destroyed == 3);
  // A fresh runtime knows none of them.
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  CHECK_FALSE(lumen::get_actor<al_Life>("al_kept"));
}

// -- restarts -----------------------------------------------------------------

TEST_CASE("actor lifecycle: max_restarts(1) restarts once and then dies",
          "[actors][lifecycle][restart]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  auto a = lumen::actor(al_Life::create)
             .name("al_restartable")
             .max_restarts(1)
             .remote(10);
  CHECK(lumen::get(a.task(&al_Life::add).remote(5), patience) == 15);
  CHECK_FALSE(lumen::get(a.task(&al_Life::restarted).remote(), patience));
  CHECK_FALSE(
    lumen::get(a.task(&al_Life::restarted_at_birth).remote(), patience));
  CHECK(lumen::get(a.task(&al_Life::generation).remote(), patience) == 1);

  lumen::kill(a, false);
  // The factory ran again, with the same arguments: the state is reset.
  CHECK(lumen::get(a.task(&al_Life::add).remote(1), patience) == 11);
  CHECK(lumen::get(a.task(&al_Life::generation).remote(), patience) == 2);
  CHECK(lumen::get(a.task(&al_Life::restarted).remote(), patience));
  CHECK(lumen::get(a.task(&al_Life::restarted_at_birth).remote(), patience));
  CHECK(al_made == 2);
  CHECK(lumen_it::eventually([] {
    return al_destroyed == 1;
  }));
  // The name stays with the restarted actor.
  auto found = lumen::get_actor<al_Life>("al_restartable");
  REQUIRE(found);
  CHECK(lumen::get(found->task(&al_Life::add).remote(1), patience) == 12);

  // No restart left: the next kill is final.
  lumen::kill(a, false);
  CHECK_THROWS_AS(lumen::get(a.task(&al_Life::add).remote(1), patience),
                  lumen::actor_died_error);
  CHECK(al_made == 2);
  CHECK(lumen_it::eventually([] {
    return al_destroyed == 2;
  }));
  CHECK_FALSE(lumen::get_actor<al_Life>("al_restartable"));
}

TEST_CASE("actor lifecycle: max_restarts(2) allows exactly two restarts",
          "[actors][lifecycle][restart]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  auto a = lumen::actor(al_Life::create).max_restarts(2).remote(0);
  for (int expected_gen = 1; expected_gen <= 3; ++expected_gen) {
    CHECK(lumen::get(a.task(&al_Life::generation).remote(), patience) ==
          expected_gen);
    lumen::kill(a, false);
  }
  CHECK_THROWS_AS(lumen::get(a.task(&al_Life::generation).remote(), patience),
                  lumen::actor_died_error);
  CHECK(al_made == 3);
}

TEST_CASE("actor lifecycle: max_restarts(-1) restarts without limit",
          "[actors][lifecycle][restart]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  auto a = lumen::actor(al_Life::create).max_restarts(-1).remote(100);
  for (int i = 1; i <= 8; ++i) {
    CHECK(lumen::get(a.task(&al_Life::generation).remote(), patience) == i);
    CHECK(lumen::get(a.task(&al_Life::add).remote(i), patience) == 100 + i);
    CHECK(lumen::get(a.task(&al_Life::restarted).remote(), patience) ==
          (i > 1));
    lumen::kill(a, false);
  }
  CHECK(lumen::get(a.task(&al_Life::generation).remote(), patience) == 9);
  // Many kills in a row, without waiting in between.
  for (int i = 0; i < 20; ++i)
    lumen::kill(a, false);
  CHECK(lumen::get(a.task(&al_Life::add).remote(1), patience) == 101);
  // A final kill.
  lumen::kill(a);
  CHECK_THROWS_AS(lumen::get(a.task(&al_Life::add).remote(1), patience),
                  lumen::actor_died_error);
  CHECK(lumen_it::eventually([] {
    return al_destroyed == al_made;
  }));
}

TEST_CASE("actor lifecycle: was_current_actor_restarted is false outside "
          "actors",
          "[actors][lifecycle][restart]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  CHECK_FALSE(lumen::was_current_actor_restarted());
  CHECK_FALSE(lumen::get(lumen::task(al_restarted_in_task).remote(), patience));
}

TEST_CASE("actor lifecycle: calls caught by a restart run again on the fresh "
          "instance with max_task_retries(-1)",
          "[actors][lifecycle][restart]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  auto a = lumen::actor(al_Life::create)
             .max_restarts(-1)
             .max_task_retries(-1)
             .remote(0);
  REQUIRE(lumen::get(a.task(&al_Life::bump).remote(), patience) == 1001);
  // One call runs (held at the gate), five wait behind it.
  auto running = a.task(&al_Life::hold).remote();
  REQUIRE(lumen_it::eventually([] {
    return al_held == 1;
  }));
  std::vector<lumen::object_ref<int>> caught;
  for (int i = 0; i < 5; ++i)
    caught.push_back(a.task(&al_Life::bump).remote());
  lumen::kill(a, false);
  // Calls sent after the kill.
  std::vector<lumen::object_ref<int>> later;
  for (int i = 0; i < 3; ++i)
    later.push_back(a.task(&al_Life::bump).remote());
  // The kill is a message; the host must have taken it before the running
  // call returns (the waiting calls must see the restart): it has once the
  // fresh instance exists.
  REQUIRE(lumen_it::eventually([] {
    return al_made == 2;
  }));
  al_gate.open();
  auto o = outcome(running);
  CHECK((o == "ok" || o == "died"));
  // The caught calls ran on the fresh instance (generation 2), in their
  // order, before the calls sent after the kill.
  std::vector<std::string> results;
  for (auto& r : caught)
    results.push_back(outcome(r));
  CHECK(results == std::vector<std::string>(5, "ok"));
  std::vector<int> values;
  for (auto& r : caught)
    values.push_back(outcome(r) == "ok" ? lumen::get(r, patience) : 0);
  CHECK(values == std::vector<int>{2001, 2002, 2003, 2004, 2005});
  std::vector<int> after;
  for (auto& r : later)
    after.push_back(outcome(r) == "ok" ? lumen::get(r, patience) : 0);
  CHECK(after == std::vector<int>{2006, 2007, 2008});
  CHECK(al_made == 2);
}

TEST_CASE("actor lifecycle: calls caught by a restart fail with "
          "max_task_retries(0)",
          "[actors][lifecycle][restart]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  al_reset();
  auto a = lumen::actor(al_Life::create).max_restarts(-1).remote(0);
  REQUIRE(lumen::get(a.task(&al_Life::bump).remote(), patience) == 1001);
  auto running = a.task(&al_Life::hold).remote();
  REQUIRE(lumen_it::eventually([] {
    return al_held == 1;
  }));
  std::vector<lumen::object_ref<int>> caught;
  for (int i = 0; i < 5; ++i)
    caught.push_back(a.task(&al_Life::bump).remote());
  lumen::kill(a, false);
  std::vector<lumen::object_ref<int>> later;
  for (int i = 0; i < 3; ++i)
    later.push_back(a.task(&al_Life::bump).remote());
  REQUIRE(lumen_it::eventually([] { // see the test above
    return al_made == 2;
  }));
  al_gate.open();
  auto o = outcome(running);
  CHECK((o == "ok" || o == "died"));
  for (auto& r : caught)
    CHECK(outcome(r) == "died");
  // Calls sent after the kill reach the fresh instance.
  std::vector<int> after;
  for (auto& r : later)
    after.push_back(outcome(r) == "ok" ? lumen::get(r, patience) : 0);
  CHECK(after == std::vector<int>{2001, 2002, 2003});
}

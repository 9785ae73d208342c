// Integration tests: Ray-style actors — registration, creation, calls and
// their options, handles as values, and errors (issue 3, points 1, 2 and
// 5). Named actors (point 3) are in actor_names_test.cpp.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "actor_basics_support.hpp"
#include "lumen/lumen.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using lumen_it::patience;

namespace {

/// A factory that throws.
struct ab_Broken {
  static ab_Broken* create(int x) {
    throw ab_oops("cannot build " + std::to_string(x));
  }

  int ping() {
    return 1;
  }
};

/// A factory that returns null.
struct ab_Null {
  static ab_Null* create() {
    return nullptr;
  }

  int ping() {
    return 1;
  }
};

/// A factory that is never registered.
struct ab_Unlisted {
  static ab_Unlisted* create() {
    return new ab_Unlisted;
  }
};

int ab_plus(int a, int b) {
  return a + b;
}

int ab_throws(int x) {
  throw ab_oops("task failed with " + std::to_string(x));
}

/// A task that calls an actor through a handle it received.
int ab_add_via(lumen::actor_handle<ab_Counter> h, int x) {
  return lumen::get(h.task(&ab_Counter::add).remote(x), patience);
}

/// A task that calls every actor of a vector of handles.
int ab_add_all(std::vector<lumen::actor_handle<ab_Counter>> hs, int x) {
  int total = 0;
  for (auto& h : hs)
    total += lumen::get(h.task(&ab_Counter::add).remote(x), patience);
  return total;
}

/// A task that reaches the counter inside a holder.
int ab_add_held(ab_Holder h, int x) {
  return lumen::get(h.counter.task(&ab_Counter::add).remote(x), patience);
}

/// A task that creates an actor and returns its handle.
lumen::actor_handle<ab_Counter> ab_spawn_counter(int start) {
  return lumen::actor(ab_Counter::create).remote(start);
}

} // namespace

LUMEN_REMOTE(ab_Counter::create, &ab_Counter::add, &ab_Counter::read,
             &ab_Counter::set, &ab_Counter::concat, &ab_Counter::fail,
             &ab_Counter::fail_odd, &ab_Counter::add_ref);
LUMEN_REMOTE(ab_Box::make, &ab_Box::push, &ab_Box::sum, &ab_Box::label_of);
LUMEN_REMOTE(ab_Broken::create, &ab_Broken::ping);
LUMEN_REMOTE(ab_Null::create, &ab_Null::ping);
LUMEN_REMOTE(ab_Relay::create, &ab_Relay::poke, &ab_Relay::keep,
             &ab_Relay::poke_kept);
LUMEN_REMOTE(ab_plus, ab_throws, ab_add_via, ab_add_all, ab_add_held,
             ab_spawn_counter);

// -- 1. registration, creation, calls -----------------------------------------

TEST_CASE("actors: a T* factory makes an actor whose methods keep state",
          "[actors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  ab_counters_made = 0;
  lumen::actor_handle<ab_Counter> c =
    lumen::actor(ab_Counter::create).remote(10);
  REQUIRE(c.valid());
  static_assert(std::is_same_v<decltype(c.task(&ab_Counter::add).remote(1)),
                               lumen::object_ref<int>>);
  CHECK(lumen::get(c.task(&ab_Counter::add).remote(5), patience) == 15);
  CHECK(lumen::get(c.task(&ab_Counter::add).remote(-3), patience) == 12);
  CHECK(lumen::get(c.task(&ab_Counter::read).remote(), patience) == 12);
  CHECK(
    lumen::get(
      c.task(&ab_Counter::concat).remote(std::string{"a"}, std::string{"b"}),
      patience) == "ab12");
  CHECK(ab_counters_made == 1); // one factory run for many calls
}

TEST_CASE("actors: a unique_ptr factory makes an actor", "[actors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  lumen::actor_handle<ab_Box> b =
    lumen::actor(ab_Box::make)
      .remote(std::string{"bag"}, std::vector<int>{1, 2, 3});
  CHECK(lumen::get(b.task(&ab_Box::sum).remote(), patience) == 6);
  CHECK(lumen::get(b.task(&ab_Box::label_of).remote(), patience) == "bag");
  lumen::get(b.task(&ab_Box::push).remote(10), patience);
  CHECK(lumen::get(b.task(&ab_Box::sum).remote(), patience) == 16);
}

TEST_CASE("actors: factory arguments may be object_refs", "[actors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  // A put object, and the result of a task still running.
  auto from_put = lumen::actor(ab_Counter::create).remote(lumen::put(7));
  auto from_task =
    lumen::actor(ab_Counter::create).remote(lumen::task(ab_plus).remote(20, 3));
  auto label = lumen::put(std::string{"refbox"});
  auto box = lumen::actor(ab_Box::make)
               .remote(label, lumen::put(std::vector<int>{4, 5}));
  CHECK(lumen::get(from_put.task(&ab_Counter::read).remote(), patience) == 7);
  CHECK(lumen::get(from_task.task(&ab_Counter::read).remote(), patience) == 23);
  CHECK(lumen::get(box.task(&ab_Box::label_of).remote(), patience) == "refbox");
  CHECK(lumen::get(box.task(&ab_Box::sum).remote(), patience) == 9);
}

TEST_CASE("actors: method arguments may be values or object_refs", "[actors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto c = lumen::actor(ab_Counter::create).remote(0);
  auto five = lumen::put(5);
  auto r1 = c.task(&ab_Counter::add).remote(five);
  auto r2 = c.task(&ab_Counter::add).remote(lumen::task(ab_plus).remote(1, 1));
  auto r3 = c.task(&ab_Counter::add).remote(100);
  // A method result is itself a ref that feeds the next call.
  auto r4 = c.task(&ab_Counter::add).remote(r3);
  auto r5 = c.task(&ab_Counter::concat)
              .remote(lumen::put(std::string{"x"}), std::string{"y"});
  // A parameter declared as object_ref<int> receives the ref itself.
  auto r6 = c.task(&ab_Counter::add_ref).remote(lumen::put(1000));
  CHECK(lumen::get(r1, patience) == 5);
  CHECK(lumen::get(r2, patience) == 7);
  CHECK(lumen::get(r3, patience) == 107);
  CHECK(lumen::get(r4, patience) == 214);
  CHECK(lumen::get(r5, patience) == "xy214");
  CHECK(lumen::get(r6, patience) == 1214);
}

TEST_CASE("actors: void methods give object_ref<void>", "[actors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto c = lumen::actor(ab_Counter::create).remote(1);
  auto done = c.task(&ab_Counter::set).remote(41);
  static_assert(std::is_same_v<decltype(done), lumen::object_ref<void>>);
  lumen::get(done, patience); // returns once the method ran
  CHECK(lumen::get(c.task(&ab_Counter::add).remote(1), patience) == 42);
  // A void call with a ref argument.
  lumen::get(c.task(&ab_Counter::set).remote(lumen::put(-1)), patience);
  CHECK(lumen::get(c.task(&ab_Counter::read).remote(), patience) == -1);
}

TEST_CASE("actors: every option is accepted and takes effect", "[actors]") {
  lumen::init_guard guard{
    lumen::config{.num_cpus = 2, .resources = {{"ab_res", 2}}}};
  auto c = lumen::actor(ab_Counter::create)
             .num_cpus(1)
             .resources({{"ab_res", 1.5}})
             .name("ab_opts", "ab_ns")
             .max_concurrency(2)
             .max_restarts(3)
             .max_task_retries(-1)
             .detached()
             .remote(3);
  CHECK(lumen::get(c.task(&ab_Counter::add).remote(1), patience) == 4);
  // The actor holds its CPU and custom resource while it lives.
  auto s = lumen_it::snapshot();
  CHECK(s.available.at("CPU") == 1);
  CHECK(s.available.at("ab_res") == 0.5);
  // Named in its namespace.
  auto found = lumen::get_actor<ab_Counter>("ab_opts", "ab_ns");
  REQUIRE(found);
  CHECK(*found == c);
  // Restartable: a kill that allows a restart re-creates it.
  lumen::kill(c, false);
  CHECK(lumen::get(c.task(&ab_Counter::read).remote(), patience) == 3);
  // A final kill releases what it held.
  lumen::kill(c);
  CHECK_THROWS_AS(lumen::get(c.task(&ab_Counter::read).remote(), patience),
                  lumen::actor_died_error);
  CHECK(lumen_it::eventually([] {
    auto s2 = lumen_it::snapshot();
    return s2.available.at("CPU") == 2 && s2.available.at("ab_res") == 2;
  }));
  // Fractional CPUs and zero CPUs are valid too.
  auto half = lumen::actor(ab_Counter::create).num_cpus(0.5).remote(1);
  auto none = lumen::actor(ab_Counter::create).num_cpus(0).remote(2);
  CHECK(lumen::get(half.task(&ab_Counter::read).remote(), patience) == 1);
  CHECK(lumen::get(none.task(&ab_Counter::read).remote(), patience) == 2);
  CHECK(lumen_it::snapshot().available.at("CPU") == 1.5);
}

TEST_CASE("actors: invalid options throw lumen::error at creation",
          "[actors][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto make = [] {
    return lumen::actor(ab_Counter::create);
  };
  CHECK_THROWS_AS(make().max_concurrency(0).remote(1), lumen::error);
  CHECK_THROWS_AS(make().max_concurrency(-3).remote(1), lumen::error);
  CHECK_THROWS_AS(make().max_restarts(-2).remote(1), lumen::error);
  CHECK_THROWS_AS(make().max_task_retries(-2).remote(1), lumen::error);
  CHECK_THROWS_AS(make().num_cpus(-1).remote(1), lumen::error);
  CHECK_THROWS_AS(
    make().num_cpus(std::numeric_limits<double>::quiet_NaN()).remote(1),
    lumen::error);
  CHECK_THROWS_AS(
    make().num_cpus(std::numeric_limits<double>::infinity()).remote(1),
    lumen::error);
  CHECK_THROWS_AS(make().resources({{"CPU", 1}}).remote(1), lumen::error);
  CHECK_THROWS_AS(make().resources({{"ab_res", -1}}).remote(1), lumen::error);
  CHECK_THROWS_AS(make().name("", "ab_ns_without_name").remote(1),
                  lumen::error);
  // The message names the factory.
  CHECK_THROWS_WITH(make().max_concurrency(0).remote(1),
                    Contains("ab_Counter::create"));
  // None of them made an actor; a valid one still works.
  CHECK(lumen_it::snapshot().actors == 0);
  CHECK(lumen_it::snapshot().pending_actors == 0);
  auto ok = make().max_restarts(-1).max_task_retries(-1).remote(9);
  CHECK(lumen::get(ok.task(&ab_Counter::read).remote(), patience) == 9);
}

TEST_CASE("actors: unregistered factories and methods and invalid handles",
          "[actors][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  CHECK_THROWS_AS(lumen::actor(ab_Unlisted::create),
                  lumen::function_not_found_error);
  auto c = lumen::actor(ab_Counter::create).remote(1);
  CHECK_THROWS_AS(c.task(&ab_Counter::not_registered),
                  lumen::function_not_found_error);
  lumen::actor_handle<ab_Counter> none;
  CHECK_FALSE(none.valid());
  CHECK_THROWS_AS(none.task(&ab_Counter::add), lumen::error);
  CHECK_THROWS_AS(lumen::kill(none), lumen::error);
  // The valid actor is unaffected.
  CHECK(lumen::get(c.task(&ab_Counter::read).remote(), patience) == 1);
}

// -- 2. handles are values ----------------------------------------------------

TEST_CASE("actors: copies of a handle reach the same instance",
          "[actors][handles]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto a = lumen::actor(ab_Counter::create).remote(0);
  auto b = a;                                       // copy
  lumen::actor_handle<ab_Counter> d{b};             // copy-construct
  lumen::actor_handle<ab_Counter> e = std::move(d); // move
  CHECK(a == b);
  CHECK(b == e);
  CHECK(a.id() == e.id());
  lumen::get(a.task(&ab_Counter::add).remote(1), patience);
  lumen::get(b.task(&ab_Counter::add).remote(10), patience);
  lumen::get(e.task(&ab_Counter::add).remote(100), patience);
  CHECK(lumen::get(a.task(&ab_Counter::read).remote(), patience) == 111);
  // Dropping some copies leaves the actor to the others.
  a = {};
  b = {};
  CHECK(lumen::get(e.task(&ab_Counter::read).remote(), patience) == 111);
  // Another actor is another instance.
  auto other = lumen::actor(ab_Counter::create).remote(0);
  CHECK(other != e);
  CHECK(lumen::get(other.task(&ab_Counter::read).remote(), patience) == 0);
}

TEST_CASE("actors: a handle passed to tasks reaches the same instance",
          "[actors][handles]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto c = lumen::actor(ab_Counter::create).remote(0);
  std::vector<lumen::object_ref<int>> rs;
  for (int i = 0; i < 4; ++i)
    rs.push_back(lumen::task(ab_add_via).remote(c, 1));
  auto values = lumen::get(rs, patience);
  std::sort(values.begin(), values.end());
  CHECK(values == std::vector<int>{1, 2, 3, 4});
  CHECK(lumen::get(c.task(&ab_Counter::read).remote(), patience) == 4);
  // A handle inside a ref argument: the task decodes it.
  auto in_store = lumen::put(c);
  CHECK(lumen::get(lumen::task(ab_add_via).remote(in_store, 10), patience) ==
        14);
}

TEST_CASE("actors: a handle passed to another actor reaches the same instance",
          "[actors][handles]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto c = lumen::actor(ab_Counter::create).remote(0);
  auto relay = lumen::actor(ab_Relay::create).remote();
  CHECK(lumen::get(relay.task(&ab_Relay::poke).remote(c, 5), patience) == 5);
  lumen::get(relay.task(&ab_Relay::keep).remote(c), patience);
  CHECK(lumen::get(relay.task(&ab_Relay::poke_kept).remote(7), patience) == 12);
  // The relay's stored copy keeps the actor alive after ours is gone.
  c = {};
  CHECK(lumen::get(relay.task(&ab_Relay::poke_kept).remote(1), patience) == 13);
}

TEST_CASE("actors: handles stored in objects reach the same instance",
          "[actors][handles]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto c1 = lumen::actor(ab_Counter::create).remote(0);
  auto c2 = lumen::actor(ab_Counter::create).remote(100);
  // A struct with an inspect overload.
  auto held = lumen::put(ab_Holder{"first", c1});
  ab_Holder back = lumen::get(held, patience);
  CHECK(back.tag == "first");
  REQUIRE(back.counter.valid());
  CHECK(back.counter == c1);
  lumen::get(back.counter.task(&ab_Counter::add).remote(3), patience);
  CHECK(lumen::get(c1.task(&ab_Counter::read).remote(), patience) == 3);
  CHECK(lumen::get(lumen::task(ab_add_held).remote(held, 4), patience) == 7);
  // A vector of handles.
  auto many = lumen::put(std::vector<lumen::actor_handle<ab_Counter>>{c1, c2});
  auto hs = lumen::get(many, patience);
  REQUIRE(hs.size() == 2);
  CHECK(hs[0] == c1);
  CHECK(hs[1] == c2);
  CHECK(lumen::get(lumen::task(ab_add_all).remote(many, 1), patience) ==
        8 + 101);
  // An invalid handle round-trips as invalid.
  ab_Holder empty = lumen::get(lumen::put(ab_Holder{"none", {}}), patience);
  CHECK_FALSE(empty.counter.valid());
  // The stored copy alone keeps the actor alive.
  c1 = {};
  back = {};
  hs.clear();
  ab_Holder again = lumen::get(held, patience);
  CHECK(lumen::get(again.counter.task(&ab_Counter::read).remote(), patience) ==
        8);
}

TEST_CASE("actors: a task may create an actor and return its handle",
          "[actors][handles]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto ref = lumen::task(ab_spawn_counter).remote(40);
  auto c = lumen::get(ref, patience);
  REQUIRE(c.valid());
  CHECK(lumen::get(c.task(&ab_Counter::add).remote(2), patience) == 42);
  ref = {};
  CHECK(lumen::get(c.task(&ab_Counter::read).remote(), patience) == 42);
}

// -- 5. errors ----------------------------------------------------------------

TEST_CASE("actors: an exception in a method fails that call only",
          "[actors][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto c = lumen::actor(ab_Counter::create).remote(5);
  auto bad = c.task(&ab_Counter::fail).remote(std::string{"boom"});
  auto after = c.task(&ab_Counter::add).remote(1);
  try {
    lumen::get(bad, patience);
    FAIL("the failing method returned");
  } catch (const lumen::task_error& e) {
    CHECK_THAT(e.type_name(), Contains("ab_oops"));
    CHECK(e.message() == "boom");
    CHECK(e.task_name() == "ab_Counter::fail");
    CHECK_THAT(std::string{e.what()}, Contains("boom"));
    CHECK_THAT(std::string{e.what()}, Contains("ab_Counter::fail"));
  }
  // The actor is alive and kept its state.
  CHECK(lumen::get(after, patience) == 6);
  CHECK(lumen::get(c.task(&ab_Counter::read).remote(), patience) == 6);
  // Getting the failed result again fails again.
  CHECK_THROWS_AS(lumen::get(bad, patience), lumen::task_error);
  // An exception not derived from std::exception.
  try {
    lumen::get(c.task(&ab_Counter::fail_odd).remote(), patience);
    FAIL("the failing method returned");
  } catch (const lumen::task_error& e) {
    CHECK(e.type_name() == "int");
    CHECK(e.task_name() == "ab_Counter::fail_odd");
  }
  CHECK(lumen::get(c.task(&ab_Counter::add).remote(1), patience) == 7);
}

TEST_CASE("actors: a failed ref argument fails the call but not the actor",
          "[actors][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto c = lumen::actor(ab_Counter::create).remote(1);
  auto failed = lumen::task(ab_throws).remote(3);
  auto call = c.task(&ab_Counter::add).remote(failed);
  try {
    lumen::get(call, patience);
    FAIL("the call with a failed argument returned");
  } catch (const lumen::task_error& e) {
    CHECK(e.task_name() == "ab_throws"); // the upstream task's error
    CHECK(e.message() == "task failed with 3");
  }
  CHECK(lumen::get(c.task(&ab_Counter::add).remote(1), patience) == 2);
}

TEST_CASE("actors: an exception in the factory fails every call with "
          "actor_creation_error",
          "[actors][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto b = lumen::actor(ab_Broken::create).name("ab_broken").remote(7);
  // Calls sent before and after the factory ran.
  std::vector<lumen::object_ref<int>> calls;
  for (int i = 0; i < 3; ++i)
    calls.push_back(b.task(&ab_Broken::ping).remote());
  for (auto& r : calls) {
    try {
      lumen::get(r, patience);
      FAIL("a call to an actor whose factory threw returned");
    } catch (const lumen::actor_creation_error& e) {
      CHECK_THAT(std::string{e.what()}, Contains("ab_Broken::create"));
      CHECK_THAT(std::string{e.what()}, Contains("ab_oops"));
      CHECK_THAT(std::string{e.what()}, Contains("cannot build 7"));
    }
  }
  CHECK_THROWS_AS(lumen::get(b.task(&ab_Broken::ping).remote(), patience),
                  lumen::actor_creation_error);
  // It is a lumen::error, and not a task_error.
  CHECK_THROWS_AS(lumen::get(b.task(&ab_Broken::ping).remote(), patience),
                  lumen::error);
  // It never lived: its name is free.
  CHECK_FALSE(lumen::get_actor<ab_Broken>("ab_broken"));
  // A restartable actor with a throwing factory fails the same way.
  auto r = lumen::actor(ab_Broken::create).max_restarts(-1).remote(8);
  CHECK_THROWS_AS(lumen::get(r.task(&ab_Broken::ping).remote(), patience),
                  lumen::actor_creation_error);
}

TEST_CASE("actors: a null factory result or a failed factory argument fail "
          "creation",
          "[actors][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto n = lumen::actor(ab_Null::create).remote();
  CHECK_THROWS_WITH(lumen::get(n.task(&ab_Null::ping).remote(), patience),
                    Contains("ab_Null::create"));
  CHECK_THROWS_AS(lumen::get(n.task(&ab_Null::ping).remote(), patience),
                  lumen::actor_creation_error);
  auto c =
    lumen::actor(ab_Counter::create).remote(lumen::task(ab_throws).remote(1));
  CHECK_THROWS_AS(lumen::get(c.task(&ab_Counter::read).remote(), patience),
                  lumen::actor_creation_error);
  CHECK_THROWS_WITH(lumen::get(c.task(&ab_Counter::read).remote(), patience),
                    Contains("ab_Counter::create"));
}

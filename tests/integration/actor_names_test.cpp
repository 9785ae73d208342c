// Integration tests: named Ray-style actors — get_actor, namespaces,
// duplicate names, and names released by a kill or by the last handle
// (issue 3, point 3). The actor classes are in actor_basics_support.hpp.

#include <string>

#include <catch2/catch.hpp>

#include "actor_basics_support.hpp"
#include "lumen/lumen.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using lumen_it::patience;

namespace {

/// A task that finds an actor by name and calls it.
int ab_add_by_name(std::string name, std::string ns, int x) {
  auto h = lumen::get_actor<ab_Counter>(name, ns);
  if (!h)
    return -1;
  return lumen::get(h->task(&ab_Counter::add).remote(x), patience);
}

} // namespace

LUMEN_REMOTE(ab_add_by_name);

// -- 3. named actors ----------------------------------------------------------

TEST_CASE("actors: get_actor finds a named actor", "[actors][names]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto c = lumen::actor(ab_Counter::create).name("ab_named").remote(1);
  auto found = lumen::get_actor<ab_Counter>("ab_named");
  REQUIRE(found.has_value());
  CHECK(*found == c);
  lumen::get(found->task(&ab_Counter::add).remote(1), patience);
  CHECK(lumen::get(c.task(&ab_Counter::read).remote(), patience) == 2);
  // The default namespace is "".
  CHECK(lumen::get_actor<ab_Counter>("ab_named", "").has_value());
  CHECK_FALSE(lumen::get_actor<ab_Counter>("ab_named", "elsewhere"));
  // Tasks find it too.
  CHECK(lumen::get(lumen::task(ab_add_by_name)
                     .remote(std::string{"ab_named"}, std::string{}, 10),
                   patience) == 12);
  // Unknown names.
  CHECK_FALSE(lumen::get_actor<ab_Counter>("ab_nobody"));
  CHECK_FALSE(lumen::get_actor<ab_Counter>("ab_nobody", "ab_ns"));
}

TEST_CASE("actors: one name in two namespaces names two actors",
          "[actors][names]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto a = lumen::actor(ab_Counter::create).name("ab_same", "ns_a").remote(1);
  auto b = lumen::actor(ab_Counter::create).name("ab_same", "ns_b").remote(2);
  auto d = lumen::actor(ab_Counter::create).name("ab_same").remote(3);
  auto fa = lumen::get_actor<ab_Counter>("ab_same", "ns_a");
  auto fb = lumen::get_actor<ab_Counter>("ab_same", "ns_b");
  auto fd = lumen::get_actor<ab_Counter>("ab_same");
  REQUIRE(fa);
  REQUIRE(fb);
  REQUIRE(fd);
  CHECK(*fa == a);
  CHECK(*fb == b);
  CHECK(*fd == d);
  CHECK(lumen::get(fa->task(&ab_Counter::read).remote(), patience) == 1);
  CHECK(lumen::get(fb->task(&ab_Counter::read).remote(), patience) == 2);
  CHECK(lumen::get(fd->task(&ab_Counter::read).remote(), patience) == 3);
}

TEST_CASE("actors: a duplicate name in one namespace throws at creation",
          "[actors][names][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto first = lumen::actor(ab_Counter::create).name("ab_dup", "ns").remote(1);
  CHECK_THROWS_AS(
    lumen::actor(ab_Counter::create).name("ab_dup", "ns").remote(2),
    lumen::error);
  // Also across classes.
  CHECK_THROWS_AS(lumen::actor(ab_Box::make)
                    .name("ab_dup", "ns")
                    .remote(std::string{}, std::vector<int>{}),
                  lumen::error);
  CHECK_THROWS_WITH(
    lumen::actor(ab_Counter::create).name("ab_dup", "ns").remote(2),
    Contains("ab_dup"));
  // The first actor keeps the name and its state.
  auto found = lumen::get_actor<ab_Counter>("ab_dup", "ns");
  REQUIRE(found);
  CHECK(*found == first);
  CHECK(lumen::get(found->task(&ab_Counter::read).remote(), patience) == 1);
  // No extra actor was left behind.
  CHECK(lumen_it::eventually([] {
    return lumen_it::snapshot().actors == 1;
  }));
}

TEST_CASE("actors: get_actor with the wrong class throws type_mismatch_error",
          "[actors][names][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto c = lumen::actor(ab_Counter::create).name("ab_typed").remote(1);
  CHECK_THROWS_AS(lumen::get_actor<ab_Box>("ab_typed"),
                  lumen::type_mismatch_error);
  CHECK_THROWS_AS(lumen::get_actor<ab_Relay>("ab_typed"),
                  lumen::type_mismatch_error);
  // The right class still finds it.
  CHECK(lumen::get_actor<ab_Counter>("ab_typed").has_value());
}

TEST_CASE("actors: a killed actor's name is released", "[actors][names]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto c = lumen::actor(ab_Counter::create).name("ab_reuse", "ns").remote(1);
  lumen::get(c.task(&ab_Counter::add).remote(1), patience);
  lumen::kill(c);
  // A call sent after the kill fails once the actor is dead; by then the
  // name is free.
  CHECK_THROWS_AS(lumen::get(c.task(&ab_Counter::read).remote(), patience),
                  lumen::actor_died_error);
  CHECK_FALSE(lumen::get_actor<ab_Counter>("ab_reuse", "ns"));
  // A new actor takes the name: a fresh instance.
  auto fresh =
    lumen::actor(ab_Counter::create).name("ab_reuse", "ns").remote(50);
  auto found = lumen::get_actor<ab_Counter>("ab_reuse", "ns");
  REQUIRE(found);
  CHECK(*found == fresh);
  CHECK(*found != c);
  CHECK(lumen::get(found->task(&ab_Counter::read).remote(), patience) == 50);
  // The old handle still reaches the dead actor, not the new one.
  CHECK_THROWS_AS(lumen::get(c.task(&ab_Counter::read).remote(), patience),
                  lumen::actor_died_error);
}

// Regression (fixed): the host fulfilled the pending calls with the death
// error before it released the name, so a caller that had just seen
// actor_died_error could still find the dead actor by name, and creating a
// new actor of that name could still throw "exists already".
TEST_CASE("actors: the name is free once a pending call reports the death",
          "[actors][names]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  int still_named = 0;
  int refused = 0;
  for (int i = 0; i < 20; ++i) {
    auto name = "ab_race_" + std::to_string(i);
    // An actor that cannot be placed keeps its calls pending in its host.
    auto c =
      lumen::actor(ab_Counter::create).num_cpus(100).name(name).remote(1);
    auto call = c.task(&ab_Counter::read).remote();
    lumen::kill(c);
    CHECK_THROWS_AS(lumen::get(call, patience), lumen::actor_died_error);
    if (lumen::get_actor<ab_Counter>(name))
      ++still_named;
    try {
      lumen::actor(ab_Counter::create).num_cpus(0).name(name).remote(2);
    } catch (const lumen::error&) {
      ++refused;
    }
  }
  CHECK(still_named == 0);
  CHECK(refused == 0);
}

TEST_CASE("actors: a named actor whose handles are gone releases its name",
          "[actors][names]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  {
    auto c = lumen::actor(ab_Counter::create).name("ab_scoped").remote(1);
    CHECK(lumen::get(c.task(&ab_Counter::read).remote(), patience) == 1);
  }
  CHECK_FALSE(lumen::get_actor<ab_Counter>("ab_scoped"));
  auto again = lumen::actor(ab_Counter::create).name("ab_scoped").remote(2);
  CHECK(lumen::get(again.task(&ab_Counter::read).remote(), patience) == 2);
}

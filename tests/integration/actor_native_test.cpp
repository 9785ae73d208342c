// Integration tests: native CAF typed actors spawned through Lumen —
// CAF messaging, resource-aware placement, naming shared with Lumen actors,
// and errors (issue 3, point 6).

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include <caf/all.hpp>

#include <catch2/catch.hpp>

#include "lumen/lumen.hpp"
#include "lumen/native_actor.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using lumen_it::patience;

using an_add_atom = caf::atom_constant<caf::atom("an_add")>;
using an_total_atom = caf::atom_constant<caf::atom("an_total")>;

/// Keeps a running total.
using an_accumulator =
  caf::typed_actor<caf::replies_to<an_add_atom, int>::with<int>,
                   caf::replies_to<an_total_atom>::with<int>>;

/// Adds two numbers.
using an_adder = caf::typed_actor<caf::replies_to<int, int>::with<int>>;

namespace {

struct an_acc_state {
  int total = 0;
};

an_accumulator::behavior_type
an_make_accumulator(an_accumulator::stateful_pointer<an_acc_state> self,
                    int start) {
  self->state.total = start;
  return {
    [self](an_add_atom, int x) {
      return self->state.total += x;
    },
    [self](an_total_atom) {
      return self->state.total;
    },
  };
}

an_adder::behavior_type an_make_adder() {
  return {[](int a, int b) {
    return a + b;
  }};
}

/// An adder that ends as soon as it starts.
an_adder::behavior_type an_make_quitter(an_adder::pointer self) {
  self->quit();
  return {[](int a, int b) {
    return a + b;
  }};
}

/// A Lumen actor, to share names with native ones.
struct an_Plain {
  static an_Plain* create() {
    return new an_Plain;
  }

  int ping() {
    return 7;
  }
};

int an_one() {
  return 1;
}

/// The CPUs the node has free now.
double free_cpus() {
  auto s = lumen_it::snapshot();
  auto i = s.available.find("CPU");
  return i == s.available.end() ? 0.0 : i->second;
}

/// Asks an adder through CAF; nullopt on an error.
std::optional<int> ask_adder(const an_adder& a, int x, int y) {
  caf::scoped_actor self{lumen::detail::native_system()};
  std::optional<int> result;
  self->request(a, std::chrono::seconds(30), x, y)
    .receive(
      [&](int r) {
        result = r;
      },
      [&](caf::error&) {});
  return result;
}

/// Asks an accumulator for its total; nullopt on an error.
std::optional<int> ask_total(const an_accumulator& a) {
  caf::scoped_actor self{lumen::detail::native_system()};
  std::optional<int> result;
  self->request(a, std::chrono::seconds(30), an_total_atom::value)
    .receive(
      [&](int r) {
        result = r;
      },
      [&](caf::error&) {});
  return result;
}

/// Stops a native actor and waits until it is gone.
template <class Handle>
void stop(const Handle& h) {
  caf::scoped_actor self{lumen::detail::native_system()};
  self->send_exit(h, caf::exit_reason::user_shutdown);
  self->wait_for(h);
}

} // namespace

LUMEN_REMOTE(an_Plain::create, &an_Plain::ping);
LUMEN_REMOTE(an_one);

TEST_CASE("native actors: request and receive through CAF",
          "[actors][native]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto add =
    lumen::spawn_native<an_adder>(lumen::native_options{}, an_make_adder);
  REQUIRE(add);
  CHECK(ask_adder(add, 1, 2) == 3);
  CHECK(ask_adder(add, -5, 5) == 0);
  // A stateful actor with a spawn argument, used with send and request.
  auto acc = lumen::spawn_native<an_accumulator>(lumen::native_options{},
                                                 an_make_accumulator, 100);
  {
    caf::scoped_actor self{lumen::detail::native_system()};
    for (int i = 1; i <= 10; ++i)
      self->send(acc, an_add_atom::value, i);
    std::optional<int> last;
    self->request(acc, std::chrono::seconds(30), an_add_atom::value, 0)
      .receive(
        [&](int r) {
          last = r;
        },
        [](caf::error&) {});
    CHECK(last == 155);
  }
  CHECK(ask_total(acc) == 155);
  stop(add);
  stop(acc);
}

TEST_CASE("native actors: a native actor holds its CPUs while it lives",
          "[actors][native][placement]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  REQUIRE(free_cpus() == 2);
  auto one = lumen::spawn_native<an_adder>(lumen::native_options{.num_cpus = 1},
                                           an_make_adder);
  CHECK(free_cpus() == 1);
  CHECK(lumen_it::snapshot().actors == 1);
  // One CPU left: a 1-CPU task still runs.
  CHECK(lumen::get(lumen::task(an_one).remote(), patience) == 1);
  auto two = lumen::spawn_native<an_accumulator>(
    lumen::native_options{.num_cpus = 1}, an_make_accumulator, 0);
  CHECK(free_cpus() == 0);
  // No CPU left: a 1-CPU task waits until a native actor ends.
  auto waiting = lumen::task(an_one).remote();
  CHECK_THROWS_AS(lumen::get(waiting, 300ms), lumen::timeout_error);
  stop(one);
  CHECK(lumen::get(waiting, patience) == 1);
  CHECK(lumen_it::eventually([] {
    return free_cpus() == 1;
  }));
  stop(two);
  CHECK(lumen_it::eventually([] {
    return free_cpus() == 2 && lumen_it::snapshot().actors == 0;
  }));
  // Fractional CPUs and custom resources are held as well.
  auto frac = lumen::spawn_native<an_adder>(
    lumen::native_options{.num_cpus = 0.5}, an_make_adder);
  CHECK(free_cpus() == 1.5);
  stop(frac);
  CHECK(lumen_it::eventually([] {
    return free_cpus() == 2;
  }));
}

TEST_CASE("native actors: custom resources are held while the actor lives",
          "[actors][native][placement]") {
  lumen::init_guard guard{
    lumen::config{.num_cpus = 2, .resources = {{"an_dev", 1}}}};
  auto a = lumen::spawn_native<an_adder>(
    lumen::native_options{.resources = {{"an_dev", 1}}}, an_make_adder);
  // Zero is zero: the key is there, at 0.
  CHECK(lumen_it::snapshot().available.at("an_dev") == 0);
  CHECK(ask_adder(a, 2, 2) == 4);
  stop(a);
  CHECK(lumen_it::eventually([] {
    auto s = lumen_it::snapshot();
    return s.available.count("an_dev") == 1 && s.available.at("an_dev") == 1;
  }));
}

TEST_CASE("native actors: spawn_native waits until the resources are free",
          "[actors][native][placement]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto hog = lumen::actor(an_Plain::create).num_cpus(2).remote();
  REQUIRE(lumen::get(hog.task(&an_Plain::ping).remote(), patience) == 7);
  REQUIRE(free_cpus() == 0);
  auto spawned = std::async(std::launch::async, [] {
    return lumen::spawn_native<an_adder>(lumen::native_options{.num_cpus = 1},
                                         an_make_adder);
  });
  CHECK(spawned.wait_for(300ms) == std::future_status::timeout);
  lumen::kill(hog);
  REQUIRE(spawned.wait_for(patience) == std::future_status::ready);
  auto a = spawned.get();
  CHECK(ask_adder(a, 20, 22) == 42);
  CHECK(free_cpus() == 1);
  stop(a);
}

TEST_CASE("native actors: one that ends at once gives back what it held",
          "[actors][native][placement]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  for (int i = 0; i < 10; ++i) {
    auto q = lumen::spawn_native<an_adder>(
      lumen::native_options{.num_cpus = 2, .name = "an_quitter"},
      an_make_quitter);
    caf::scoped_actor self{lumen::detail::native_system()};
    self->wait_for(q);
    // The CPUs and the name come back, so the next round can start.
    REQUIRE(lumen_it::eventually([] {
      return free_cpus() == 2 &&
             !lumen::get_native_actor<an_adder>("an_quitter");
    }));
  }
  CHECK(lumen_it::snapshot().actors == 0);
}

TEST_CASE("native actors: get_native_actor finds a named native actor",
          "[actors][native][names]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto acc = lumen::spawn_native<an_accumulator>(
    lumen::native_options{.name = "an_acc", .ns = "an_ns"}, an_make_accumulator,
    5);
  auto found = lumen::get_native_actor<an_accumulator>("an_acc", "an_ns");
  REQUIRE(found);
  CHECK(*found == acc);
  {
    caf::scoped_actor self{lumen::detail::native_system()};
    self->send(*found, an_add_atom::value, 10);
  }
  CHECK(ask_total(acc) == 15);
  // Other namespaces and unknown names find nothing.
  CHECK_FALSE(lumen::get_native_actor<an_accumulator>("an_acc"));
  CHECK_FALSE(lumen::get_native_actor<an_accumulator>("an_acc", "other"));
  CHECK_FALSE(lumen::get_native_actor<an_accumulator>("an_nobody", "an_ns"));
  // The same name in another namespace is another actor.
  auto other = lumen::spawn_native<an_accumulator>(
    lumen::native_options{.name = "an_acc"}, an_make_accumulator, 1);
  auto found_other = lumen::get_native_actor<an_accumulator>("an_acc");
  REQUIRE(found_other);
  CHECK(*found_other == other);
  CHECK(ask_total(*found_other) == 1);
  stop(acc);
  stop(other);
}

TEST_CASE("native actors: the wrong handle type throws type_mismatch_error",
          "[actors][native][names][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto acc = lumen::spawn_native<an_accumulator>(
    lumen::native_options{.name = "an_typed"}, an_make_accumulator, 0);
  CHECK_THROWS_AS(lumen::get_native_actor<an_adder>("an_typed"),
                  lumen::type_mismatch_error);
  CHECK(lumen::get_native_actor<an_accumulator>("an_typed").has_value());
  stop(acc);
}

TEST_CASE("native actors: names are shared with Lumen actors",
          "[actors][native][names]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  // A native actor's name blocks a Lumen actor of that name...
  auto n = lumen::spawn_native<an_adder>(
    lumen::native_options{.name = "an_shared", .ns = "an_ns"}, an_make_adder);
  CHECK_THROWS_AS(
    lumen::actor(an_Plain::create).name("an_shared", "an_ns").remote(),
    lumen::error);
  // ...in its namespace only.
  auto elsewhere =
    lumen::actor(an_Plain::create).name("an_shared", "an_other").remote();
  CHECK(lumen::get(elsewhere.task(&an_Plain::ping).remote(), patience) == 7);
  // get_actor does not hand out a native actor as a Lumen one.
  CHECK_FALSE(lumen::get_actor<an_Plain>("an_shared", "an_ns"));
  // A Lumen actor's name blocks a native actor of that name.
  auto plain = lumen::actor(an_Plain::create).name("an_lumen").remote();
  REQUIRE(lumen::get(plain.task(&an_Plain::ping).remote(), patience) == 7);
  auto before = free_cpus();
  CHECK_THROWS_AS(
    lumen::spawn_native<an_adder>(
      lumen::native_options{.num_cpus = 1, .name = "an_lumen"}, an_make_adder),
    lumen::error);
  CHECK_FALSE(lumen::get_native_actor<an_adder>("an_lumen"));
  // Two native actors of one name.
  CHECK_THROWS_AS(
    lumen::spawn_native<an_adder>(
      lumen::native_options{.num_cpus = 1, .name = "an_shared", .ns = "an_ns"},
      an_make_adder),
    lumen::error);
  // The refused spawns held nothing.
  CHECK(free_cpus() == before);
  // When the native actor ends, its name is free for a Lumen actor.
  stop(n);
  CHECK(lumen_it::eventually([] {
    return !lumen::get_native_actor<an_adder>("an_shared", "an_ns");
  }));
  std::optional<lumen::actor_handle<an_Plain>> taker;
  CHECK(lumen_it::eventually([&] {
    try {
      taker =
        lumen::actor(an_Plain::create).name("an_shared", "an_ns").remote();
      return true;
    } catch (const lumen::error&) {
      return false;
    }
  }));
  REQUIRE(taker);
  CHECK(lumen::get(taker->task(&an_Plain::ping).remote(), patience) == 7);
  auto found = lumen::get_actor<an_Plain>("an_shared", "an_ns");
  REQUIRE(found);
  CHECK(*found == *taker);
}

TEST_CASE("native actors: an ended native actor's name can be taken again",
          "[actors][native][names]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto first = lumen::spawn_native<an_accumulator>(
    lumen::native_options{.name = "an_again"}, an_make_accumulator, 1);
  stop(first);
  CHECK(lumen_it::eventually([] {
    return !lumen::get_native_actor<an_accumulator>("an_again");
  }));
  std::optional<an_accumulator> second;
  CHECK(lumen_it::eventually([&] {
    try {
      second = lumen::spawn_native<an_accumulator>(
        lumen::native_options{.name = "an_again"}, an_make_accumulator, 2);
      return true;
    } catch (const lumen::error&) {
      return false;
    }
  }));
  REQUIRE(second);
  auto found = lumen::get_native_actor<an_accumulator>("an_again");
  REQUIRE(found);
  CHECK(ask_total(*found) == 2);
  stop(*second);
}

TEST_CASE("native actors: an infeasible or invalid native actor throws "
          "lumen::error",
          "[actors][native][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  CHECK_THROWS_AS(
    lumen::spawn_native<an_adder>(
      lumen::native_options{.num_cpus = 100, .name = "an_inf"}, an_make_adder),
    lumen::error);
  CHECK_THROWS_AS(
    lumen::spawn_native<an_adder>(
      lumen::native_options{.resources = {{"an_missing", 1}}}, an_make_adder),
    lumen::error);
  CHECK_THROWS_AS(lumen::spawn_native<an_adder>(
                    lumen::native_options{.num_cpus = -1}, an_make_adder),
                  lumen::error);
  CHECK_THROWS_AS(
    lumen::spawn_native<an_adder>(
      lumen::native_options{.resources = {{"CPU", 1}}}, an_make_adder),
    lumen::error);
  CHECK_THROWS_AS(
    lumen::spawn_native<an_adder>(
      lumen::native_options{.ns = "an_ns_without_name"}, an_make_adder),
    lumen::error);
  // Nothing was held or named.
  auto s = lumen_it::snapshot();
  CHECK(s.available.at("CPU") == 2);
  CHECK(s.actors == 0);
  CHECK(s.pending_actors == 0);
  CHECK_FALSE(lumen::get_native_actor<an_adder>("an_inf"));
  auto plain = lumen::actor(an_Plain::create).name("an_inf").remote();
  CHECK(lumen::get(plain.task(&an_Plain::ping).remote(), patience) == 7);
}

TEST_CASE("native actors: shutdown stops live native actors",
          "[actors][native][lifecycle]") {
  std::atomic<bool> stopped{false};
  lumen::init(lumen::config{.num_cpus = 2});
  {
    auto a = lumen::spawn_native<an_accumulator>(
      lumen::native_options{.num_cpus = 1, .name = "an_live"},
      an_make_accumulator, 0);
    a->attach_functor([&stopped] {
      stopped = true;
    });
    CHECK(ask_total(a) == 0);
  }
  lumen::shutdown();
  CHECK(stopped.load());
  CHECK_THROWS_AS(lumen::detail::native_system(), lumen::not_initialized_error);
  CHECK_THROWS_AS(lumen::get_native_actor<an_accumulator>("an_live"),
                  lumen::not_initialized_error);
  // A fresh runtime knows nothing of it.
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  CHECK_FALSE(lumen::get_native_actor<an_accumulator>("an_live"));
  CHECK(free_cpus() == 2);
}

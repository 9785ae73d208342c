// The GCS's actor lookups (actorget) in one process: a lookup that arrives
// before the actor's add waits for it, one of an ended actor is answered at
// once, one of an actor never added gives up after the grace period.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <tuple>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/gcs.hpp"

using namespace std::chrono_literals;

namespace {

/// What an actorget answered, or `answered` false.
struct lookup {
  bool answered = false;
  std::uint64_t class_hash = 0;
  caf::actor host;
  bool alive = false;
};

/// A stand-in actor host: the GCS only stores and hands out its handle.
caf::behavior fake_host(caf::event_based_actor* self) {
  self->set_default_handler(caf::drop);
  return {[](int) {}};
}

/// A GCS and a host, both ended with the fixture.
struct gcs_fixture {
  explicit gcs_fixture(std::chrono::milliseconds grace) {
    lumen::gcs_timing timing;
    timing.tick = 20ms;
    timing.actor_lookup_grace = grace;
    gcs = lumen::make_gcs(sys, timing);
    host = sys.spawn(fake_host);
  }

  ~gcs_fixture() {
    caf::scoped_actor self{sys};
    self->send_exit(gcs, caf::exit_reason::user_shutdown);
    self->wait_for(gcs);
    caf::anon_send_exit(host, caf::exit_reason::user_shutdown);
  }

  void add(const std::string& id) {
    caf::scoped_actor self{sys};
    bool added = false;
    self
      ->request(gcs, 10s, lumen::actor_add_atom::value, id, std::string{},
                std::string{}, std::uint64_t{7}, host, false)
      .receive(
        [&](bool ok) {
          added = ok;
        },
        [](const caf::error&) {});
    REQUIRE(added);
  }

  /// Asks for `id`, waiting up to `timeout` for the answer.
  lookup get(const std::string& id, std::chrono::seconds timeout = 10s) {
    caf::scoped_actor self{sys};
    lookup result;
    self->request(gcs, timeout, lumen::actor_get_atom::value, id)
      .receive(
        [&](std::uint64_t cls, caf::actor& h, bool alive) {
          result = {true, cls, std::move(h), alive};
        },
        [](const caf::error&) {});
    return result;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  lumen::gcs_actor gcs;
  caf::actor host;
};

} // namespace

TEST_CASE("gcs: an actor lookup that arrives before the actor's add waits "
          "for it",
          "[gcs][actors]") {
  // A grace far longer than the test: only the add can answer the lookup.
  gcs_fixture f{60s};
  std::string id(32, 'a');
  caf::scoped_actor early{f.sys};
  // In the GCS's mailbox before the add, as when a handle passed on at once
  // reaches another node (and its lookup the GCS) before its creator's add.
  auto pending = early->request(f.gcs, 10s, lumen::actor_get_atom::value, id);
  f.add(id);
  lookup got;
  pending.receive(
    [&](std::uint64_t cls, caf::actor& h, bool alive) {
      got = {true, cls, std::move(h), alive};
    },
    [](const caf::error&) {});
  REQUIRE(got.answered);
  CHECK(got.alive);
  CHECK(got.class_hash == 7);
  CHECK(got.host == f.host);
  // A later lookup is answered from the row.
  auto again = f.get(id);
  CHECK(again.alive);
  CHECK(again.host == f.host);
}

TEST_CASE("gcs: a lookup of an ended actor is answered at once",
          "[gcs][actors]") {
  gcs_fixture f{60s};
  std::string id(32, 'b');
  f.add(id);
  caf::anon_send(f.gcs, lumen::actor_dead_atom::value, id, f.host.address());
  // Answered well within the request's 10 s, so not by the 60 s grace.
  auto got = f.get(id);
  REQUIRE(got.answered);
  CHECK_FALSE(got.alive);
  CHECK_FALSE(got.host);
  // Added again (a detached actor placed again after its node died): alive.
  f.add(id);
  auto back = f.get(id);
  REQUIRE(back.answered);
  CHECK(back.alive);
  CHECK(back.host == f.host);
  // A lookup waiting for an add is answered by the actor's end instead.
  std::string never(32, 'd');
  caf::scoped_actor early{f.sys};
  auto pending =
    early->request(f.gcs, 10s, lumen::actor_get_atom::value, never);
  caf::anon_send(f.gcs, lumen::actor_dead_atom::value, never,
                 caf::actor_addr{});
  lookup got_dead;
  pending.receive(
    [&](std::uint64_t cls, caf::actor& h, bool alive) {
      got_dead = {true, cls, std::move(h), alive};
    },
    [](const caf::error&) {});
  REQUIRE(got_dead.answered);
  CHECK_FALSE(got_dead.alive);
}

TEST_CASE("gcs: a lookup of an actor never added gives up after the grace "
          "period",
          "[gcs][actors]") {
  gcs_fixture f{200ms};
  auto got = f.get(std::string(32, 'c'), 30s);
  REQUIRE(got.answered);
  CHECK_FALSE(got.alive);
  CHECK_FALSE(got.host);
  // An add after the lookup gave up still makes a live row.
  f.add(std::string(32, 'c'));
  CHECK(f.get(std::string(32, 'c')).alive);
}

TEST_CASE("gcs: only the end of the host it knows ends an actor's row",
          "[gcs][actors]") {
  // A detached actor on a worker is known by its host there; its creator's
  // forwarder ending (the creating driver exits) leaves its row and name.
  gcs_fixture f{60s};
  std::string id(32, 'e');
  f.add(id);
  auto forwarder = f.sys.spawn(fake_host);
  caf::anon_send(f.gcs, lumen::actor_dead_atom::value, id, forwarder.address());
  auto still = f.get(id);
  REQUIRE(still.answered);
  CHECK(still.alive);
  CHECK(still.host == f.host);
  caf::anon_send(f.gcs, lumen::actor_dead_atom::value, id, f.host.address());
  auto gone = f.get(id);
  REQUIRE(gone.answered);
  CHECK_FALSE(gone.alive);
  caf::anon_send_exit(forwarder, caf::exit_reason::user_shutdown);
}

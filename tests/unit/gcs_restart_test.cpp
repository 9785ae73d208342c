// The GCS across a restart on the same store, in one process: the node
// table's restore rules, and the gcs actor loading its tables back.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/gcs.hpp"
#include "gcs/node_table.hpp"
#include "storage/rocks_db.hpp"
#include "wire/cluster_types.hpp"
#include "wire/task_spec_codec.hpp"

using namespace std::chrono_literals;
using lumen::detail::node_record;
using lumen::detail::node_table;

namespace {

node_record node(char digit, bool head = false) {
  node_record rec;
  rec.id = std::string(32, digit);
  rec.head = head;
  rec.total = {{"CPU", 2}};
  rec.available = {{"CPU", 2}};
  return rec;
}

std::vector<char> bytes_of(const node_record& rec) {
  auto b = lumen::detail::encode_node_record(rec);
  return std::vector<char>(b.data(), b.data() + b.size());
}

/// The id and encoded spec of task `n`, as lineage rows carry them (the
/// GCS drops rows whose spec is not the one of their task).
std::pair<std::string, std::string> lineage_row(std::uint64_t n) {
  lumen::detail::task_spec spec;
  spec.id = lumen::task_id{0, n};
  spec.function = "f";
  auto b = lumen::detail::encode_task_spec(spec);
  return {spec.id.to_string(), std::string(b.data(), b.size())};
}

/// Asks `gcs` and returns its answer; fails the test without one.
template <class... Rs, class... Ts>
std::tuple<Rs...> ask(caf::actor_system& sys, const lumen::gcs_actor& gcs,
                      Ts... xs) {
  caf::scoped_actor self{sys};
  std::tuple<Rs...> result;
  bool ok = false;
  self->request(gcs, 10s, xs...)
    .receive(
      [&](Rs&... rs) {
        result = std::make_tuple(rs...);
        ok = true;
      },
      [&](const caf::error&) {});
  REQUIRE(ok);
  return result;
}

/// A stand-in cluster link: takes views and reservations, does nothing.
caf::behavior fake_manager(caf::event_based_actor* self) {
  self->set_default_handler(caf::drop);
  return {[](int) {}};
}

/// Node `id`'s liveness in the GCS's view (false if unknown).
bool alive_in_view(caf::actor_system& sys, const lumen::gcs_actor& gcs,
                   const std::string& id) {
  auto [bytes] = ask<std::vector<char>>(sys, gcs, lumen::view_atom::value);
  auto view = lumen::detail::decode_cluster_view(bytes.data(), bytes.size());
  for (auto& n : view.nodes)
    if (n.id == id)
      return n.alive;
  return false;
}

void stop(caf::actor_system& sys, const lumen::gcs_actor& gcs) {
  caf::scoped_actor self{sys};
  self->send_exit(gcs, caf::exit_reason::user_shutdown);
  self->wait_for(gcs);
}

} // namespace

TEST_CASE("node_table: the GCS stamps a node's start and end, and a node's "
          "own record does not change them",
          "[gcs]") {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  auto unix_ms = [] {
    return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(
        std::chrono::system_clock::now().time_since_epoch())
        .count());
  };
  node_table t;
  auto t0 = node_table::clock::now();
  auto before = unix_ms();
  auto rec = node('5');
  rec.started_ms = 1; // what a node claims is not taken
  rec.ended_ms = 2;
  REQUIRE(t.update(rec, t0));
  auto started = t.find(rec.id)->started_ms;
  CHECK(started >= before);
  CHECK(started <= unix_ms());
  CHECK(t.find(rec.id)->ended_ms == 0);
  rec.available = {{"CPU", 1}}; // a heartbeat with a new state
  REQUIRE(t.update(rec, t0 + 1s));
  CHECK(t.find(rec.id)->started_ms == started);
  CHECK(t.find(rec.id)->ended_ms == 0);
  REQUIRE(t.mark_dead(rec.id));
  auto ended = t.find(rec.id)->ended_ms;
  CHECK(ended >= started);
  CHECK(ended <= unix_ms());
  // Both survive the store (the node row encodes the record).
  auto bytes = lumen::detail::encode_node_record(*t.find(rec.id));
  auto again = lumen::detail::decode_node_record(
    reinterpret_cast<const char*>(bytes.data()), bytes.size());
  CHECK(again.started_ms == started);
  CHECK(again.ended_ms == ended);
}

TEST_CASE("node_table: restored nodes recover or die like any other", "[gcs]") {
  node_table t;
  auto t0 = node_table::clock::now();
  auto dead = node('3');
  dead.alive = false;
  dead.available = {{"CPU", 1}};
  t.restore(node('2'), 7, t0);
  t.restore(dead, 2, t0);
  t.restore(node('4'), 9, t0);
  t.restore(node('2'), 1, t0); // known already: ignored
  auto view = t.view();
  REQUIRE(view.nodes.size() == 3);
  CHECK(view.nodes[0].id == std::string(32, '3'));
  CHECK(view.nodes[1].id == std::string(32, '2'));
  CHECK_FALSE(view.nodes[0].alive);
  CHECK(view.nodes[0].available.empty());
  CHECK(t.alive(std::string(32, '2')));
  CHECK(t.order(std::string(32, '4')) == 9);
  // A dead node stays dead; a recovering one comes back by registering.
  CHECK_FALSE(t.update(dead, t0));
  CHECK(t.update(node('2'), t0 + 3s));
  // The one that did not come back expires after the timeout.
  auto expired = t.expire(t0 + 4s, std::chrono::milliseconds(3500));
  CHECK(expired == std::vector<std::string>{std::string(32, '4')});
  // New nodes register after the restored ones.
  t.update(node('5'), t0);
  CHECK(t.order(std::string(32, '5')) == 10);
  CHECK(t.find(std::string(32, '5')) != nullptr);
  CHECK(t.find(std::string(32, '6')) == nullptr);
}

TEST_CASE("gcs: a GCS started again on its store finds its tables back",
          "[gcs]") {
  auto dir = (std::filesystem::temp_directory_path() /
              ("lumen-gcs-restart-" + std::to_string(getpid())))
               .string();
  lumen::detail::rocks_db::destroy(dir);
  auto db = std::make_shared<lumen::detail::rocks_db>(dir);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  lumen::gcs_timing timing{20ms, 1500ms};
  auto head = node('1', true);
  auto lost = node('2');
  auto kept = node('3');
  // Every stand-in actor, to end before the actor system does.
  std::vector<caf::actor> fakes;
  auto fake = [&] {
    fakes.push_back(sys.spawn(fake_manager));
    return fakes.back();
  };
  auto host = fake();
  std::string lost_actor(32, 'a');
  std::string kept_actor(32, 'b');
  std::string group;
  {
    auto gcs = lumen::make_gcs(sys, timing, db);
    // All managers live in this process, so an actor's host node is the
    // node registered last: `lost` for the first actor, `kept` after.
    for (auto* rec : {&head, &lost}) {
      auto [view, managers, stores] =
        ask<std::vector<char>, std::vector<caf::actor>,
            std::vector<caf::actor>>(sys, gcs, lumen::register_atom::value,
                                     bytes_of(*rec), fake(), caf::actor{});
      CHECK(managers.size() >= 1);
    }
    CHECK(std::get<0>(ask<bool>(
      sys, gcs, lumen::actor_add_atom::value, lost_actor, std::string{"gone"},
      std::string{"it"}, std::uint64_t{7}, host, false)));
    ask<std::vector<char>, std::vector<caf::actor>, std::vector<caf::actor>>(
      sys, gcs, lumen::register_atom::value, bytes_of(kept), fake(),
      caf::actor{});
    CHECK(std::get<0>(ask<bool>(
      sys, gcs, lumen::actor_add_atom::value, kept_actor, std::string{"keeper"},
      std::string{"it"}, std::uint64_t{9}, host, true)));
    // The same id again is an update, another id under the name is not.
    CHECK(std::get<0>(ask<bool>(
      sys, gcs, lumen::actor_add_atom::value, kept_actor, std::string{"keeper"},
      std::string{"it"}, std::uint64_t{9}, host, true)));
    CHECK_FALSE(
      std::get<0>(ask<bool>(sys, gcs, lumen::actor_add_atom::value,
                            std::string(32, 'c'), std::string{"keeper"},
                            std::string{"it"}, std::uint64_t{9}, host, false)));
    CHECK(std::get<0>(ask<bool>(sys, gcs, lumen::kv_put_atom::value,
                                std::string{"ns"}, std::string{"k"},
                                std::string{"v"}, true)));
    // The caller names the group.
    std::tie(group) = ask<std::string>(
      sys, gcs, lumen::pg_create_atom::value, std::string(32, 'd'),
      std::string{"pg"}, std::uint8_t{0},
      std::vector<std::map<std::string, double>>{{{"CPU", 1}}});
    CHECK(group == std::string(32, 'd'));
    CHECK(std::get<0>(ask<bool>(sys, gcs, lumen::pg_wait_atom::value, group)));
    auto [t1, s1] = lineage_row(1);
    auto [t2, s2] = lineage_row(2);
    CHECK(std::get<0>(
            ask<std::uint64_t>(sys, gcs, lumen::lineage_commit_atom::value,
                               std::vector<std::string>{t1, t2},
                               std::vector<std::string>{s1, s2})) == 2);
    stop(sys, gcs);
  }
  auto gcs = lumen::make_gcs(sys, timing, db);
  // The previous head is dead at once; the other nodes are recovering.
  CHECK_FALSE(alive_in_view(sys, gcs, head.id));
  CHECK(alive_in_view(sys, gcs, lost.id));
  CHECK(alive_in_view(sys, gcs, kept.id));
  auto [found, value] = ask<bool, std::string>(
    sys, gcs, lumen::kv_get_atom::value, std::string{"ns"}, std::string{"k"});
  CHECK(found);
  CHECK(value == "v");
  CHECK(std::get<0>(ask<bool>(sys, gcs, lumen::pg_wait_atom::value, group)));
  // A create sent again to the restarted head makes no second group: one
  // remove ends it.
  CHECK(std::get<0>(ask<std::string>(
          sys, gcs, lumen::pg_create_atom::value, group, std::string{"pg"},
          std::uint8_t{0},
          std::vector<std::map<std::string, double>>{{{"CPU", 1}}})) == group);
  CHECK(std::get<0>(ask<bool>(sys, gcs, lumen::pg_remove_atom::value, group)));
  CHECK_FALSE(
    std::get<0>(ask<bool>(sys, gcs, lumen::pg_wait_atom::value, group)));
  CHECK_FALSE(
    std::get<0>(ask<bool>(sys, gcs, lumen::pg_remove_atom::value, group)));
  CHECK(std::get<0>(
          ask<std::uint64_t>(sys, gcs, lumen::lineage_count_atom::value)) == 2);
  auto [spec] = ask<std::vector<char>>(sys, gcs, lumen::lineage_get_atom::value,
                                       lineage_row(2).first);
  CHECK(std::string(spec.begin(), spec.end()) == lineage_row(2).second);
  // A find of a loaded actor waits until its node announces it again.
  caf::scoped_actor finder{sys};
  auto pending = finder->request(gcs, 10s, lumen::actor_find_atom::value,
                                 std::string{"keeper"}, std::string{"it"});
  auto kept_manager = fake();
  ask<std::vector<char>, std::vector<caf::actor>, std::vector<caf::actor>>(
    sys, gcs, lumen::register_atom::value, bytes_of(kept), kept_manager,
    caf::actor{});
  CHECK(std::get<0>(ask<bool>(
    sys, gcs, lumen::actor_add_atom::value, kept_actor, std::string{"keeper"},
    std::string{"it"}, std::uint64_t{9}, host, true)));
  std::string found_id;
  pending.receive(
    [&](std::string& id, std::uint64_t cls, caf::actor& h) {
      found_id = id;
      CHECK(cls == 9);
      CHECK(h == host);
    },
    [&](const caf::error&) {});
  CHECK(found_id == kept_actor);
  // The node that never came back dies after the timeout, and its actor
  // with it (its name is free); the one that came back stays.
  // Heartbeats come from the process of the node's manager (this one); an
  // anonymous one would be refused.
  bool lost_dead = false;
  caf::scoped_actor beater{sys};
  for (int i = 0; i < 200 && !lost_dead; ++i) {
    beater->send(gcs, lumen::heartbeat_atom::value, bytes_of(kept));
    lost_dead = !alive_in_view(sys, gcs, lost.id);
    if (!lost_dead)
      std::this_thread::sleep_for(50ms);
  }
  CHECK(lost_dead);
  CHECK(alive_in_view(sys, gcs, kept.id));
  auto [gone_id, gone_class, gone_host] =
    ask<std::string, std::uint64_t, caf::actor>(
      sys, gcs, lumen::actor_find_atom::value, std::string{"gone"},
      std::string{"it"});
  CHECK(gone_id.empty());
  stop(sys, gcs);
  for (auto& f : fakes)
    caf::anon_send_exit(f, caf::exit_reason::user_shutdown);
  fakes.clear();
  db.reset();
  lumen::detail::rocks_db::destroy(dir);
}

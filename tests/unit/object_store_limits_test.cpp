// The object store refuses to pull a value whose size, as a peer announced
// it, is more than the node takes (max_object_size, or the store's
// capacity), before allocating anything for it.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/object_store.hpp"
#include "objects/object_table.hpp"

using Catch::Matchers::Contains;

TEST_CASE("limits: a value announced larger than max_object_size is not "
          "pulled",
          "[limits]") {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", std::size_t{2});
  caf::actor_system sys{cfg};
  lumen::detail::object_table table{1 << 20};
  table.set_max_object_size(1000);
  auto store = lumen::make_object_store(sys, &table, std::string(32, 'a'));
  // The owner says the value is 1 TiB, on a node this one does not know.
  auto owner = sys.spawn([]() -> caf::behavior {
    return {
      [](lumen::locate_atom, const std::vector<char>&) {
        return std::make_tuple(std::string(32, 'b'), std::uint64_t{1} << 40);
      },
    };
  });
  // The owner's node is a peer of this one (as the cluster view says).
  lumen::detail::peer_map peers;
  peers[std::string(32, 'c')] = lumen::detail::peer_store{owner, owner, {}};
  caf::anon_send(store, lumen::peers_atom::value, std::move(peers));
  lumen::object_id id{lumen::task_id{0x77, 1}, 1};
  auto pending = table.create_pending(id);
  caf::anon_send(store, lumen::fetch_atom::value, lumen::detail::id_bytes(id),
                 owner);
  auto got =
    table.wait({pending.get()}, 1,
               std::chrono::steady_clock::now() + std::chrono::seconds(30));
  REQUIRE(got[0]);
  REQUIRE(got[0]->error);
  CHECK_THAT(got[0]->error->message,
             Contains("announced it as 1099511627776 bytes, more than this "
                      "node takes (1000 bytes"));
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
}

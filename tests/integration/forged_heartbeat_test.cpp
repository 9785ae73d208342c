// A peer that passed TLS and the token, and then claims another node's id:
// its heartbeats and registrations for that node are refused and logged,
// and the node's record in the view stays the node's own.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/gatekeeper.hpp"
#include "actors/messages.hpp"
#include "cluster_support.hpp"
#include "security_support.hpp"
#include "wire/cluster_types.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

std::vector<char> bytes_of(const lumen::detail::byte_buffer& b) {
  return std::vector<char>(b.data(), b.data() + b.size());
}

/// The head's view, as `lumen status` reads it.
lumen::detail::cluster_view view_of(caf::actor_system& sys,
                                    const lumen::gated_gcs_actor& gcs) {
  caf::scoped_actor self{sys};
  lumen::detail::cluster_view view;
  self->request(gcs, 10s, lumen::view_atom::value)
    .receive(
      [&](std::vector<char>& b) {
        view = lumen::detail::decode_cluster_view(b.data(), b.size());
      },
      [&](caf::error& err) {
        FAIL("no view: " << sys.render(err));
      });
  return view;
}

const lumen::detail::node_record* find(const lumen::detail::cluster_view& v,
                                       const std::string& id) {
  for (auto& n : v.nodes)
    if (n.id == id)
      return &n;
  return nullptr;
}

/// Registers `rec` with `manager`; "" if accepted, else the error.
std::string register_as(caf::actor_system& sys,
                        const lumen::gated_gcs_actor& gcs,
                        const lumen::detail::node_record& rec,
                        const caf::actor& manager) {
  caf::scoped_actor self{sys};
  std::string result = "no answer";
  self
    ->request(gcs, 10s, lumen::register_atom::value,
              bytes_of(lumen::detail::encode_node_record(rec)), manager,
              caf::actor{})
    .receive(
      [&](std::vector<char>&, std::vector<caf::actor>&,
          std::vector<caf::actor>&) {
        result.clear();
      },
      [&](caf::error& err) {
        result = sys.render(err);
      });
  return result;
}

} // namespace

TEST_CASE("tls: a peer with a valid certificate cannot speak for another "
          "node",
          "[tls][security]") {
  security_it::temp_dir tmp;
  security_it::pki p{tmp.path, "pki"};
  cluster_it::test_cluster cluster{1, 2, {p.args(2)}, "", p.args(1)};
  cluster_it::watchdog dog{cluster, std::chrono::seconds(180)};
  std::string worker;
  for (auto& f : cluster.nodes())
    if (f.at("role") == "worker")
      worker = f.at("id");
  REQUIRE(!worker.empty());
  // The attacker: node certificate 3 of the cluster's CA, and the token.
  security_it::raw_client attacker{p.tls(3)};
  auto& sys = attacker.sys();
  auto gcs = attacker.connect<lumen::gated_gcs_actor>(cluster.address());
  REQUIRE(gcs);
  REQUIRE(lumen::say_hello(sys, caf::actor_cast<lumen::door_actor>(*gcs),
                           p.token(), 10s) == "");
  // The worker is registered, with its 2 CPUs.
  lumen::detail::node_record genuine;
  for (int i = 0; i < 100; ++i) {
    auto v = view_of(sys, *gcs);
    if (auto* n = find(v, worker); n != nullptr && n->alive) {
      genuine = *n;
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(genuine.id == worker);
  REQUIRE(genuine.total.at("CPU") == 2);
  // Forged heartbeats: the worker's id, with 64 CPUs.
  auto forged = genuine;
  forged.total["CPU"] = 64;
  forged.available["CPU"] = 64;
  caf::scoped_actor self{sys};
  for (int i = 0; i < 20; ++i) {
    self->send(*gcs, lumen::heartbeat_atom::value,
               bytes_of(lumen::detail::encode_node_record(forged)));
    std::this_thread::sleep_for(50ms);
  }
  // Registering under the worker's id, with a manager of its own.
  auto fake_manager = sys.spawn([](caf::event_based_actor* m) -> caf::behavior {
    m->set_default_handler(caf::drop); // the views the head pushes
    return {[](int) {}};
  });
  auto refused = register_as(sys, *gcs, forged, fake_manager);
  CHECK_THAT(refused, Contains("is registered by another process"));
  // Then under an id of its own, but naming the worker's real manager: it
  // gets the handles from the view its own registration returns.
  lumen::detail::node_record own;
  own.id = std::string(32, 'f');
  own.address = "127.0.0.1:1";
  CHECK(register_as(sys, *gcs, own, fake_manager) == "");
  caf::actor worker_manager;
  {
    caf::scoped_actor asker{sys};
    asker
      ->request(*gcs, 10s, lumen::register_atom::value,
                bytes_of(lumen::detail::encode_node_record(own)), fake_manager,
                caf::actor{})
      .receive(
        [&](std::vector<char>& b, std::vector<caf::actor>& managers,
            std::vector<caf::actor>&) {
          auto v = lumen::detail::decode_cluster_view(b.data(), b.size());
          for (std::size_t i = 0; i < v.nodes.size() && i < managers.size();
               ++i)
            if (v.nodes[i].id == worker)
              worker_manager = managers[i];
        },
        [&](caf::error&) {});
  }
  REQUIRE(worker_manager);
  auto stolen = own;
  stolen.id = std::string(32, 'e');
  CHECK_THAT(register_as(sys, *gcs, stolen, worker_manager),
             Contains("names a cluster link of another process"));
  // The worker's record stayed its own all along.
  for (int i = 0; i < 10; ++i) {
    auto v = view_of(sys, *gcs);
    auto* n = find(v, worker);
    REQUIRE(n != nullptr);
    CHECK(n->alive);
    CHECK(n->total.at("CPU") == 2);
    CHECK_FALSE(n->head);
    std::this_thread::sleep_for(100ms);
  }
  // And the head said what it refused.
  CHECK(security_it::wait_for_log(cluster.dir(), "head",
                                  "refused a heartbeat for node " + worker));
  auto log = security_it::logs(cluster.dir(), "head");
  CHECK_THAT(log, Contains("refused the registration of node " + worker));
  CHECK_THAT(log, Contains("refused the registration of node " + stolen.id));
  caf::anon_send_exit(fake_manager, caf::exit_reason::user_shutdown);
}

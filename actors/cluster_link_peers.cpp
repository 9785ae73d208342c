// cluster_link: direct connections to peers.
//
// Nodes learn of each other through the GCS's view, whose cluster link
// handles reach them through the head: CAF 0.17 routes a message to a node
// it knows only indirectly through the node that introduced it (its
// automatic connections are off by default, and they would listen on every
// interface). So without more, every message between two nodes would pass
// through the head, and the head's death would cut every node off from
// every other. Each node therefore connects straight to each live peer's
// own port (the address in its record) as soon as a view names it; CAF
// then routes to that peer over the direct connection, in both
// directions, for the handles it already has too. Only the node with the
// smaller id connects: when two nodes connect to each other at the same
// moment, CAF 0.17 closes both connections as redundant and drops every
// proxy of the other node. The head needs none: every node connected to it
// when it joined.
#include <chrono>
#include <cstdlib>
#include <set>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/node_id.hpp>

#include "actors/cluster_link_state.hpp"
#include "log/log.hpp"
#include "net/transport.hpp"

namespace lumen::detail_cluster_link {

namespace {

/// How long one connection attempt may take.
constexpr auto link_timeout = std::chrono::seconds{30};

bool loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string host_of(const std::string& address) {
  return address.substr(0, address.rfind(':'));
}

} // namespace

void link_peers(self_ptr self) {
  auto& st = self->state;
  // The embedded node has no peers; the head is linked to every node.
  if (st.identity.address.empty() || st.identity.head)
    return;
  // A peer listening on loopback in a cluster whose head does not is on
  // another machine, out of reach (a driver or worker without --host).
  bool remote_cluster = false;
  for (auto& kv : st.peers)
    if (kv.second.rec.head)
      remote_cluster = !loopback(host_of(kv.second.rec.address));
  for (auto& [id, p] : st.peers) {
    auto& address = p.rec.address;
    if (remote_cluster && loopback(host_of(address)))
      continue;
    if (!p.rec.alive || p.rec.head || address.empty() || id < st.identity.id ||
        st.linked.count(id) > 0)
      continue;
    auto colon = address.rfind(':');
    auto port = colon == std::string::npos
                  ? 0ul
                  : std::strtoul(address.c_str() + colon + 1, nullptr, 10);
    if (port == 0 || port > 65535)
      continue;
    st.linked.insert(id);
    auto host = host_of(address);
    self
      // Through the node's transport: TLS when the node uses it.
      ->request(detail::transport_actor(self->system()), link_timeout,
                caf::connect_atom::value, host,
                static_cast<std::uint16_t>(port))
      .then(
        [](const caf::node_id&, const caf::strong_actor_ptr&,
           const std::set<std::string>&) {
          // Connected: CAF routes to the peer directly from now on.
        },
        [self, id = id, address](caf::error& err) {
          detail::log_warn("no direct connection to node ", id, " at ", address,
                           " (", self->system().render(err),
                           "); messages to it go through the head");
        });
  }
}

} // namespace lumen::detail_cluster_link

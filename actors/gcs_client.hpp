// gcs_client: a node's link to the head's GCS, which outlives the head.
//
// Every node that joined a cluster (worker or driver) talks to the GCS
// through its client, which speaks the GCS's own interface (gcs_actor) and
// relays each message: a request with a request of its own, whose answer
// it passes on to the sender. The client watches the connection. When it
// drops (the head died, or hung past the middleman's connection timeout),
// the node keeps running with the peers of its last view, and the client
// connects to the same address again every `reconnect_interval`, for as
// long as the node lives, logging once per outage. Connecting blocks, so
// it happens on a detached helper actor (connect_gcs: TLS when the node
// uses it, then the cluster token), never on a scheduler thread.
//
// During an outage:
// - heartbeats are dropped;
// - every other message waits and goes out, in order, once the GCS is
//   back; the sender's own timeout still applies (ask_gcs: 30 s), so a
//   caller sees an error only if the head stays away longer than that;
// - requests the old GCS did not answer are sent again to the new one (a
//   request sent as the head died may have been lost, or carried out
//   without an answer: at least once, not exactly once).
//
// Once connected again the client, in this order: registers the node again
// (same node id, the record of its last heartbeat, its cluster link) and
// hands the view it gets to the cluster link; announces again every actor
// registered through it and not ended since (each `actoradd` without a
// later `actordead`), since CAF handles cannot outlive the head's restart;
// then sends what waited.
//
// Messages: those of gcs_actor, relayed; plus (retry) -> void, its own
// reconnect timer.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

#include "actors/gcs.hpp"

namespace lumen {

/// Pause between two attempts to reach a head that went away.
inline constexpr auto reconnect_interval = std::chrono::milliseconds{500};

/// Spawns the client of the GCS `gcs` (a handle from connect_gcs to
/// `host`:`port`, which admitted `token`); the result is used wherever the
/// GCS is. It reconnects through the node's transport (TLS or not) and
/// presents `token` again on every new connection; a refused token is
/// logged (once per distinct reason) and retried like an absent head.
gcs_actor make_gcs_client(caf::actor_system& sys, gcs_actor gcs,
                          std::string host, std::uint16_t port,
                          std::string token);

namespace detail {

/// The GCS published at `host`:`port` (a gatekeeper), once it accepted
/// `token`; or, in `error`, why not: the connection failed (with a hint
/// at a TLS mismatch) or the token was refused. Blocks.
struct gcs_connection {
  gcs_actor gcs;
  std::string error;
};

gcs_connection connect_gcs(caf::actor_system& sys, const std::string& host,
                           std::uint16_t port, const std::string& token,
                           std::chrono::milliseconds timeout);

} // namespace detail

} // namespace lumen

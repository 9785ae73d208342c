// gatekeeper and door: what a node publishes on its port, so that a peer
// must present the cluster token before it can use the cluster.
//
// The head publishes a gatekeeper in front of the GCS. It speaks the GCS's
// interface plus `hello`. A hello carrying the cluster's token (compared in
// constant time) admits the sender's CAF node; every later message from an
// admitted node is delegated to the GCS, sender and reply unchanged.
// Messages from nodes that were not admitted are dropped (requests get an
// error naming the token) and the head logs the first one of each node,
// and each refused hello (once per node and reason). A head without a
// token admits every node, so a loopback cluster runs without one.
//
// Every other node publishes a door that answers `hello` only: its own
// actors (cluster link, object store, actor hosts) become known to peers
// only through the GCS's cluster view, which only admitted nodes get.
//
// What this cannot stop (README "Security"): CAF 0.17's BASP lets any
// peer with an open connection address an actor by its numeric id once
// the actor's handle has crossed the network, and does not authenticate
// the node id a peer claims. The token keeps nodes without it out of the
// membership and away from the published actors; only TLS client
// certificates keep strangers from opening a connection at all.
//
// Messages:
// - (hello, token) -> (accepted, reason): present the cluster token;
//   `reason` says why not ("wrong cluster token", "... requires a token").
// - gatekeeper only: every message of gcs_actor, delegated.
#pragma once

#include <chrono>
#include <string>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/gcs.hpp"

namespace lumen {

using hello_atom = caf::atom_constant<caf::atom("hello")>;

/// What every node publishes: the hello.
using door_actor = caf::typed_actor<
  caf::replies_to<hello_atom, std::string>::with<bool, std::string>>;

/// What the head publishes: the GCS behind a hello.
using gated_gcs_actor = gcs_actor::extend_with<door_actor>;

/// Spawns the gatekeeper of `gcs`; an empty `token` admits every node.
gated_gcs_actor make_gatekeeper(caf::actor_system& sys, gcs_actor gcs,
                                std::string token);

/// Spawns a door; an empty `token` accepts every hello.
door_actor make_door(caf::actor_system& sys, std::string token);

/// Says hello to `door` with `token` (from a thread outside the scheduler,
/// or a detached actor: it blocks); returns the empty string once
/// accepted, else why not, naming the token.
std::string say_hello(caf::actor_system& sys, const door_actor& door,
                      const std::string& token,
                      std::chrono::milliseconds timeout);

} // namespace lumen

// How a node's actor system talks to other nodes: plain TCP through CAF's
// middleman actor, or, when the node has TLS files, TLS through the TLS
// middleman actor of tls_transport.hpp (CAF's BASP on TLS connections).
// The two are separate (publishing or connecting through one never uses
// the other), so every place that opens a port or connects goes through
// these functions, which pick the transport started for the system. CAF's
// automatic connections, which would open plain ones, stay off.
//
// Thread safety: any thread; the blocking functions must not run on a
// scheduler thread (use a plain thread or a detached actor).
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>
#include <caf/io/doorman.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/scribe.hpp>

#include "lumen/config.hpp"
#include "net/bulk_stream.hpp"

namespace lumen::detail {

/// Loads the middleman into `cfg`, with CAF's automatic connections off.
void configure_transport(caf::actor_system_config& cfg);

/// Starts TLS for `sys` when `tls` names files (check them first:
/// check_tls_files): from now on transport_actor(sys) is the TLS middleman
/// actor. Throws lumen::error if OpenSSL cannot use the files. Without
/// files it does nothing (plain TCP).
void start_transport(caf::actor_system& sys, const tls_config& tls);

/// Ends what start_transport started for `sys` (waits for its actor); call
/// it before `sys` ends. Harmless without TLS or when called twice.
void stop_transport(caf::actor_system& sys);

/// Whether `sys` talks TLS.
bool uses_tls(caf::actor_system& sys);

/// The middleman actor of `sys`'s transport: it publishes, opens and
/// connects (publish_atom, connect_atom, ...).
caf::io::middleman_actor transport_actor(caf::actor_system& sys);

/// Publishes `whom` (any handle) on `host`:`port` (0: a free port) through
/// `sys`'s transport; returns the port. Blocks.
caf::expected<std::uint16_t> publish_actor(caf::actor_system& sys,
                                           caf::strong_actor_ptr whom,
                                           std::set<std::string> interface,
                                           std::uint16_t port,
                                           const std::string& host);

template <class Handle>
caf::expected<std::uint16_t>
publish_actor(caf::actor_system& sys, const Handle& whom, std::uint16_t port,
              const std::string& host) {
  return publish_actor(sys, caf::actor_cast<caf::strong_actor_ptr>(whom),
                       sys.message_types(whom), port, host);
}

/// Connects to the actor published at `host`:`port` through `sys`'s
/// transport and checks that it offers `interface` (message types, as
/// sys.message_types gives them); fails after `timeout`. Blocks.
caf::expected<caf::strong_actor_ptr>
connect_actor(caf::actor_system& sys, const std::string& host,
              std::uint16_t port, const std::set<std::string>& interface,
              std::chrono::milliseconds timeout);

/// A connection on `fd` (connected, or still connecting) for a byte
/// stream beside BASP (the object channel, net/bulk_channel.hpp),
/// on `sys`'s transport: TLS with the node's context when it uses TLS,
/// plain TCP otherwise (not BASP-guarded: its owner parses the stream),
/// reading and writing without copies (bulk_stream.hpp). Null if the TLS
/// session cannot start (logged). Call on the middleman's thread (from a
/// broker).
bulk_scribe_ptr stream_scribe(caf::actor_system& sys,
                              caf::io::network::native_socket fd,
                              bool accepted);

/// A listening port on `fd` (bound and listening) whose connections are
/// such byte streams, on `sys`'s transport; `hook` sees each before the
/// broker gets its new_connection_msg.
caf::io::doorman_ptr stream_doorman(caf::actor_system& sys,
                                    caf::io::network::native_socket fd,
                                    bulk_accept_hook hook);

/// How long connecting to a head may take, TLS handshake and hello
/// included.
inline constexpr auto connect_timeout = std::chrono::seconds{15};

} // namespace lumen::detail

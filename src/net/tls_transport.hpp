// TLS for CAF's middleman: a middleman actor whose ports and connections
// speak TLS, on CAF's own BASP broker and multiplexer.
//
// Why not CAF 0.17.6's OpenSSL module (caf::openssl::manager) itself: its
// session never clears OpenSSL's per-thread error queue before an I/O call
// (OpenSSL requires it: SSL_get_error reads that queue). Every connection
// of a node shares one multiplexer thread, so one failed handshake, or a
// peer that closes without close_notify (every CAF peer does), leaves an
// error behind that makes SSL_get_error report the next harmless
// WANT_READ on another, healthy connection as fatal, and CAF closes that
// one too. Measured: each `lumen status` against a TLS head dropped the
// head's connection to its worker. CAF fixed this in its later libcaf_net
// (commit 2815cf255, "Fix error handling in OpenSSL wrapper"), not in
// 0.17. This file is the module's middleman actor (libcaf_openssl's
// middleman_actor.cpp and session.cpp, BSD-3-Clause, Dominik Charousset)
// with that fixed, and with one SSL context for the node, made and
// checked once from the three files (CAF read them again for every
// connection and aborted the process when that failed), no anonymous-
// cipher fallback, TLS 1.2 or newer, and a log line for every refused
// handshake.
//
// Verification, as in CAF's module: SSL_VERIFY_PEER |
// SSL_VERIFY_FAIL_IF_NO_PEER_CERT on both sides, so a node accepting a
// connection demands the peer's certificate and both check the peer's
// chain against the cluster CA. No host name is checked: any certificate
// the CA signed is a member (tests/integration/tls_test.cpp).
//
// Thread safety: make_tls_middleman from any thread; the actor is
// detached, since connecting blocks.
#pragma once

#include <caf/fwd.hpp>
#include <caf/io/doorman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/scribe.hpp>

#include "lumen/config.hpp"
#include "net/bulk_stream.hpp"

namespace lumen::detail {

/// Spawns the TLS middleman actor of `sys` (its middleman must be loaded)
/// with a context made from `tls`; throws lumen::error if OpenSSL cannot
/// use the files. Its owner must end it (send_exit, wait) before `sys`
/// ends, as for any detached actor.
caf::io::middleman_actor make_tls_middleman(caf::actor_system& sys,
                                            const tls_config& tls);

/// Forgets the context make_tls_middleman made for `sys` (at stop).
void forget_tls_context(caf::actor_system& sys);

/// A TLS connection on `fd` (connected, or connecting: the handshake goes
/// on once it is) for a byte stream that is not BASP (the object channel,
/// net/bulk_channel.hpp), on `sys`'s TLS context: same certificates,
/// same verification and the same fixed session as BASP's connections.
/// Null if `sys` has no TLS or the session cannot start (logged).
bulk_scribe_ptr tls_stream_scribe(caf::actor_system& sys,
                                  caf::io::network::native_socket fd,
                                  bool accepted);

/// A TLS listening port on `fd` (listening) whose connections are such
/// byte streams, each shown to `hook` first; null if `sys` has no TLS.
caf::io::doorman_ptr tls_stream_doorman(caf::actor_system& sys,
                                        caf::io::network::native_socket fd,
                                        bulk_accept_hook hook);

} // namespace lumen::detail

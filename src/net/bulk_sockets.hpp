// bulk_sockets: the sockets under the object channel (bulk_channel.hpp):
// a non-blocking connect to a peer's channel and the channel's listening
// socket, both handed to the middleman's multiplexer afterwards.
#pragma once

#include <cstdint>
#include <string>

#include <caf/io/network/native_socket.hpp>

namespace lumen::detail {

/// The text of errno value `e`.
std::string errno_text(int e);

/// Starts a non-blocking connection to `address` ("HOST:PORT"); the
/// socket, or -1 with `*why` set. The connection completes (or fails) in
/// the multiplexer, which never blocks on it.
caf::io::network::native_socket start_connect(const std::string& address,
                                              std::string* why);

/// A listening socket on `host`, on a free port (written to `*port`);
/// throws lumen::error if none can be opened.
caf::io::network::native_socket listen_on(const std::string& host,
                                          std::uint16_t* port);

} // namespace lumen::detail

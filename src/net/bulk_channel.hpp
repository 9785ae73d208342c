// bulk_channel: the channel that carries object bytes between the object
// stores of two nodes: a CAF io::broker, owned by the node's middleman,
// on the node's transport (plain TCP, or TLS with the same context,
// certificates and verification as the control traffic when the cluster
// uses TLS; net/transport.hpp, stream_scribe).
//
// The middleman moves a 64 MiB message at 100-170 MB/s, loopback TCP at
// ~2.8 GB/s (TOOLCHAIN.md), so a pull of a large value asks the node that
// holds it to stream the bytes on a connection of the channel:
//
// 1. The pulling store calls `expect(size, done)`: a one-time ticket with
//    a fresh 128-bit random nonce and the address of this node's channel
//    (the one this node publishes in its record, bulk_address). It sends
//    the ticket to the holder inside a pull request over CAF.
// 2. The holder's store checks that the ticket names the channel that the
//    requesting node publishes in the cluster view (and refuses and logs
//    it otherwise), then calls `send(ticket, that address, bytes, ...)`.
//    The channel never connects anywhere else than where its store tells
//    it, and the store only names addresses from the cluster view. The
//    broker keeps one connection per peer address and reuses it: a frame
//    is a header (magic, nonce, size), then the bytes, written straight
//    from the object's memory (kept alive until acknowledged) by the
//    connection's scribe (bulk_stream.hpp), and the receiver acknowledges
//    each frame with one byte.
// 3. This side takes a frame only if its header names a ticket it issued
//    and has not used, with the expected size; anything else (unknown
//    nonce, garbage, a header not sent within 5 s of connecting, too many
//    connections) is refused and logged, the connection is closed, and
//    the node carries on. The bytes go straight from the socket (or TLS)
//    into a buffer from the buffer pool, and `done` gets them, or the
//    reason the transfer failed (the connection closed early or stayed
//    idle for `idle_timeout`), exactly once.
//
// Thread safety: all members may be called from any thread; callbacks run
// on the middleman's I/O thread (inside the broker), so they must only
// post (send a message), never block. The destructor stops the broker;
// callbacks that have not run are dropped.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "lumen/detail/byte_buffer.hpp"
#include "net/bulk_ticket.hpp"

namespace lumen::detail {

class bulk_channel {
 public:
  /// Called once per expected transfer: the bytes, or (non-empty) why not.
  using receive_callback =
    std::function<void(byte_buffer bytes, const std::string& error)>;

  /// Called once per send: empty on success, else why it failed.
  using send_callback = std::function<void(const std::string& error)>;

  /// Longest a connection may stay silent mid-transfer.
  static constexpr std::chrono::seconds idle_timeout{10};

  /// Connections received at once; more are refused.
  static constexpr std::size_t max_receivers = 32;

  /// Listens on `host`, on a free port, and spawns the broker in `sys`'s
  /// middleman (loaded, its transport started); throws lumen::error if it
  /// cannot listen.
  bulk_channel(caf::actor_system& sys, const std::string& host);

  ~bulk_channel();

  bulk_channel(const bulk_channel&) = delete;
  bulk_channel& operator=(const bulk_channel&) = delete;

  const std::string& host() const noexcept;

  std::uint16_t port() const noexcept;

  /// "HOST:PORT", as a node publishes it (node_record::bulk_address).
  std::string address() const;

  /// Whether its connections use TLS.
  bool tls() const noexcept;

  /// Issues a ticket for one transfer of exactly `size` bytes into this
  /// node; `done` runs once it arrived or failed.
  bulk_ticket expect(std::uint64_t size, receive_callback done);

  /// Withdraws a ticket whose transfer has not started: returns true, and
  /// its callback never runs. False if it is under way or over.
  bool cancel(const bulk_ticket& t);

  /// Sends `n` bytes at `p` for ticket `t` to the channel at `to`
  /// ("HOST:PORT", from the cluster view: never taken from a ticket);
  /// `keep` keeps the bytes alive until then. `done` runs once the
  /// receiver acknowledged them, or with the reason it did not.
  void send(const bulk_ticket& t, const std::string& to, const char* p,
            std::uint64_t n, std::shared_ptr<const void> keep,
            send_callback done);

  /// Connections and frames refused so far.
  std::size_t refused() const noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

} // namespace lumen::detail

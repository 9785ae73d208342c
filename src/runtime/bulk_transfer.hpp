// bulk_transfer: the direct channel that carries object bytes between the
// object stores of two nodes over plain TCP, beside CAF's middleman.
//
// The middleman moves a 64 MiB message at 100-170 MB/s, loopback TCP at
// ~2.8 GB/s (TOOLCHAIN.md), so a pull of a large value asks the node that
// holds it to stream the bytes here over a connection of their own:
//
// 1. The pulling store calls `expect(size, done)`: a one-time ticket with
//    a fresh 128-bit random nonce and the address of this node's bulk
//    listener. It sends the ticket to the holder inside a pull request,
//    over the CAF channel (authenticated once TLS and the cluster token are
//    on; see below).
// 2. The holder calls `send(ticket, bytes, ...)`: it connects to that
//    address, writes a header (magic, nonce, size), then the bytes straight
//    from the object's memory, and waits for a one-byte acknowledgment.
// 3. This side accepts a connection only if its header names a ticket it
//    issued and has not used, with the expected size; anything else
//    (unknown nonce, garbage, a header not sent within 5 s, too many
//    connections) is refused and logged, and the node carries on. The
//    bytes go straight into a buffer from the buffer pool, and `done` gets
//    them, or the reason the transfer failed (the holder died or hung: a
//    connection closed early or idle for `idle_timeout`), exactly once.
//
// So no data is ever taken from a connection this node did not ask for,
// and the holder sends only to a peer that asked over the CAF channel.
// The bytes themselves are not encrypted: with TLS on, objects must travel
// through the middleman (object_transfer_mode::middleman); see
// `direct_transfer_allowed` in object_store.cpp.
//
// Thread safety: all members may be called from any thread; callbacks run
// on the channel's own threads, never under its locks. The destructor
// closes every connection, joins every thread and drops callbacks that
// have not run.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lumen/detail/byte_buffer.hpp"

namespace lumen::detail {

/// What a puller gives the holder of a value: where to send it, and the
/// one-time nonce that the connection must present.
struct bulk_ticket {
  std::string host;
  std::uint16_t port = 0;
  std::array<char, 16> nonce{};
};

/// The wire form of a ticket: nonce, port, host.
std::vector<char> encode_ticket(const bulk_ticket& t);

/// A ticket from its wire form; throws lumen::decode_error.
bulk_ticket decode_ticket(const char* p, std::size_t n);

class bulk_transfer {
 public:
  /// Called once per expected transfer: the bytes, or (non-empty) why not.
  using receive_callback =
    std::function<void(byte_buffer bytes, const std::string& error)>;

  /// Called once per send: empty on success, else why it failed.
  using send_callback = std::function<void(const std::string& error)>;

  /// Longest a connection may stay silent mid-transfer.
  static constexpr std::chrono::seconds idle_timeout{10};

  /// Connections being received at once; more are refused.
  static constexpr std::size_t max_receivers = 32;

  /// Listens on `host`, on a free port; throws lumen::error if it cannot.
  explicit bulk_transfer(const std::string& host);

  ~bulk_transfer();

  bulk_transfer(const bulk_transfer&) = delete;
  bulk_transfer& operator=(const bulk_transfer&) = delete;

  const std::string& host() const noexcept;

  std::uint16_t port() const noexcept;

  /// Issues a ticket for one transfer of exactly `size` bytes into this
  /// node; `done` runs once it arrived or failed.
  bulk_ticket expect(std::uint64_t size, receive_callback done);

  /// Withdraws a ticket whose connection has not arrived: returns true,
  /// and its callback never runs. False if it is under way or over (its
  /// callback runs or ran).
  bool cancel(const bulk_ticket& t);

  /// Sends `n` bytes at `p` to the ticket's address, on a thread of its
  /// own; `keep` keeps them alive until then. `done` runs once the
  /// receiver acknowledged them, or with the reason it did not.
  void send(const bulk_ticket& t, const char* p, std::uint64_t n,
            std::shared_ptr<const void> keep, send_callback done);

  /// Connections refused so far.
  std::size_t refused() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace lumen::detail

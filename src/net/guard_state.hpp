// What the connection guards of one node share (net/transport_guard.hpp):
// the limits from the node's config, the memory that partly received
// messages hold on all connections together, and the connections whose
// deadlines (handshake, idle) a periodic sweep checks.
//
// Limits (README "Security", docs/security.md "Before a peer is known"):
// - a peer that has not proved who it is (the cluster token at the
//   transport, or a TLS certificate) may send messages of at most
//   preauth_message_size bytes; after that, up to max-message-size;
// - a message larger than a read piece is read piece by piece and its
//   buffer grows with what arrived, never at once from its header; the
//   buffers of all connections hold at most frame-memory bytes;
// - each connection must finish its handshake within handshake-timeout
//   and is closed after idle-timeout without a byte from its peer.
//
// The proof: a node with a cluster token starts each connection it opens
// (plain TCP) with a 32-byte preamble, `proof_magic` then the first 24
// bytes of SHA-256 over a fixed label and the token; the accepting node's
// guard reads it before BASP sees anything, and lifts the cap when it
// matches. The token itself is never sent by it.
//
// Thread safety: reserve/release and watch/sweep may be called from any
// thread (atomics, a mutex); sweep acts on connections, so call it on the
// multiplexer's thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/io/scribe.hpp>

#include "lumen/config.hpp"

namespace lumen::detail {

/// Largest message a peer may send before it proved who it is: room for
/// CAF's client handshake, the hello with the token and a few small
/// messages, far below anything worth allocating.
inline constexpr std::size_t preauth_message_size = 4096;

/// Bytes of a transport proof preamble (a BASP header's size).
inline constexpr std::size_t proof_size = 32;

/// The first bytes of a proof preamble; 0xff is no BASP operation.
inline constexpr std::array<char, 8> proof_magic{'\xff', 'L', 'U', 'M',
                                                 'E',    'N', 'T', 'P'};

/// The preamble that proves `token` (proof_size bytes), or "" for none.
std::string transport_proof(const std::string& token);

/// Whether `given` (proof_size bytes) is `expected`, in constant time.
bool transport_proof_matches(const std::string& expected,
                             const std::string& given);

/// What the guards of one node enforce.
struct connection_limits {
  /// Largest message once the peer proved who it is.
  std::size_t max_message_size = default_max_message_size;
  /// Bytes partly received messages may hold, all connections together.
  std::size_t frame_memory = default_max_message_size;
  /// 0: no limit.
  std::chrono::milliseconds handshake_timeout{0};
  /// 0: no limit.
  std::chrono::milliseconds idle_timeout{0};
  /// The preamble peers must send to prove the token; "": no token.
  std::string proof;
};

/// Stores `c`'s limits (and the proof of its token) in `cfg`, before the
/// system starts.
void set_connection_limits(caf::actor_system_config& cfg, const config& c);

/// The limits stored in `cfg` (defaults where none are).
connection_limits connection_limits_of(const caf::actor_system_config& cfg);

/// A connection whose deadlines the sweep checks.
class timed_connection {
 public:
  virtual ~timed_connection() = default;

  /// Closes the connection (logged) if it is past a deadline at `now`;
  /// false once it is gone and need not be checked again.
  virtual bool check_deadlines(std::chrono::steady_clock::time_point now) = 0;
};

class guard_state {
 public:
  explicit guard_state(connection_limits limits);

  const connection_limits& limits() const noexcept {
    return limits_;
  }

  /// Takes `n` bytes of frame memory; false (nothing taken) if that would
  /// pass frame_memory.
  bool reserve(std::size_t n);

  /// Gives back `n` bytes taken with reserve.
  void release(std::size_t n);

  /// Bytes taken now.
  std::size_t held() const noexcept {
    return held_.load();
  }

  /// Checks `conn` (the same object as `keep`, which keeps it alive) at
  /// each sweep until it is gone.
  void watch(caf::io::scribe_ptr keep, timed_connection* conn);

  /// Whether any connection is watched.
  bool watching() const;

  /// Forgets every watched connection (when the multiplexer ends).
  void clear();

  /// Checks every watched connection at `now`; forgets those gone.
  void sweep(std::chrono::steady_clock::time_point now);

 private:
  connection_limits limits_;
  std::atomic<std::size_t> held_{0};
  mutable std::mutex mtx_;
  std::vector<std::pair<caf::io::scribe_ptr, timed_connection*>> watched_;
};

using guard_state_ptr = std::shared_ptr<guard_state>;

} // namespace lumen::detail

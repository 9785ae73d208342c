// A guard below CAF's BASP, between each connection and the BASP broker.
//
// CAF 0.17.6's BASP trusts what a peer sends before any handshake:
// - It trusts the 32-bit payload length of every header: it tells the
//   connection to read exactly that many bytes, and the connection first
//   resizes its read buffer to that size, zero filled, on the middleman's
//   single I/O thread. A 32-byte header announcing 4 GiB (valid for a
//   client handshake) makes a node allocate and touch 4 GiB and stalls all
//   of its network I/O meanwhile (36 s measured here); where memory is
//   capped the process ends with an uncaught std::bad_alloc.
// - A handshake header that announces no payload passes BASP's checks,
//   and BASP then reads the payload through a null pointer: one 32-byte
//   header ends any CAF 0.17.6 process with SIGSEGV.
// - A header that fails its checks (garbage) closes the connection
//   without a word.
// CAF 0.17 has no setting for any of this.
//
// The guard is a scribe (CAF's per-connection object, which hands the
// broker exactly the bytes it asks for): it refuses reads larger than
// max-message-size before anything is allocated, and checks each header
// before BASP sees it. It logs the peer and the reason, stops reading and
// closes the connection as a failed read would, so the BASP broker cleans
// up its routing state and the node goes on serving every other
// connection. Outgoing messages larger than max-message-size are dropped
// (and logged) before they are sent.
//
// Plain TCP connections get it from `guarded_multiplexer`, loaded as the
// middleman's backend: `cfg.load<caf::io::middleman, guarded_multiplexer>()`.
// Scribes made elsewhere (the TLS transport) get it by wrapping their
// scribe class in `guarded_scribe<...>`.
//
// Thread safety: scribes and the multiplexer run on the middleman's I/O
// thread, as CAF's own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/abstract_broker.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/receive_policy.hpp>
#include <caf/settings.hpp>

#include "lumen/config.hpp"

namespace lumen::detail {

/// Smallest config::max_message_size accepted (16 MiB): object chunks (4
/// MiB) and inline values (256 KiB each) must fit with room to spare.
inline constexpr std::size_t min_max_message_size = 16 << 20;

/// Where the limit lives in the actor system's config (`content`).
inline constexpr const char* max_message_size_key = "lumen.max-message-size";

/// Throws lumen::error naming the field if `c`'s max_message_size is below
/// min_max_message_size.
void check_size_limits(const config& c);

/// Stores `bytes` as the limit in `cfg` (before the system starts).
void set_max_message_size(caf::actor_system_config& cfg, std::size_t bytes);

/// The limit stored in `cfg`, else lumen::default_max_message_size.
std::size_t max_message_size(const caf::actor_system_config& cfg);

/// Logs that the connection with `peer` is closed, and `why`.
void log_closed(const std::string& peer, const std::string& why);

/// What is wrong with a BASP header (`n` bytes at `p`, a whole header)
/// that BASP must not see, or "": a header that is no BASP header at all
/// (BASP would close the connection silently), or a handshake that
/// announces no payload (CAF 0.17.6 dereferences a null payload for it
/// and the process dies with SIGSEGV). Sets `*payload_len` to the length
/// the header announces.
std::string basp_header_problem(const char* p, std::size_t n,
                                std::size_t* payload_len,
                                std::uint8_t* operation);

/// Logs, for an operation whose payload BASP could not read, that BASP
/// closed the connection (not for server handshakes: BASP also closes
/// redundant connections after one).
void log_basp_refusal(const std::string& peer, std::uint8_t operation,
                      std::size_t payload_len);

/// Removes from `buf`, from offset `from` on a sequence of whole BASP
/// frames (32-byte header, payload), every frame whose payload is larger
/// than `limit`, logging each one for `peer`; returns how many were
/// removed. Stops at anything that is not a whole frame and leaves it
/// alone.
std::size_t drop_oversized_frames(std::vector<char>& buf, std::size_t limit,
                                  const std::string& peer,
                                  std::size_t from = 0);

/// `Scribe` (a caf::io::scribe of a BASP connection) that keeps what
/// would hurt a node away from BASP, and says what it dropped:
/// - a read larger than `limit` (a header announcing a huge payload) is
///   refused before anything is allocated;
/// - a header that is no BASP header, or a handshake without payload
///   (which would crash CAF 0.17.6), is refused before BASP sees it;
/// the connection is then closed as after a read error, so BASP forgets
/// it. When BASP itself closes the connection after a payload it could
/// not read, that is logged too. An outgoing message larger than `limit`
/// is dropped before it is sent (and logged), since the peer would cut
/// the connection on reading its header; a request it carried times out.
template <class Scribe>
class guarded_scribe : public Scribe {
 public:
  template <class... Ts>
  explicit guarded_scribe(std::size_t limit, Ts&&... xs)
    : Scribe(std::forward<Ts>(xs)...), limit_(limit) {}

  void configure_read(caf::io::receive_policy::config config) override {
    if (config.second <= limit_) {
      Scribe::configure_read(config);
      return;
    }
    refuse("a message announced " + std::to_string(config.second) +
           " bytes, more than max-message-size (" + std::to_string(limit_) +
           " bytes); the message was dropped unread");
  }

  bool consume(caf::execution_unit* ctx, const void* buf,
               std::size_t num_bytes) override {
    // Nothing more reaches the broker from a refused connection.
    if (refused_)
      return false;
    // BASP reads exactly one header, then exactly its payload (if any).
    bool header = payload_left_ == 0;
    peer(); // BASP may close the socket while it handles these bytes
    if (header) {
      auto why = basp_header_problem(static_cast<const char*>(buf), num_bytes,
                                     &payload_left_, &operation_);
      if (!why.empty()) {
        refuse(why);
        return false;
      }
    } else {
      payload_left_ = 0;
    }
    auto result = Scribe::consume(ctx, buf, num_bytes);
    if (!header && !refused_ && this->detached())
      log_basp_refusal(peer(), operation_, num_bytes);
    return result;
  }

  std::vector<char>& wr_buf() override {
    // The broker appends whole frames to what this returns, then flushes:
    // frames from here on are new.
    auto& buf = Scribe::wr_buf();
    if (buf.size() < unchecked_)
      unchecked_ = buf.size();
    return buf;
  }

  void flush() override {
    // The write buffer holds whole frames not yet handed to the socket;
    // only those appended since the last flush are looked at.
    auto& buf = Scribe::wr_buf();
    if (unchecked_ < buf.size())
      drop_oversized_frames(buf, limit_, peer(), unchecked_);
    unchecked_ = static_cast<std::size_t>(-1);
    Scribe::flush();
  }

 private:
  /// HOST:PORT of the other end, read once while the socket is open.
  const std::string& peer() {
    if (peer_.empty())
      peer_ = this->addr() + ":" + std::to_string(this->port());
    return peer_;
  }

  /// Logs `why` and closes the connection once the current handler (of
  /// the broker, or of the stream) is done: detaching now would re-enter
  /// the broker.
  void refuse(const std::string& why) {
    if (refused_)
      return;
    refused_ = true;
    log_closed(peer(), why);
    if (auto* broker = this->parent()) {
      auto& mpx = broker->backend();
      caf::intrusive_ptr<guarded_scribe> self{this};
      mpx.post([self, &mpx] {
        self->io_failure(&mpx, caf::io::network::operation::read);
      });
    }
  }

  std::size_t limit_;
  std::string peer_;
  bool refused_ = false;
  /// Payload bytes the last header announced and BASP reads next.
  std::size_t payload_left_ = 0;
  std::uint8_t operation_ = 0;
  /// Where frames appended since the last flush start (-1: none).
  std::size_t unchecked_ = static_cast<std::size_t>(-1);
};

/// CAF's default multiplexer whose TCP connections are guarded_scribes, with
/// the limit of the system's config (max_message_size).
class guarded_multiplexer : public caf::io::network::default_multiplexer {
 public:
  explicit guarded_multiplexer(caf::actor_system* sys);

  caf::io::scribe_ptr new_scribe(caf::io::network::native_socket fd) override;

  std::size_t limit() const noexcept {
    return limit_;
  }

 private:
  std::size_t limit_;
};

} // namespace lumen::detail

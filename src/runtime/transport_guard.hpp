// A bound on what a node reads from a connection, below CAF's BASP.
//
// CAF 0.17.6's BASP broker trusts the 32-bit payload length of every
// message header: it tells the connection to read exactly that many bytes,
// and the connection first resizes its read buffer to that size, zero
// filled, on the middleman's single I/O thread. A 32-byte header announcing
// 4 GiB (valid for a client handshake before any handshake happened) makes
// a node allocate and touch 4 GiB, stalls all of its network I/O meanwhile
// (36 s measured here), and where memory is capped ends the process with an
// uncaught std::bad_alloc. CAF 0.17 has no setting that bounds it.
//
// The guard sits where BASP asks for the bytes: a scribe (CAF's per
// connection object) whose configure_read refuses a read larger than
// max-message-size. It logs the peer and the announced size, stops reading
// and closes the connection as a failed read would, so the BASP broker
// cleans up its routing state and the node goes on serving every other
// connection. Nothing is allocated for the refused message.
//
// Plain TCP connections get it from `guarded_multiplexer`, loaded as the
// middleman's backend: `cfg.load<caf::io::middleman, guarded_multiplexer>()`.
// Scribes made elsewhere (a TLS transport) get it by wrapping their scribe
// class in `size_guarded<...>`.
//
// Thread safety: scribes and the multiplexer run on the middleman's I/O
// thread, as CAF's own.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/abstract_broker.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/receive_policy.hpp>
#include <caf/settings.hpp>

#include "cluster/node_config.hpp"
#include "lumen/config.hpp"

namespace lumen::detail {

/// Where the limit lives in the actor system's config (`content`).
inline constexpr const char* max_message_size_key = "lumen.max-message-size";

/// Throws lumen::error naming the field if `c`'s max_message_size is below
/// min_max_message_size.
void check_size_limits(const config& c);

/// Stores `bytes` as the limit in `cfg` (before the system starts).
void set_max_message_size(caf::actor_system_config& cfg, std::size_t bytes);

/// The limit stored in `cfg`, else lumen::default_max_message_size.
std::size_t max_message_size(const caf::actor_system_config& cfg);

/// Logs, once per connection, that a read of `announced` bytes was refused.
void log_refused_read(const std::string& peer, std::size_t announced,
                      std::size_t limit);

/// Removes from `buf`, a sequence of whole BASP frames (32-byte header,
/// payload), every frame whose payload is larger than `limit`, logging
/// each one for `peer`; returns how many were removed. Stops at anything
/// that is not a whole frame and leaves it alone.
std::size_t drop_oversized_frames(std::vector<char>& buf, std::size_t limit,
                                  const std::string& peer);

/// `Scribe` (a caf::io::scribe of a BASP connection) that keeps messages
/// larger than a limit off the connection in both directions. A read
/// larger than the limit is refused: the connection is closed instead, as
/// after a read error. An outgoing message larger than the limit is
/// dropped before it is sent (and logged), since the peer would cut the
/// connection on reading its header; a request it carried times out.
template <class Scribe>
class size_guarded : public Scribe {
 public:
  template <class... Ts>
  explicit size_guarded(std::size_t limit, Ts&&... xs)
    : Scribe(std::forward<Ts>(xs)...), limit_(limit) {}

  void configure_read(caf::io::receive_policy::config config) override {
    if (config.second <= limit_) {
      Scribe::configure_read(config);
      return;
    }
    if (refused_)
      return;
    refused_ = true;
    log_refused_read(this->addr() + ":" + std::to_string(this->port()),
                     config.second, limit_);
    // Called by the broker from inside its handler: fail the connection
    // once the handler is done (detaching now would re-enter the broker).
    if (auto* broker = this->parent()) {
      auto& mpx = broker->backend();
      caf::intrusive_ptr<size_guarded> self{this};
      mpx.post([self, &mpx] {
        self->io_failure(&mpx, caf::io::network::operation::read);
      });
    }
  }

  bool consume(caf::execution_unit* ctx, const void* buf,
               std::size_t num_bytes) override {
    // Nothing more reaches the broker from a refused connection.
    if (refused_)
      return false;
    return Scribe::consume(ctx, buf, num_bytes);
  }

  void flush() override {
    // The write buffer holds whole frames not yet handed to the socket.
    drop_oversized_frames(this->wr_buf(), limit_,
                          this->addr() + ":" + std::to_string(this->port()));
    Scribe::flush();
  }

 private:
  std::size_t limit_;
  bool refused_ = false;
};

/// CAF's default multiplexer whose TCP connections are size_guarded, with
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

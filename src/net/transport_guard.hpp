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
// broker exactly the bytes it asks for): it checks each header before BASP
// sees it, and refuses a message larger than the peer may send before
// anything is allocated: preauth_message_size (4 KiB) until the peer
// proved who it is (TLS certificate, or the cluster token's proof, see
// guard_state.hpp; without a token, CAF's handshake), max-message-size
// after. A message it takes that is larger than a read piece is read
// piece by piece into a buffer that grows with what arrived, within the
// node's frame-memory; BASP then gets it whole, as before. Connections
// without a handshake after handshake-timeout, or silent for
// idle-timeout, are closed. For each refusal it logs the peer and the
// reason, stops reading and closes the connection as a failed read would,
// so the BASP broker cleans up its routing state and the node goes on
// serving every other connection. Outgoing messages larger than
// max-message-size are dropped (and logged) before they are sent.
//
// Plain TCP connections get it from `guarded_multiplexer`, loaded as the
// middleman's backend: `cfg.load<caf::io::middleman, guarded_multiplexer>()`.
// Scribes made elsewhere (the TLS transport) get it by wrapping their
// scribe class in `guarded_scribe<...>`.
//
// Thread safety: scribes and the multiplexer run on the middleman's I/O
// thread, as CAF's own.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/abstract_broker.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/receive_policy.hpp>
#include <caf/settings.hpp>

#include "lumen/config.hpp"
#include "net/guard_state.hpp"

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

/// Shuts socket `fd` down both ways (it stays open until its owner closes
/// it): a connection past a deadline may have nothing to read that would
/// end it, e.g. a TLS handshake that waits for the peer.
void shutdown_socket(std::int64_t fd);

/// `d` for the log: "10 s", "1.5 s".
std::string seconds_text(std::chrono::milliseconds d);

/// Logs that `peer` sent a proof preamble that does not match the token.
void log_wrong_proof(const std::string& peer);

/// Message of a refusal: `n` bytes announced, more than `limit`, which
/// is max-message-size once the peer proved itself (`proved`), else the
/// limit before that (`token`: whether the node has a cluster token).
std::string too_large(std::size_t n, std::size_t limit, bool proved,
                      bool token);

/// `Scribe` (a caf::io::scribe of a BASP connection) that keeps what
/// would hurt a node away from BASP, and says what it dropped:
/// - until the peer proved who it is (a TLS certificate, the preamble
///   with the cluster token's proof, or, on a node without a token, CAF's
///   handshake), a message larger than preauth_message_size is refused;
///   after that one larger than max-message-size; both before anything
///   is allocated;
/// - a larger message is read in pieces, its buffer growing with what
///   arrived, within the node's frame-memory (guard_state.hpp);
/// - a header that is no BASP header, or a handshake without payload
///   (which would crash CAF 0.17.6), is refused before BASP sees it;
/// - a connection without its handshake after handshake-timeout, or
///   silent for idle-timeout, is closed;
/// the connection is then closed as after a read error, so BASP forgets
/// it. When BASP itself closes the connection after a payload it could
/// not read, that is logged too. An outgoing message larger than
/// max-message-size is dropped before it is sent (and logged), since the
/// peer would cut the connection on reading its header; a request it
/// carried times out.
template <class Scribe>
class guarded_scribe : public Scribe, public timed_connection {
 public:
  using clock = std::chrono::steady_clock;

  /// Bytes read at once from a large message (and the most a stream
  /// buffer of a proved connection holds).
  static constexpr std::size_t read_piece = 128 << 10;

  /// Capacity a proved connection keeps between large messages (CAF kept
  /// its whole read buffer), so that object chunks reuse it.
  static constexpr std::size_t kept_capacity = (4 << 20) + (64 << 10);

  /// `accepted`: the peer connected to this node; `tls`: the connection
  /// is TLS (the peer's certificate was verified before any byte is read).
  template <class... Ts>
  guarded_scribe(guard_state_ptr state, bool accepted, bool tls, Ts&&... xs)
    : Scribe(std::forward<Ts>(xs)...), state_(std::move(state)),
      accepted_(accepted), proved_(!accepted || tls), opened_(clock::now()),
      last_read_(opened_) {
    // A connection this node opens proves the token to the peer first.
    auto& proof = state_->limits().proof;
    if (!accepted && !tls && !proof.empty()) {
      auto& buf = Scribe::wr_buf();
      buf.insert(buf.end(), proof.begin(), proof.end());
    }
  }

  ~guarded_scribe() override {
    state_->release(held_);
  }

  void configure_read(caf::io::receive_policy::config config) override {
    watch();
    if (config.second > limit()) {
      refuse(too_large(config.second, limit(), proved_,
                       !state_->limits().proof.empty()));
      return;
    }
    if (config.second > read_piece) {
      // A large payload: read in pieces (consume_piece).
      start_payload(config.second);
      return;
    }
    want_ = 0;
    Scribe::configure_read(config);
  }

  std::vector<char>& rd_buf() override {
    // While a large payload goes to the broker, it is the read buffer.
    return delivering_ ? acc_ : Scribe::rd_buf();
  }

  bool consume(caf::execution_unit* ctx, const void* buf,
               std::size_t num_bytes) override {
    // Nothing more reaches the broker from a refused connection.
    if (refused_)
      return false;
    last_read_ = clock::now();
    peer(); // BASP may close the socket while it handles these bytes
    if (want_ > 0)
      return consume_piece(ctx, buf, num_bytes);
    // BASP reads exactly one header, then exactly its payload (if any).
    bool header = payload_left_ == 0;
    auto* bytes = static_cast<const char*>(buf);
    if (header && first_read_) {
      first_read_ = false;
      if (accepted_ && num_bytes == proof_size &&
          std::equal(proof_magic.begin(), proof_magic.end(), bytes)) {
        take_proof(bytes);
        return true; // BASP's header comes next
      }
    }
    if (header) {
      auto why =
        basp_header_problem(bytes, num_bytes, &payload_left_, &operation_);
      if (why.empty() && payload_left_ > limit())
        why = too_large(payload_left_, limit(), proved_,
                        !state_->limits().proof.empty());
      if (!why.empty()) {
        refuse(why);
        return false;
      }
      if (is_handshake(operation_)) {
        handshaken_ = true;
        // Without a token, CAF's handshake is all a peer can prove.
        if (state_->limits().proof.empty())
          proved_ = true;
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
      drop_oversized_frames(buf, state_->limits().max_message_size, peer(),
                            unchecked_);
    unchecked_ = static_cast<std::size_t>(-1);
    Scribe::flush();
  }

  bool check_deadlines(clock::time_point now) override {
    if (refused_ || this->detached())
      return false;
    auto& lim = state_->limits();
    if (!handshaken_ && lim.handshake_timeout.count() > 0 &&
        now - opened_ > lim.handshake_timeout) {
      refuse("no handshake within " + seconds_text(lim.handshake_timeout) +
             " (handshake-timeout)");
      shutdown_socket(this->hdl().id());
      return false;
    }
    if (lim.idle_timeout.count() > 0 && now - last_read_ > lim.idle_timeout) {
      refuse("nothing received for " + seconds_text(lim.idle_timeout) +
             " (idle-timeout)");
      shutdown_socket(this->hdl().id());
      return false;
    }
    return true;
  }

 private:
  /// HOST:PORT of the other end, read once while the socket is open.
  const std::string& peer() {
    if (peer_.empty())
      peer_ = this->addr() + ":" + std::to_string(this->port());
    return peer_;
  }

  /// The largest message the peer may send now.
  std::size_t limit() const {
    return proved_ ? state_->limits().max_message_size : preauth_message_size;
  }

  static bool is_handshake(std::uint8_t op) {
    return op == 0 || op == 1; // server_handshake, client_handshake
  }

  /// Judges the proof preamble at `p` (proof_size bytes).
  void take_proof(const char* p) {
    auto& proof = state_->limits().proof;
    if (proof.empty())
      return; // this node has no token: nothing to prove
    if (transport_proof_matches(proof, std::string(p, proof_size))) {
      proved_ = true;
      return;
    }
    log_wrong_proof(peer());
  }

  /// Watches the connection's deadlines from its first read on (it then
  /// belongs to a broker, on the multiplexer's thread).
  void watch() {
    if (watched_)
      return;
    watched_ = true;
    state_->watch(caf::io::scribe_ptr{this}, this);
  }

  void start_payload(std::size_t n) {
    want_ = n;
    acc_.clear();
    // What this connection kept counts again while a message fills it.
    if (acc_.capacity() > 0 && state_->reserve(acc_.capacity()))
      held_ = acc_.capacity();
    else
      std::vector<char>{}.swap(acc_);
    Scribe::configure_read(caf::io::receive_policy::exactly(read_piece));
  }

  /// Makes room for `total` bytes of the payload; false if the node's
  /// frame memory has none.
  bool grow(std::size_t total) {
    if (total <= acc_.capacity())
      return true;
    auto cap = std::min(
      want_, std::max({total, 2 * acc_.capacity(), std::size_t{256} << 10}));
    if (cap > held_ && !state_->reserve(cap - held_))
      return false;
    acc_.reserve(cap);
    if (cap > held_)
      held_ = cap;
    return true;
  }

  bool consume_piece(caf::execution_unit* ctx, const void* buf, std::size_t n) {
    if (!grow(acc_.size() + n)) {
      refuse("a message of " + std::to_string(want_) +
             " bytes does not fit in frame-memory (" +
             std::to_string(state_->limits().frame_memory) + " bytes, " +
             std::to_string(state_->held()) +
             " held by messages arriving on this node)");
      return false;
    }
    auto* p = static_cast<const char*>(buf);
    acc_.insert(acc_.end(), p, p + n);
    if (acc_.size() < want_) {
      Scribe::configure_read(caf::io::receive_policy::exactly(
        std::min(read_piece, want_ - acc_.size())));
      return true;
    }
    // Whole: BASP gets it as if read at once.
    want_ = 0;
    payload_left_ = 0;
    delivering_ = true;
    auto result = Scribe::consume(ctx, acc_.data(), acc_.size());
    delivering_ = false;
    if (!refused_ && this->detached())
      log_basp_refusal(peer(), operation_, acc_.size());
    state_->release(held_);
    held_ = 0;
    if (acc_.capacity() > kept_capacity)
      std::vector<char>{}.swap(acc_);
    else
      acc_.clear();
    return result;
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

  guard_state_ptr state_;
  bool accepted_;
  /// Whether the peer proved who it is (see limit()).
  bool proved_;
  bool handshaken_ = false;
  bool first_read_ = true;
  bool watched_ = false;
  clock::time_point opened_;
  clock::time_point last_read_;
  std::string peer_;
  bool refused_ = false;
  /// Payload bytes the last header announced and BASP reads next.
  std::size_t payload_left_ = 0;
  std::uint8_t operation_ = 0;
  /// A large payload being read: its size, the bytes so far, the frame
  /// memory taken for them, and whether the broker is reading them.
  std::size_t want_ = 0;
  std::vector<char> acc_;
  std::size_t held_ = 0;
  bool delivering_ = false;
  /// Where frames appended since the last flush start (-1: none).
  std::size_t unchecked_ = static_cast<std::size_t>(-1);
};

/// CAF's default multiplexer whose TCP connections are guarded_scribes,
/// with the limits of the system's config (connection_limits_of); a
/// thread of its own sweeps their deadlines twice a second.
class guarded_multiplexer : public caf::io::network::default_multiplexer {
 public:
  explicit guarded_multiplexer(caf::actor_system* sys);

  ~guarded_multiplexer() override;

  caf::expected<caf::io::scribe_ptr>
  new_tcp_scribe(const std::string& host, std::uint16_t port) override;

  caf::io::scribe_ptr new_scribe(caf::io::network::native_socket fd) override;

  std::size_t limit() const noexcept {
    return state_->limits().max_message_size;
  }

  const guard_state_ptr& state() const noexcept {
    return state_;
  }

 private:
  guard_state_ptr state_;
  std::mutex ticker_mtx_;
  std::condition_variable ticker_cv_;
  bool stopping_ = false;
  std::thread ticker_;
};

/// The guard state of `mpx`'s connections: its own if it is a
/// guarded_multiplexer, else one made from its system's config.
guard_state_ptr guard_state_of(caf::io::network::default_multiplexer& mpx);

} // namespace lumen::detail

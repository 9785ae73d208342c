// The message size guard below CAF's BASP; see transport_guard.hpp.
#include "net/transport_guard.hpp"

#include <algorithm>
#include <cmath>
#include <sys/socket.h>

#include <caf/binary_deserializer.hpp>
#include <caf/config_value.hpp>
#include <caf/io/basp/header.hpp>
#include <caf/io/basp/message_type.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/scribe_impl.hpp>
#include <caf/make_counted.hpp>

#include "log/log.hpp"
#include "lumen/error.hpp"

namespace lumen::detail {

void check_size_limits(const config& c) {
  if (c.max_message_size < min_max_message_size)
    throw error("max_message_size is " + std::to_string(c.max_message_size) +
                " bytes; it must be at least " +
                std::to_string(min_max_message_size) +
                " (16 MiB), room for object chunks and inline values");
  if (c.frame_memory != 0 && c.frame_memory < c.max_message_size)
    throw error("frame_memory is " + std::to_string(c.frame_memory) +
                " bytes; it must be 0 or at least max_message_size (" +
                std::to_string(c.max_message_size) + ")");
  auto check_seconds = [](double x, const char* name) {
    if (!std::isfinite(x) || x < 0)
      throw error(std::string{name} +
                  " must be a non-negative number of seconds");
  };
  check_seconds(c.handshake_timeout, "handshake_timeout");
  check_seconds(c.idle_timeout, "idle_timeout");
}

void set_max_message_size(caf::actor_system_config& cfg, std::size_t bytes) {
  caf::put(cfg.content, max_message_size_key,
           static_cast<caf::config_value::integer>(bytes));
}

std::size_t max_message_size(const caf::actor_system_config& cfg) {
  auto n = caf::get_or(
    cfg, max_message_size_key,
    static_cast<caf::config_value::integer>(default_max_message_size));
  return n > 0 ? static_cast<std::size_t>(n) : default_max_message_size;
}

void log_closed(const std::string& peer, const std::string& why) {
  detail::log_warn("closed the connection with ", peer, ": ", why);
}

std::string basp_header_problem(const char* p, std::size_t n,
                                std::size_t* payload_len,
                                std::uint8_t* operation) {
  namespace basp = caf::io::basp;
  *payload_len = 0;
  if (n != basp::header_size)
    return {}; // not a header read: BASP judges it
  basp::header hdr;
  caf::binary_deserializer source{nullptr, p, n};
  if (auto err = source(hdr))
    return "an unreadable BASP header";
  *payload_len = hdr.payload_len;
  *operation = static_cast<std::uint8_t>(hdr.operation);
  auto op = static_cast<unsigned>(hdr.operation);
  if (!basp::valid(hdr))
    return "not a BASP message (a header with operation " + std::to_string(op) +
           ", " + std::to_string(hdr.payload_len) +
           " bytes of payload, that BASP refuses)";
  if (basp::is_handshake(hdr) && hdr.payload_len == 0)
    return "a BASP handshake without payload (operation " + std::to_string(op) +
           "), which would crash CAF 0.17.6 (it reads the missing payload)";
  return {};
}

void log_basp_refusal(const std::string& peer, std::uint8_t operation,
                      std::size_t payload_len) {
  namespace basp = caf::io::basp;
  auto op = static_cast<basp::message_type>(operation);
  if (op == basp::message_type::server_handshake)
    return; // also how BASP ends redundant connections: not news
  detail::log_warn("BASP closed the connection with ", peer,
                   ": it could not read a ", basp::to_string(op), " of ",
                   payload_len, " bytes");
}

std::size_t drop_oversized_frames(std::vector<char>& buf, std::size_t limit,
                                  const std::string& peer, std::size_t from) {
  constexpr std::size_t header_size = caf::io::basp::header_size;
  static_assert(header_size == 32, "BASP 0.17: payload_len at bytes 4-7");
  std::size_t dropped = 0;
  auto pos = std::min(from, buf.size());
  while (buf.size() - pos >= header_size) {
    // payload_len: bytes 4 to 7 of the header, big-endian.
    std::size_t len = 0;
    for (std::size_t i = 4; i < 8; ++i)
      len = (len << 8) | static_cast<unsigned char>(buf[pos + i]);
    if (len > buf.size() - pos - header_size)
      break; // not a whole frame: not ours to judge
    if (len <= limit) {
      pos += header_size + len;
      continue;
    }
    detail::log_warn("dropped an outgoing message of ", len, " bytes to ", peer,
                     ": more than max-message-size (", limit,
                     " bytes), the peer would close the connection");
    auto first = buf.begin() + static_cast<std::ptrdiff_t>(pos);
    buf.erase(first, first + static_cast<std::ptrdiff_t>(header_size + len));
    ++dropped;
  }
  return dropped;
}

void shutdown_socket(std::int64_t fd) {
  ::shutdown(static_cast<int>(fd), SHUT_RDWR);
}

std::string seconds_text(std::chrono::milliseconds d) {
  auto ms = d.count();
  auto text = std::to_string(ms / 1000);
  if (ms % 1000 != 0) {
    auto frac = std::to_string(1000 + ms % 1000).substr(1);
    while (frac.back() == '0')
      frac.pop_back();
    text += "." + frac;
  }
  return text + " s";
}

void log_wrong_proof(const std::string& peer) {
  detail::log_warn("the transport proof of ", peer,
                   " does not match this cluster's token: its messages stay "
                   "limited to ",
                   preauth_message_size, " bytes");
}

std::string too_large(std::size_t n, std::size_t limit, bool proved,
                      bool token) {
  auto what = "a message announced " + std::to_string(n) + " bytes, more ";
  if (proved)
    return what + "than max-message-size (" + std::to_string(limit) +
           " bytes); the message was dropped unread";
  return what + "than a peer may send (" + std::to_string(limit) +
         " bytes) before " +
         (token ? "it proved the cluster token" : "its handshake") +
         "; the message was dropped unread";
}

namespace {

/// Whether the scribe made now is one this node opened (new_tcp_scribe
/// runs on the thread that connects).
thread_local bool connecting = false;

} // namespace

guarded_multiplexer::guarded_multiplexer(caf::actor_system* sys)
  : default_multiplexer(sys),
    state_(std::make_shared<guard_state>(connection_limits_of(sys->config()))) {
  ticker_ = std::thread{[this] {
    std::unique_lock lock{ticker_mtx_};
    while (!ticker_cv_.wait_for(lock, std::chrono::milliseconds{500}, [this] {
      return stopping_;
    })) {
      if (!state_->watching())
        continue;
      // On the multiplexer's thread, as everything done to connections.
      post([st = state_] {
        st->sweep(std::chrono::steady_clock::now());
      });
    }
  }};
}

guarded_multiplexer::~guarded_multiplexer() {
  {
    std::lock_guard guard{ticker_mtx_};
    stopping_ = true;
  }
  ticker_cv_.notify_all();
  ticker_.join();
  // Watched connections hold the state: let both go.
  state_->clear();
}

caf::expected<caf::io::scribe_ptr>
guarded_multiplexer::new_tcp_scribe(const std::string& host,
                                    std::uint16_t port) {
  connecting = true;
  auto result = default_multiplexer::new_tcp_scribe(host, port);
  connecting = false;
  return result;
}

caf::io::scribe_ptr
guarded_multiplexer::new_scribe(caf::io::network::native_socket fd) {
  // As default_multiplexer::new_scribe, with the guard.
  caf::io::network::keepalive(fd, true);
  return caf::make_counted<guarded_scribe<caf::io::network::scribe_impl>>(
    state_, !connecting, false, *this, fd);
}

guard_state_ptr guard_state_of(caf::io::network::default_multiplexer& mpx) {
  if (auto* guarded = dynamic_cast<guarded_multiplexer*>(&mpx))
    return guarded->state();
  return std::make_shared<guard_state>(
    connection_limits_of(mpx.system().config()));
}

} // namespace lumen::detail

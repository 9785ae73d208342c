// The message size guard below CAF's BASP; see transport_guard.hpp.
#include "runtime/transport_guard.hpp"

#include <iostream>

#include <caf/config_value.hpp>
#include <caf/io/basp/header.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/scribe_impl.hpp>
#include <caf/make_counted.hpp>

#include "lumen/error.hpp"

namespace lumen::detail {

void check_size_limits(const config& c) {
  if (c.max_message_size < min_max_message_size)
    throw error("max_message_size is " + std::to_string(c.max_message_size) +
                " bytes; it must be at least " +
                std::to_string(min_max_message_size) +
                " (16 MiB), room for object chunks and inline values");
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

void log_refused_read(const std::string& peer, std::size_t announced,
                      std::size_t limit) {
  std::cerr << "lumen: closed the connection with " << peer
            << ": a message announced " << announced
            << " bytes, more than max-message-size (" << limit
            << " bytes); the message was dropped unread\n";
}

std::size_t drop_oversized_frames(std::vector<char>& buf, std::size_t limit,
                                  const std::string& peer) {
  constexpr std::size_t header_size = caf::io::basp::header_size;
  static_assert(header_size == 32, "BASP 0.17: payload_len at bytes 4-7");
  std::size_t dropped = 0;
  std::size_t pos = 0;
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
    std::cerr << "lumen: dropped an outgoing message of " << len << " bytes to "
              << peer << ": more than max-message-size (" << limit
              << " bytes), the peer would close the connection\n";
    auto first = buf.begin() + static_cast<std::ptrdiff_t>(pos);
    buf.erase(first, first + static_cast<std::ptrdiff_t>(header_size + len));
    ++dropped;
  }
  return dropped;
}

guarded_multiplexer::guarded_multiplexer(caf::actor_system* sys)
  : default_multiplexer(sys), limit_(max_message_size(sys->config())) {}

caf::io::scribe_ptr
guarded_multiplexer::new_scribe(caf::io::network::native_socket fd) {
  // As default_multiplexer::new_scribe, with the guard.
  caf::io::network::keepalive(fd, true);
  return caf::make_counted<size_guarded<caf::io::network::scribe_impl>>(
    limit_, *this, fd);
}

} // namespace lumen::detail

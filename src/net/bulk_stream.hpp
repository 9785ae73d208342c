// bulk_stream: a connection of the object channel (bulk_channel.hpp) as
// its broker sees it: a CAF scribe, run by the middleman's multiplexer
// like any other, that can also move bytes without copying them.
//
// CAF's own scribe (caf::io::network::stream) reads into a std::vector of
// its own that the broker gets as new_data_msg::buf, and writes from a
// std::vector the broker fills (wr_buf). For a 64 MiB object that is one
// extra copy of every byte on each side, on the I/O thread, on top of the
// kernel's two (a profile of a two-node push spent about a fifth of the
// channel's time in those copies). This scribe does all that CAF's does
// (receive policies, wr_buf, flush, data_transferred_msg,
// connection_closed_msg) and two things more:
//
// * `read_into(p, n)`: the next `n` bytes of the stream go straight into
//   `p` (an object's buffer); once all have come, the broker gets a
//   new_data_msg with an empty buffer, and reads go on as configured.
// * `write_from(p, n)`: `n` bytes at `p` go out after what was flushed
//   before, from where they are; `p` must stay valid until
//   data_transferred_msg reports nothing remaining past them (the channel
//   keeps the object alive until the receiver acknowledges it).
//
// The bytes cross the socket through a `byte_io`: plain TCP, or a TLS
// session (tls_transport.cpp), which decrypts straight into the target
// and encrypts straight from the source.
//
// Thread safety: everything runs on the middleman's multiplexer thread
// (inside the broker), as for any CAF scribe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/intrusive_ptr.hpp>
#include <caf/io/network/event_handler.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/rw_state.hpp>
#include <caf/io/receive_policy.hpp>
#include <caf/io/scribe.hpp>

namespace caf::io::network {
class default_multiplexer;
} // namespace caf::io::network

namespace lumen::detail {

/// How bytes cross a connection's socket. `read_some` and `write_some`
/// follow CAF's policies: success with 0 bytes means "try again when the
/// socket is ready".
class byte_io {
 public:
  virtual ~byte_io();

  virtual caf::io::network::rw_state
  read_some(std::size_t& result, caf::io::network::native_socket fd, void* buf,
            std::size_t len) = 0;

  /// With the same `buf` and `len` again after a result of 0 (TLS needs
  /// that).
  virtual caf::io::network::rw_state
  write_some(std::size_t& result, caf::io::network::native_socket fd,
             const void* buf, std::size_t len) = 0;

  /// Whether input is buffered above the socket (TLS: a decrypted record
  /// not yet read), so reading must go on though the socket shows nothing.
  virtual bool pending() {
    return false;
  }

  /// Sends what writes left buffered above the socket (TLS: records
  /// gathered into larger sends): success once nothing is left,
  /// indeterminate if the socket takes no more for now, or failure.
  virtual caf::io::network::rw_state flush(caf::io::network::native_socket) {
    return caf::io::network::rw_state::success;
  }

  /// Whether the connection must write once before anything is queued (a
  /// TLS handshake the connecting side starts).
  virtual bool starts_with_write() const {
    return false;
  }
};

/// Plain TCP.
std::unique_ptr<byte_io> make_plain_io();

class bulk_scribe : public caf::io::scribe {
 public:
  bulk_scribe(caf::io::network::default_multiplexer& mpx,
              caf::io::network::native_socket fd, std::unique_ptr<byte_io> io);

  ~bulk_scribe() override;

  // -- caf::io::scribe
  // ---------------------------------------------------------

  void configure_read(caf::io::receive_policy::config config) override;

  void ack_writes(bool enable) override;

  std::vector<char>& wr_buf() override;

  std::vector<char>& rd_buf() override;

  void graceful_shutdown() override;

  void flush() override;

  std::string addr() const override;

  uint16_t port() const override;

  void add_to_loop() override;

  void remove_from_loop() override;

  // -- without copies
  // ----------------------------------------------------------

  /// The next `n` bytes go into `p`; see the file comment. Call from the
  /// broker, for instance while it handles a new_data_msg. With n == 0,
  /// forgets the target (call before freeing it while bytes are due).
  void read_into(char* p, std::size_t n);

  /// Bytes that arrived into the current `read_into` target (0 if none).
  std::size_t read_into_done() const noexcept;

  /// Sends `n` bytes at `p` after what was flushed before; see the file
  /// comment.
  void write_from(const char* p, std::size_t n);

  /// Forgets every byte not written yet (call before freeing memory
  /// handed to write_from while the connection is being given up).
  void discard_writes();

  class stream;

 private:
  void launch();

  bool launched_ = false;
  std::unique_ptr<stream> stream_;
};

using bulk_scribe_ptr = caf::intrusive_ptr<bulk_scribe>;

/// Told of each connection a doorman of the channel accepted, before the
/// broker sees its new_connection_msg.
using bulk_accept_hook = std::function<void(const bulk_scribe_ptr&)>;

} // namespace lumen::detail

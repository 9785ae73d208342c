// socket_bio: send(MSG_NOSIGNAL) and recv under an OpenSSL BIO.
#include "net/socket_bio.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

namespace lumen::detail {

namespace {

int fd_of(BIO* b) {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b)));
}

/// Errors that only mean "later" (as OpenSSL's own socket BIO judges them:
/// a connection still being made counts too).
bool would_block(int e) {
  return e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == ENOTCONN ||
         e == EINPROGRESS || e == EALREADY || e == EPROTO;
}

int bio_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  auto n = ::send(fd_of(b), data, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (n < 0) {
    if (would_block(errno))
      BIO_set_retry_write(b);
    return -1;
  }
  return static_cast<int>(n);
}

int bio_read(BIO* b, char* data, int len) {
  BIO_clear_retry_flags(b);
  auto n = ::recv(fd_of(b), data, static_cast<size_t>(len), 0);
  if (n < 0) {
    if (would_block(errno))
      BIO_set_retry_read(b);
    return -1;
  }
  return static_cast<int>(n); // 0: the peer closed
}

long bio_ctrl(BIO*, int cmd, long, void*) {
  // Writes go straight to the socket: nothing to flush. Other requests
  // (kTLS, duplication, ...) are not supported.
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

BIO_METHOD* method() {
  static BIO_METHOD* m = [] {
    auto* x =
      BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "lumen socket");
    if (x == nullptr)
      return x;
    BIO_meth_set_write(x, bio_write);
    BIO_meth_set_read(x, bio_read);
    BIO_meth_set_ctrl(x, bio_ctrl);
    BIO_meth_set_create(x, bio_create);
    return x;
  }();
  return m;
}

} // namespace

BIO* make_socket_bio(int fd) {
  auto* m = method();
  if (m == nullptr)
    return nullptr;
  auto* b = BIO_new(m);
  if (b != nullptr)
    BIO_set_data(b, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
  return b;
}

BIO* make_buffered_socket_bio(int fd, int buffer_size) {
  auto* sock = make_socket_bio(fd);
  if (sock == nullptr)
    return nullptr;
  auto* buf = BIO_new(BIO_f_buffer());
  if (buf == nullptr || BIO_set_write_buffer_size(buf, buffer_size) != 1) {
    BIO_free(buf);
    BIO_free(sock);
    return nullptr;
  }
  BIO_push(buf, sock); // freeing `buf` with BIO_free_all frees both
  return buf;
}

} // namespace lumen::detail

// socket_bio: an OpenSSL BIO on a non-blocking socket that never raises
// SIGPIPE (it sends with MSG_NOSIGNAL), for the object channel's TLS
// sessions (tls_transport.cpp). OpenSSL's own socket BIO writes with
// write(2), so every TLS call on it must block SIGPIPE around it: three
// system calls (two sigprocmask, one sigtimedwait) per TLS record, that
// is about 12,000 per 64 MiB on each side of a transfer.
//
// Sending each 16 KiB record with a system call of its own also costs: on
// loopback, moving 64 MiB in 16 KiB sends took about 1.6 times the CPU
// time of 1 MiB sends (docs/performance.md), so the object channel's
// sessions write through a buffer (make_buffered_socket_bio).
//
// Thread safety: a BIO is used by one thread at a time, like its SSL.
#pragma once

#include <openssl/bio.h>

namespace lumen::detail {

/// A BIO reading and writing `fd` (not closed by the BIO); null if
/// OpenSSL has no memory.
BIO* make_socket_bio(int fd);

/// A BIO writing `fd` through a buffer of `buffer_size` bytes (OpenSSL's
/// BIO_f_buffer over a socket BIO): TLS records are sent about
/// `buffer_size` bytes at a time instead of one system call per 16 KiB
/// record. What is buffered leaves on BIO_flush, which, like a write, may
/// have to be retried once the socket takes more. Null if OpenSSL has no
/// memory.
BIO* make_buffered_socket_bio(int fd, int buffer_size);

} // namespace lumen::detail

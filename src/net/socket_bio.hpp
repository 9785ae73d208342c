// socket_bio: an OpenSSL BIO on a non-blocking socket that never raises
// SIGPIPE (it sends with MSG_NOSIGNAL), for the object channel's TLS
// sessions (tls_transport.cpp). OpenSSL's own socket BIO writes with
// write(2), so every TLS call on it must block SIGPIPE around it: three
// system calls (two sigprocmask, one sigtimedwait) per TLS record, that
// is about 12,000 per 64 MiB on each side of a transfer.
//
// Thread safety: a BIO is used by one thread at a time, like its SSL.
#pragma once

#include <openssl/bio.h>

namespace lumen::detail {

/// A BIO reading and writing `fd` (not closed by the BIO); null if
/// OpenSSL has no memory.
BIO* make_socket_bio(int fd);

} // namespace lumen::detail

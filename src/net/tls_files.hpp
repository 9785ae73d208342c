// The TLS files of a node, checked before CAF's OpenSSL module uses them:
// CAF reads them again for every connection, and a file it cannot use
// there ends the process (or, with no files at all, it silently falls
// back to anonymous, unauthenticated ciphers: TOOLCHAIN.md). So a node
// with TLS configured checks every file first and refuses to start with
// the file and the problem named.
//
// Thread safety: plain functions.
#pragma once

#include <string>

#include "lumen/config.hpp"

namespace lumen::detail {

/// Whether any of certificate, key and CA is given.
bool tls_configured(const tls_config& tls);

/// Throws lumen::error naming the file and the problem unless all three
/// files are given and usable: the certificate (and any chain after it)
/// and the CA file are PEM certificates; the key is an unencrypted PEM
/// private key that matches the certificate and that users other than its
/// owner cannot read; the certificate verifies against the CA (signature,
/// validity dates) and may serve as a TLS server and as a TLS client,
/// since every node is both.
void check_tls_files(const tls_config& tls);

/// OpenSSL's queued errors as text (empty if none), the queue emptied.
std::string openssl_errors();

} // namespace lumen::detail

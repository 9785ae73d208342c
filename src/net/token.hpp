// The cluster token: a shared secret a node or driver presents to the
// head before the GCS accepts it (README "Security").
//
// Thread safety: plain functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lumen::detail {

/// Fewest characters a token may have.
inline constexpr std::size_t min_token_length = 16;

/// Whether `a` and `b` are equal, in time that depends on neither's
/// content: both are hashed (SHA-256) and the digests compared with
/// CRYPTO_memcmp, so neither a common prefix nor the lengths show in the
/// timing beyond the cost of hashing.
bool constant_time_equal(std::string_view a, std::string_view b);

/// Throws lumen::error "<origin>: ..." unless `token` has at least
/// min_token_length characters, all printable ASCII without spaces.
void check_token(const std::string& token, const std::string& origin);

/// The token in file `path`, without surrounding white space. Throws
/// lumen::error naming the file if it cannot be read, if users other than
/// its owner may read or write it (chmod 600), or if check_token fails.
std::string read_token_file(const std::string& path);

/// A fresh token: 64 hex digits from OpenSSL's RAND_bytes.
std::string random_token();

} // namespace lumen::detail

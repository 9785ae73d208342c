// The safe default for listening ports: a node listens on loopback unless
// told otherwise, and listens anywhere else only with TLS and a cluster
// token, or with an explicit override for a trusted network.
//
// Thread safety: plain functions.
#pragma once

#include <string>

namespace lumen::detail {

/// Whether `host` reaches this machine only: an IPv4 address in
/// 127.0.0.0/8, `::1` or `localhost`. Anything else (another address, a
/// host name, `0.0.0.0`, `::`, empty for "every interface") is not.
bool is_loopback_host(const std::string& host);

/// What a node that wants to listen has configured.
struct listen_security {
  /// TLS with certificate, key and CA.
  bool tls = false;
  /// A cluster token.
  bool token = false;
  /// The explicit override (`allow-insecure-network`).
  bool allow_insecure_network = false;
};

/// Empty if a node may listen on `host` with `sec`; otherwise why not,
/// with how to configure TLS and a token, and how to override the check.
/// Loopback is always allowed; any other address needs TLS and a token,
/// or the override.
std::string listen_refusal(const std::string& host, const listen_security& sec);

} // namespace lumen::detail

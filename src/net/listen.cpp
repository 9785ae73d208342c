// The listening rule of listen.hpp.
#include "net/listen.hpp"

#include <arpa/inet.h>

namespace lumen::detail {

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1")
    return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

std::string listen_refusal(const std::string& host,
                           const listen_security& sec) {
  if (is_loopback_host(host) || sec.allow_insecure_network ||
      (sec.tls && sec.token))
    return {};
  std::string missing = !sec.tls && !sec.token ? "TLS and a cluster token"
                        : !sec.tls             ? "TLS"
                                               : "a cluster token";
  return "refusing to listen on " +
         (host.empty() ? std::string{"every interface"} : "'" + host + "'") +
         " without " + missing +
         ": anyone who reaches the port could join the cluster and run code "
         "on it. Nodes listen on 127.0.0.1 unless told otherwise; to listen "
         "on another address, configure TLS and a token: `lumen tls init "
         "DIR` makes a cluster CA, node certificates and DIR/token; give "
         "each node tls-certificate, tls-key, tls-ca and token-file (see "
         "configs/tls/; drivers: LUMEN_TLS_CERTIFICATE, LUMEN_TLS_KEY, "
         "LUMEN_TLS_CA, LUMEN_TOKEN). Only on a trusted, closed network, "
         "allow-insecure-network = true (--allow-insecure-network, "
         "LUMEN_ALLOW_INSECURE_NETWORK=1) turns this check off";
}

} // namespace lumen::detail

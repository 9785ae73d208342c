// resolve_security and check_security.
#include "node/node_security.hpp"

#include <cstdlib>
#include <string>

#include "lumen/error.hpp"
#include "net/listen.hpp"
#include "net/tls_files.hpp"
#include "net/token.hpp"

namespace lumen::detail {

namespace {

std::string env(const char* name) {
  auto* value = std::getenv(name);
  return value != nullptr ? value : "";
}

} // namespace

void resolve_security(node_config& cfg) {
  auto& tls = cfg.base.tls;
  if (!tls_configured(tls)) {
    tls.certificate = env("LUMEN_TLS_CERTIFICATE");
    tls.key = env("LUMEN_TLS_KEY");
    tls.ca = env("LUMEN_TLS_CA");
  }
  if (!cfg.token_file.empty()) {
    if (!cfg.base.token.empty())
      throw error("give the cluster token either as token or in "
                  "token-file, not both");
    cfg.base.token = read_token_file(cfg.token_file);
  } else if (cfg.base.token.empty()) {
    cfg.base.token = env("LUMEN_TOKEN");
  }
  auto insecure = env("LUMEN_ALLOW_INSECURE_NETWORK");
  if (insecure == "1" || insecure == "true")
    cfg.allow_insecure_network = true;
}

void check_security(const node_config& cfg) {
  auto& tls = cfg.base.tls;
  if (tls_configured(tls))
    check_tls_files(tls);
  if (!cfg.base.token.empty())
    check_token(cfg.base.token, "token");
  auto why =
    listen_refusal(cfg.host, {tls_configured(tls), !cfg.base.token.empty(),
                              cfg.allow_insecure_network});
  if (!why.empty())
    throw error(why);
}

} // namespace lumen::detail

// A node's security settings, complete and checked before it opens a port:
// TLS files, the cluster token and the listening rule (listen.hpp).
//
// Thread safety: plain functions.
#pragma once

#include "node/node_config.hpp"

namespace lumen::detail {

/// Completes `cfg` from the environment and the token file: TLS files from
/// $LUMEN_TLS_CERTIFICATE, $LUMEN_TLS_KEY and $LUMEN_TLS_CA when the config
/// names none; the token from `token_file` or, when neither it nor
/// `base.token` is given, $LUMEN_TOKEN; `allow_insecure_network` also from
/// $LUMEN_ALLOW_INSECURE_NETWORK=1 (or true). Throws lumen::error if both
/// a token and a token file are given or the file cannot be used.
void resolve_security(node_config& cfg);

/// Throws lumen::error unless a node may start with `cfg` (after
/// resolve_security): the TLS files pass check_tls_files when any is
/// given, the token passes check_token when given, and the node may
/// listen on `cfg.host` (listen_refusal).
void check_security(const node_config& cfg);

} // namespace lumen::detail

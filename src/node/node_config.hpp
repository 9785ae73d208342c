// How one node process starts: the user-facing `lumen::config` plus what
// only the launcher sets (role, listening address, libraries to load).
//
// Thread safety: a plain value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gcs/failure_detector.hpp"
#include "lumen/config.hpp"

namespace lumen::detail {

/// Default cluster port of a head node.
inline constexpr std::uint16_t default_cluster_port = 6390;

struct node_config {
  /// Resources, object store size and, for a joining node, the head's
  /// address (`base.address`, HOST:PORT).
  config base;
  /// Whether this node is the head (runs the GCS, listens on `port`).
  bool head = false;
  /// Whether this node is a user program (lumen::init) rather than a node
  /// started by `lumen start`; a joining driver offers no CPUs by default.
  bool driver = false;
  /// Address every listening port binds to.
  std::string host = "127.0.0.1";
  /// The head's cluster port; 0 picks a free one.
  std::uint16_t port = default_cluster_port;
  /// Shared libraries whose LUMEN_REMOTE registrations this node gains.
  std::vector<std::string> load;
  /// Where the node writes its node file (pid, role, address) for
  /// `lumen stop` and `lumen status`; empty: runtime_dir_default().
  std::string runtime_dir;
  /// A head's durable GCS tables (RocksDB); empty:
  /// `<runtime_dir>/gcs-<port>`, or memory only for port 0 (a port that
  /// changes with every start leaves nothing to reconnect to). A head
  /// started again with the same config finds its tables there
  /// (gcs_dir_of, below).
  std::string gcs_dir;
  /// A file holding the cluster token (read at start; only its owner may
  /// read it); excludes `base.token`.
  std::string token_file;
  /// Lets the node listen on an address other than loopback without TLS
  /// and a token: only for a trusted, closed network (net/listen.hpp).
  bool allow_insecure_network = false;
  /// A head's failure detector (`failure-phi`, `failure-grace-ms`): when a
  /// silent or cut-off node is suspected, and how long it stays so before
  /// it is declared dead.
  failure_detector_config failure{};
};

/// `$LUMEN_RUNTIME_DIR`, else `/tmp/lumen-<uid>`.
std::string runtime_dir_default();

/// Where a head keeps its tables: `cfg.gcs_dir` if set, else
/// `<runtime dir>/gcs-<port>`; "" (memory only) for a head started with
/// port 0 and no gcs_dir, whose port changes with every start, so nothing
/// could reconnect to a restarted one.
std::string gcs_dir_of(const node_config& cfg);

} // namespace lumen::detail

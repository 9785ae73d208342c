// The small cluster the multi-node workloads of `lumen microbenchmark`
// start: this process becomes a head node (an ephemeral port, so its GCS
// tables are memory only unless lineage is write_ahead) and further nodes
// run MPI-style as child processes of this same binary (`lumen
// microbenchmark --internal-node ADDRESS DIR`), so every node knows the
// same LUMEN_REMOTE functions.
//
// Thread safety: call from the benchmark's main thread.
#pragma once

#include <string>

#include <sys/types.h>

#include "lumen/config.hpp"

namespace lumen::cli::bench {

/// A node run as a child process; stopped (SIGTERM, then SIGKILL) and its
/// directory removed on destruction. Its output goes to a log file in that
/// directory.
class child_node {
 public:
  /// With `tls_dir` (a `lumen tls init` directory) the node uses TLS.
  child_node(const std::string& binary, const std::string& head_address,
             const std::string& tls_dir = {});
  ~child_node();

  child_node(const child_node&) = delete;
  child_node& operator=(const child_node&) = delete;

  /// Whether the child has ended (then: its log in `*log`).
  bool ended(std::string* log);

  /// SIGTERM, then SIGKILL after 10 s; waits for it.
  void stop();

  /// SIGKILL at once (a crash, as far as the cluster can tell); waits for
  /// it. Returns false if it had already ended.
  bool kill();

 private:
  std::string dir_;
  std::string log_;
  pid_t pid_ = -1;
};

/// Starts the head node in this process with lineage `mode`; returns its
/// address. Stop it with lumen::shutdown (head_guard).
std::string start_head(lumen::lineage_mode mode,
                       const lumen::tls_config& tls = {});

/// Stops the embedded head however the workloads end.
struct head_guard {
  ~head_guard();
};

/// The id of a live node other than this one, waiting up to 30 s; throws
/// bench::failure (with the child's log if it ended).
std::string wait_for_other_node(child_node& child);

} // namespace lumen::cli::bench

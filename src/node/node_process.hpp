// Running a node as a process of its own (`lumen start`), and asking a
// running cluster for its status (`lumen status`).
//
// Thread safety: run_node is called once per process; query_status from
// any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "node/node_config.hpp"
#include "wire/cluster_types.hpp"

namespace lumen::detail {

/// Starts this process's runtime from `cfg` (what lumen::init does after
/// reading the environment); throws lumen::error if one is running.
void start_runtime(const node_config& cfg);

/// Loads each library in `paths` (dlopen, RTLD_NOW | RTLD_GLOBAL) so that
/// its LUMEN_REMOTE registrations run; throws lumen::error naming the path
/// and dlerror() for one that does not load.
void load_libraries(const std::vector<std::string>& paths);

/// Starts the node described by `cfg` in this process (as lumen::init
/// would, so tasks on it can use the whole API), writes its node file,
/// logs `<role> node <id> listening on <host:port>` (info), and runs until
/// SIGTERM or SIGINT; then shuts down in order, removes the node file and
/// returns 0. Returns 1 after logging the reason (error) if it cannot
/// start.
int run_node(const node_config& cfg);

/// The cluster as the head sees it.
struct cluster_status {
  /// Every node of the head's view (node_record: wire/cluster_types.hpp).
  std::vector<node_record> nodes;
  /// Resource shapes of tasks and actors no live node can ever hold, with
  /// how many wait for each, e.g. {"{CPU: 64}", 1}.
  std::vector<std::pair<std::string, std::size_t>> infeasible;
  /// Actors by state: "alive", "pending", "restarting", "dead".
  std::map<std::string, std::size_t> actors;
  /// Task specs whose lineage the GCS has committed.
  std::uint64_t committed_lineage = 0;
};

/// Connects to the head at `address` (HOST:PORT), through TLS when
/// `security.tls` names files, presents `security.token`, and fetches its
/// view; throws lumen::error if it cannot connect, is not admitted, or the
/// head does not answer within `timeout`.
cluster_status query_status(const std::string& address,
                            std::chrono::milliseconds timeout,
                            const config& security = {});

} // namespace lumen::detail

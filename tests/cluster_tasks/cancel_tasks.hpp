// Functions the cancel cluster tests run on node processes (loaded with
// the rest of lumen_cluster_test_tasks). Each writes what it did to a
// file, so that the test sees it from outside the node.
#pragma once

#include <string>

#include <lumen/actor.hpp>

namespace cancel_tasks {

/// Appends "start <node id>" to `path`, loops until lumen::cancelled() or
/// `max_ms` pass, then appends "cancelled" or "timeout"; returns the node
/// id.
std::string spin(std::string path, int max_ms);

/// Appends "ran" to `path`; returns 1.
int mark(std::string path);

/// Submits `kids` spin tasks (writing `path`.0, `path`.1, ...), each to the
/// node `kid_node` (any node if empty), then spins on `path` itself.
std::string parent(std::string path, int kids, std::string kid_node,
                   int max_ms);

/// An actor whose calls spin or mark, as the functions above.
struct Spinner {
  static Spinner* create();

  std::string spin(std::string path, int max_ms);

  int mark(std::string path);
};

} // namespace cancel_tasks

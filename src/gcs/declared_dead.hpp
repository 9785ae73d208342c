// What a node does once the GCS has declared it dead.
//
// A node the head declared dead (it was stopped, starved or cut off for
// longer than the failure detector's grace, failure_detector.hpp) is out
// of the cluster for good: its objects and actors were given up as lost,
// and the GCS refuses it under the same id. It learns so in one of two
// ways: the GCS's last view names it dead (sent to its cluster link when
// it is declared dead, and again when its heartbeats still come), or the
// GCS refuses its registration after a reconnect (gcs_client). Both end
// here, in `declared_dead`, which logs the reason once and runs the
// process's handler once.
//
// A node started by `lumen start` (run_node) installs a handler that ends
// the process with `declared_dead_exit_status` (after a normal shutdown),
// so that a supervisor (systemd's Restart=on-failure, a container
// runtime) starts it again as a new node with a new id
// (docs/fault-tolerance.md). Without a handler (a driver), the error is
// logged and the program goes on outside the cluster.
//
// Thread safety: both functions may be called from any thread; the handler
// runs at most once per process, on the thread of the first call.
#pragma once

#include <functional>
#include <string>

namespace lumen::detail {

/// Exit status of a `lumen start` node that ended because the GCS
/// declared it dead (EX_TEMPFAIL of sysexits.h: start it again).
inline constexpr int declared_dead_exit_status = 75;

/// Sets what this process does once its node is declared dead (replaces
/// the previous handler; an empty one restores the default).
void set_declared_dead_handler(std::function<void(const std::string&)> f);

/// Node `node_id` (this process's) was declared dead by the GCS, for
/// `why`: logs it and runs the handler, the first time only.
void declared_dead(const std::string& node_id, const std::string& why);

/// Forgets that the node was declared dead (a new runtime in the same
/// process, e.g. after lumen::shutdown and init again).
void reset_declared_dead();

} // namespace lumen::detail

// Starting and stopping Lumen in this process.
//
// `init()` starts the embedded one-node cluster (this process is head,
// worker and driver); `init(config)` sizes it or, with an address, joins a
// cluster. `shutdown()` stops the runtime in ordered stages: no new tasks,
// blocked `get` calls fail with lumen::error, worker threads drain, system
// actors stop. `init_guard` pairs the two for a scope.
//
// Thread safety: call init and shutdown from one thread, not concurrently
// with each other; everything else may run on any thread in between.
#pragma once

#include "lumen/config.hpp"

namespace lumen {

/// Starts the embedded one-node cluster sized from this machine.
void init();

/// Starts Lumen with `cfg`; throws lumen::error if already running or if
/// `cfg` is invalid.
void init(const config& cfg);

/// Stops Lumen; does nothing if it is not running.
void shutdown();

/// Whether init has run and shutdown has not.
bool is_initialized() noexcept;

/// Calls init on construction and shutdown on destruction.
class init_guard {
 public:
  init_guard() {
    init();
  }

  explicit init_guard(const config& cfg) {
    init(cfg);
  }

  ~init_guard() {
    shutdown();
  }

  init_guard(const init_guard&) = delete;
  init_guard& operator=(const init_guard&) = delete;
};

} // namespace lumen

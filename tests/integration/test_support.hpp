// Helpers shared by the integration tests: polling, gates that hold tasks
// back until a test opens them, and views of the embedded runtime's state.
//
// Everything waits with a deadline, so a broken runtime makes a test fail
// instead of hang.
#pragma once

// The tests write configs as the README does, `lumen::config{.num_cpus = 2}`.
// GCC 12's -Wextra flags every field such a designated initializer leaves
// out (-Wmissing-field-initializers), and the build uses -Werror; the
// omitted fields take their defaults, which is the point. Silence it for
// the files that include this header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif

#include <atomic>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <string>
#include <thread>

#include "lumen/lumen.hpp"
#include "node/embedded_runtime.hpp"

namespace lumen_it {

using namespace std::chrono_literals;

/// How long a test waits for something that should happen promptly.
inline constexpr auto patience = std::chrono::seconds(30);

/// Polls `pred` until it holds or `timeout` passes; returns its last value.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = patience) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred())
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return pred();
    std::this_thread::sleep_for(2ms);
  }
}

/// A flag that tasks wait on. `wait` returns true once the gate opens and
/// false if it stays closed for `timeout` (so no task blocks forever).
class gate {
 public:
  void open() {
    open_.store(true);
  }

  void close() {
    open_.store(false);
  }

  bool is_open() const {
    return open_.load();
  }

  bool wait(std::chrono::milliseconds timeout = patience) const {
    return eventually(
      [this] {
        return open_.load();
      },
      timeout);
  }

 private:
  std::atomic<bool> open_{false};
};

/// Counts the tasks inside a section and remembers the highest count.
class occupancy {
 public:
  void enter() {
    auto now = ++current_;
    auto prev = peak_.load();
    while (now > prev && !peak_.compare_exchange_weak(prev, now)) {
    }
    ++entered_;
  }

  void leave() {
    --current_;
  }

  int current() const {
    return current_.load();
  }

  int peak() const {
    return peak_.load();
  }

  int entered() const {
    return entered_.load();
  }

  void reset() {
    current_ = 0;
    peak_ = 0;
    entered_ = 0;
  }

 private:
  std::atomic<int> current_{0};
  std::atomic<int> peak_{0};
  std::atomic<int> entered_{0};
};

/// Waits until `n` tasks have entered `o` (or `timeout` passes).
inline bool await_entered(const occupancy& o, int n,
                          std::chrono::milliseconds timeout = patience) {
  return eventually(
    [&] {
      return o.entered() >= n;
    },
    timeout);
}

/// The running embedded runtime's state (objects, resources, queues).
inline lumen::detail::node_stats snapshot() {
  auto* rt = lumen::detail::current_embedded_runtime();
  if (rt == nullptr)
    throw lumen::not_initialized_error("no embedded runtime");
  return rt->snapshot();
}

/// Objects currently in the object table (ready or pending).
inline std::size_t object_count() {
  return snapshot().objects;
}

/// Waits until the object table holds `n` objects; returns the last count.
inline std::size_t
await_object_count(std::size_t n,
                   std::chrono::milliseconds timeout = patience) {
  std::size_t last = 0;
  eventually(
    [&] {
      last = object_count();
      return last == n;
    },
    timeout);
  return last;
}

/// Waits until no task runs, waits or is queued on the node.
inline bool await_idle(std::chrono::milliseconds timeout = patience) {
  return eventually(
    [] {
      auto s = snapshot();
      return s.running == 0 && s.queued == 0;
    },
    timeout);
}

/// Resident set size of this process in bytes, from /proc/self/status.
inline std::size_t resident_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoul(line.substr(6)) * 1024; // the value is in kB
  }
  return 0;
}

} // namespace lumen_it

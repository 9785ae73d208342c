// What `lumen stop` does: stop the nodes this machine started (those with a
// node file under the runtime directory), workers first and the head last,
// gracefully with SIGTERM, then with SIGKILL after a timeout; and clear away
// node files whose process is gone.
//
// Header-only, so that unit tests can use it without linking the tool.
//
// Thread safety: plain functions; run one `stop_nodes` per runtime
// directory at a time.
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <csignal>
#include <sys/types.h>

#include "cli/node_file.hpp"
#include "cli/status_format.hpp"

namespace lumen::cli {

namespace detail_stop {

inline std::string describe(const node_file& f) {
  return f.role + " node " + f.id + " at " + f.address + " (pid " +
         std::to_string(f.pid) + ")";
}

inline void remove_file(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

/// Waits until none of `nodes` is alive or `timeout` passes; returns those
/// still alive.
inline std::vector<node_file> wait_for_exit(std::vector<node_file> nodes,
                                            std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    nodes.erase(std::remove_if(nodes.begin(), nodes.end(),
                               [](auto& f) {
                                 return !process_alive(f.pid);
                               }),
                nodes.end());
    if (nodes.empty() || std::chrono::steady_clock::now() >= deadline)
      return nodes;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

/// SIGTERMs `nodes`, waits up to `timeout`, SIGKILLs the rest; returns how
/// many could not be stopped.
inline int stop_group(std::vector<node_file> nodes,
                      std::chrono::milliseconds timeout, std::ostream& out) {
  int failures = 0;
  std::vector<node_file> signalled;
  for (auto& f : nodes) {
    if (::kill(f.pid, SIGTERM) != 0) {
      out << "cannot stop " << describe(f) << ": " << std::strerror(errno)
          << "\n";
      ++failures;
      continue;
    }
    out << "stopping " << describe(f) << "\n";
    signalled.push_back(f);
  }
  auto left = wait_for_exit(signalled, timeout);
  for (auto& f : left) {
    out << describe(f) << " did not stop within "
        << format_amount(static_cast<double>(timeout.count()) / 1000)
        << " s: sending SIGKILL\n";
    ::kill(f.pid, SIGKILL);
  }
  for (auto& f : wait_for_exit(left, std::chrono::seconds(5))) {
    out << "cannot stop " << describe(f) << ": still running after SIGKILL\n";
    ++failures;
  }
  for (auto& f : signalled) {
    if (process_alive(f.pid))
      continue;
    // A node removes its own file on a graceful exit; not after SIGKILL.
    remove_file(f.path);
    out << "stopped " << describe(f) << "\n";
  }
  return failures;
}

} // namespace detail_stop

/// Stops the nodes with node files under `runtime_dir`: SIGTERM to every
/// worker, up to `timeout` for them to exit, SIGKILL to those left; then the
/// same for head nodes. Node files of processes that are gone (or whose pid
/// a newer process took) are removed. Reports each step on `out`; returns 0,
/// or 1 if a node could not be stopped.
inline int stop_nodes(const std::string& runtime_dir,
                      std::chrono::milliseconds timeout, std::ostream& out) {
  std::vector<bad_node_file> bad;
  auto files = read_node_files(runtime_dir, &bad);
  for (auto& b : bad) {
    // The file name is the pid; leave a file whose process still runs
    // (it may be in the middle of writing it).
    auto stem = std::filesystem::path{b.path}.stem().string();
    char* end = nullptr;
    long pid = std::strtol(stem.c_str(), &end, 10);
    if (*end == '\0' && process_alive(static_cast<pid_t>(pid))) {
      out << "skipping " << b.path << " (" << b.why << "; pid " << pid
          << " is running)\n";
      continue;
    }
    detail_stop::remove_file(b.path);
    out << "removed unreadable node file " << b.path << " (" << b.why << ")\n";
  }
  std::vector<node_file> workers;
  std::vector<node_file> heads;
  for (auto& f : files) {
    if (!node_alive(f)) {
      detail_stop::remove_file(f.path);
      out << "removed stale node file " << f.path << " (pid " << f.pid
          << " is gone)\n";
      continue;
    }
    (f.head() ? heads : workers).push_back(f);
  }
  if (workers.empty() && heads.empty()) {
    out << "no running nodes under " << runtime_dir << "\n";
    return 0;
  }
  int failures = detail_stop::stop_group(workers, timeout, out);
  failures += detail_stop::stop_group(heads, timeout, out);
  return failures == 0 ? 0 : 1;
}

} // namespace lumen::cli

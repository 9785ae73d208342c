// A real cluster for a test: a head and workers started with the `lumen`
// tool as separate processes on 127.0.0.1 (ephemeral ports), in a runtime
// directory of their own, stopped with `lumen stop` when the test ends.
// The nodes are children of the test process that die with it, should it
// crash or be killed (node_spawner.hpp).
#pragma once

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

#include <lumen/lumen.hpp>

#include "node_spawner.hpp"

namespace cluster_it {

/// One node file: pid, role, id, address.
using node_file = std::map<std::string, std::string>;

/// Runs a shell command; returns its exit status and output.
inline std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  auto* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr)
    return {-1, out};
  char buf[4096];
  while (auto n = fread(buf, 1, sizeof(buf), p))
    out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// The node files (`<dir>/nodes/*.node`) that have a pid and `key`.
inline std::vector<node_file> read_node_files(const std::string& dir,
                                              const std::string& key) {
  std::vector<node_file> result;
  auto nodes_dir = dir + "/nodes";
  if (auto* d = opendir(nodes_dir.c_str())) {
    while (auto* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.size() < 5 || name.substr(name.size() - 5) != ".node")
        continue;
      std::ifstream in{nodes_dir + "/" + name};
      node_file f;
      std::string line;
      while (std::getline(in, line))
        if (auto eq = line.find('='); eq != std::string::npos)
          f[line.substr(0, eq)] = line.substr(eq + 1);
      if (f.count("pid") && f.count(key))
        result.push_back(std::move(f));
    }
    closedir(d);
  }
  return result;
}

class test_cluster {
 public:
  /// Starts a head and `workers` workers, each offering `cpus` CPUs;
  /// `worker_extra` is appended to each worker's command line, and
  /// `node_extra` to every node's (head, workers and replacements), e.g.
  /// "--load libmore_tasks.so"; `head_extra` to the head's only (e.g. its
  /// own TLS certificate).
  explicit test_cluster(int workers, int cpus = 2,
                        const std::vector<std::string>& worker_extra = {},
                        const std::string& node_extra = {},
                        const std::string& head_extra = {}) {
    char tmpl[] = "/tmp/lumen-it-XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    if (std::getenv("LUMEN_TEST_KEEP_DIR") != nullptr)
      std::fprintf(stderr, "test_cluster: runtime dir %s\n", dir_.c_str());
    common_ = " --runtime-dir " + dir_ + " --num-cpus " + std::to_string(cpus) +
              " --load " + LUMEN_CLUSTER_TASKS_LIB +
              (node_extra.empty() ? "" : " " + node_extra);
    try {
      start("--head --port 0" +
            (head_extra.empty() ? std::string{} : " " + head_extra));
      address_ = head().at("address");
      for (int i = 0; i < workers; ++i)
        add_worker(i < static_cast<int>(worker_extra.size())
                     ? worker_extra[static_cast<std::size_t>(i)]
                     : std::string{});
    } catch (...) {
      teardown(); // no destructor runs for a half-made cluster
      throw;
    }
  }

  ~test_cluster() {
    teardown();
  }

  /// Stops every node (`lumen stop`, then SIGKILL for anything it missed)
  /// and removes the runtime directory, unless LUMEN_TEST_KEEP_DIR is set
  /// (to read the nodes' logs after a failure). Runs once; the destructor
  /// calls it, and a watchdog may call it from another thread earlier.
  void teardown() {
    std::call_once(torn_down_, [this] {
      run(std::string{LUMEN_CLI_PATH} + " stop --timeout 10 --runtime-dir " +
          dir_);
      for (auto& f : nodes()) // anything `stop` missed
        ::kill(std::stoi(f.at("pid")), SIGKILL);
      if (std::getenv("LUMEN_TEST_KEEP_DIR") != nullptr)
        std::fprintf(stderr, "test_cluster: kept %s\n", dir_.c_str());
      else
        run("rm -rf " + dir_);
    });
  }

  test_cluster(const test_cluster&) = delete;
  test_cluster& operator=(const test_cluster&) = delete;

  const std::string& address() const {
    return address_;
  }

  const std::string& dir() const {
    return dir_;
  }

  /// The node files present now.
  std::vector<node_file> nodes() const {
    return read_node_files(dir_, "address");
  }

  node_file head() const {
    for (auto& f : nodes())
      if (f.count("role") && f.at("role") == "head")
        return f;
    throw std::runtime_error("no head node file in " + dir_);
  }

  /// Starts one more worker (the CPUs and libraries of the others, plus
  /// `extra` on its command line), e.g. to replace a killed one; returns
  /// once its node file is written. Throws if it does not start.
  void add_worker(const std::string& extra = {}) {
    start("--address " + address_ + (extra.empty() ? "" : " " + extra));
  }

  /// Runs `lumen <args>` and returns its exit status and output.
  std::pair<int, std::string> cli(const std::string& args) const {
    return run(std::string{LUMEN_CLI_PATH} + " " + args);
  }

  /// Waits (bounded) until a driver sees `n` live non-driver nodes.
  static bool
  wait_for_nodes(std::size_t n,
                 std::chrono::seconds limit = std::chrono::seconds(30)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      std::size_t live = 0;
      for (auto& info : lumen::nodes())
        if (info.alive && !info.driver)
          ++live;
      if (live >= n)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

 private:
  /// Starts a node as a child of this process that dies with it
  /// (node_spawner.hpp); returns once its node file is written.
  void start(const std::string& args) {
    node_spawner::instance().start(
      LUMEN_CLI_PATH, dir_, args.rfind("--head", 0) == 0 ? "head" : "worker",
      args + common_);
  }

  std::once_flag torn_down_;
  std::string dir_;
  std::string common_;
  std::string address_;
};

/// Tears the cluster down and ends the process if the test still runs after
/// `limit`: a test stuck for good (a `get` without timeout, a shutdown that
/// never ends) must not leave node processes behind, and ctest's timeout
/// kills only the test process. Declare it after the cluster and before the
/// init_guard, so that it watches lumen::shutdown too.
class watchdog {
 public:
  watchdog(test_cluster& cluster, std::chrono::seconds limit)
    : thread_{[this, &cluster, limit] {
        std::unique_lock<std::mutex> guard{mtx_};
        if (cv_.wait_for(guard, limit, [this] {
              return done_;
            }))
          return;
        std::fprintf(stderr,
                     "test_cluster watchdog: the test still runs after %lld s; "
                     "stopping its cluster and ending the process\n",
                     static_cast<long long>(limit.count()));
        cluster.teardown();
        std::_Exit(3);
      }} {}

  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  ~watchdog() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

} // namespace cluster_it

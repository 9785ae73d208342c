// A real cluster whose head can be SIGKILLed and started again with the
// same config: a port picked free up front and used for every start, a
// runtime directory of its own (so the same GCS directory,
// `<runtime dir>/gcs-<port>`), `lumen stop` and SIGKILL of every node it
// saw when the test ends, then the directory is removed. The nodes are
// children of the test process that die with it (node_spawner.hpp).
#pragma once

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <netinet/in.h>
#include <set>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "cluster_support.hpp"

namespace durable_it {

/// A TCP port on 127.0.0.1 that was free a moment ago.
inline std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// Whether process `pid` has ended (a zombie nobody reaped counts).
inline bool gone(int pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH)
    return true;
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  if (!std::getline(stat, line))
    return true;
  auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() &&
         line[paren + 2] == 'Z';
}

class restartable_cluster {
 public:
  restartable_cluster() : port_(free_port()) {
    char tmpl[] = "/tmp/lumen-durable-XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    address_ = "127.0.0.1:" + std::to_string(port_);
  }

  ~restartable_cluster() {
    cluster_it::run(std::string{LUMEN_CLI_PATH} +
                    " stop --timeout 10 --runtime-dir " + dir_);
    for (auto& f : nodes())
      seen_.insert(std::stoi(f.at("pid")));
    for (auto pid : seen_) // anything `stop` missed
      if (!gone(pid))
        ::kill(pid, SIGKILL);
    cluster_it::run("rm -rf " + dir_);
  }

  restartable_cluster(const restartable_cluster&) = delete;
  restartable_cluster& operator=(const restartable_cluster&) = delete;

  const std::string& address() const {
    return address_;
  }

  std::uint16_t port() const {
    return port_;
  }

  const std::string& dir() const {
    return dir_;
  }

  /// The head, with the same command line every time.
  void start_head() {
    start("--head --port " + std::to_string(port_) + " --num-cpus 0");
  }

  /// A worker joining the head, with `extra` options.
  void start_worker(const std::string& extra) {
    start("--address " + address_ + " " + extra);
  }

  /// SIGKILLs the head, waits (bounded) until it is gone and removes the
  /// node file it could not remove itself.
  void kill_head() {
    for (auto& f : nodes()) {
      if (f.at("role") != "head")
        continue;
      auto pid = std::stoi(f.at("pid"));
      seen_.insert(pid);
      ::kill(pid, SIGKILL);
      for (int i = 0; i < 200 && !gone(pid); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!gone(pid))
        throw std::runtime_error("the head did not die");
      std::remove((dir_ + "/nodes/" + std::to_string(pid) + ".node").c_str());
    }
  }

  /// The node files present now.
  std::vector<cluster_it::node_file> nodes() const {
    return cluster_it::read_node_files(dir_, "role");
  }

  /// Runs `lumen <args>` and returns its exit status and output.
  std::pair<int, std::string> cli(const std::string& args) const {
    return cluster_it::run(std::string{LUMEN_CLI_PATH} + " " + args);
  }

 private:
  /// Starts a node as a child of this process that dies with it
  /// (node_spawner.hpp); returns once its node file is written.
  void start(const std::string& args) {
    cluster_it::node_spawner::instance().start(
      LUMEN_CLI_PATH, dir_, args.rfind("--head", 0) == 0 ? "head" : "worker",
      args + " --runtime-dir " + dir_ + " --load " + LUMEN_CLUSTER_TASKS_LIB);
    for (auto& f : nodes())
      seen_.insert(std::stoi(f.at("pid")));
  }

  std::uint16_t port_;
  std::string dir_;
  std::string address_;
  std::set<int> seen_;
};

} // namespace durable_it

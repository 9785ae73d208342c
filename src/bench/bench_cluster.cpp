// The head-plus-child-nodes cluster of `lumen microbenchmark`.
#include "bench/bench_cluster.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lumen/lumen.hpp>

#include "bench/bench_harness.hpp"
#include "node/node_config.hpp"
#include "node/node_process.hpp"

namespace lumen::cli::bench {

child_node::child_node(const std::string& binary,
                       const std::string& head_address,
                       const std::string& tls_dir) {
  char tmpl[] = "/tmp/lumen-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  log_ = dir_ + "/node.log";
  std::vector<std::string> words{binary, "microbenchmark", "--internal-node",
                                 head_address, dir_};
  if (!tls_dir.empty())
    words.push_back(tls_dir);
  std::vector<char*> argv;
  for (auto& w : words)
    argv.push_back(w.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error(std::string{"cannot fork: "} +
                             std::strerror(errno));
  if (pid_ == 0) { // only async-signal-safe calls until exec
    int out = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = ::open("/dev/null", O_RDONLY);
    if (out < 0 || in < 0)
      ::_exit(127);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
}

child_node::~child_node() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

bool child_node::ended(std::string* log) {
  if (pid_ <= 0)
    return true;
  if (::waitpid(pid_, nullptr, WNOHANG) != pid_)
    return false;
  pid_ = -1;
  std::ifstream in{log_};
  std::ostringstream text;
  text << in.rdbuf();
  *log = text.str();
  return true;
}

void child_node::stop() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill();
}

bool child_node::kill() {
  if (pid_ <= 0)
    return false;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return true;
}

std::string start_head(lumen::lineage_mode mode, const lumen::tls_config& tls) {
  lumen::detail::node_config head;
  head.head = true;
  head.port = 0;
  head.base.lineage = mode;
  // The head runs in the benchmark's own process, whose stderr is the
  // user's terminal: as quiet as a driver unless --log-level says more.
  if (auto* env = std::getenv("LUMEN_LOG_LEVEL"); env == nullptr || !*env)
    head.base.log_level = lumen::default_driver_log_level;
  head.base.tls = tls;
  lumen::detail::start_runtime(head);
  for (auto& n : lumen::nodes())
    if (n.id == lumen::node_id() && !n.address.empty())
      return n.address;
  lumen::shutdown();
  throw failure("the head's address");
}

head_guard::~head_guard() {
  lumen::shutdown();
}

std::string wait_for_other_node(child_node& child) {
  auto self = lumen::node_id();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    for (auto& n : lumen::nodes())
      if (n.alive && !n.driver && n.id != self)
        return n.id;
    std::string log;
    if (child.ended(&log))
      throw failure("the second node ended before it joined:\n" + log);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw failure("the second node did not join within 30 s");
}

} // namespace lumen::cli::bench

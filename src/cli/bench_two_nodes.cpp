// Workloads across two nodes on loopback: this process becomes a head node
// (lumen::detail::start_runtime with head = true, an ephemeral port) and
// starts a second node MPI-style, as a child process running this same
// binary (`lumen microbenchmark --internal-node ADDRESS DIR`), so both
// nodes know the same LUMEN_REMOTE functions. Tasks, actors and objects
// are placed on the second node with node_affinity.
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lumen/lumen.hpp>

#include "cli/bench_remote.hpp"
#include "cli/bench_workloads.hpp"
#include "cluster/node_config.hpp"
#include "cluster/node_process.hpp"

namespace lumen_bench {

constexpr std::size_t transfer_bytes = 64u << 20;

/// The byte at `i` of the transfer pattern.
inline char pattern_at(std::size_t i) {
  return static_cast<char>((i * 131 + (i >> 12)) & 0xff);
}

/// The 64 MiB pattern, made once per process.
const std::vector<char>& transfer_pattern() {
  static const std::vector<char> bytes = [] {
    std::vector<char> b(transfer_bytes);
    for (std::size_t i = 0; i < b.size(); ++i)
      b[i] = pattern_at(i);
    return b;
  }();
  return bytes;
}

/// Checks `b` against the pattern at every 4 KiB and at its last byte;
/// returns the size if it matches, -1 if not.
long long check_pattern(const std::vector<char>& b) {
  if (b.size() != transfer_bytes)
    return -1;
  for (std::size_t i = 0; i < b.size(); i += 4096)
    if (b[i] != pattern_at(i))
      return -1;
  return b.back() == pattern_at(b.size() - 1) ? static_cast<long long>(b.size())
                                              : -1;
}

/// The node a task runs on.
std::string node_of_task() {
  return lumen::node_id();
}

/// A 64 MiB object made on the node the task runs on.
std::vector<char> make_64mib() {
  return transfer_pattern();
}

} // namespace lumen_bench

LUMEN_REMOTE(lumen_bench::check_pattern, lumen_bench::node_of_task,
             lumen_bench::make_64mib);

namespace lumen::cli::bench {

namespace {

constexpr double gigabyte = 1e9;

/// The second node, a child process; stopped (SIGTERM, then SIGKILL) and
/// its directory removed on destruction.
class child_node {
 public:
  child_node(const std::string& binary, const std::string& head_address) {
    char tmpl[] = "/tmp/lumen-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    log_ = dir_ + "/node.log";
    std::vector<std::string> words{binary, "microbenchmark", "--internal-node",
                                   head_address, dir_};
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

  ~child_node() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  child_node(const child_node&) = delete;
  child_node& operator=(const child_node&) = delete;

  /// Whether the child has ended (then: its log).
  bool ended(std::string* log) {
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

  void stop() {
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
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  std::string dir_;
  std::string log_;
  pid_t pid_ = -1;
};

/// The id of a live node other than this one, waiting up to 30 s.
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

/// Stops the embedded head however the workloads end.
struct head_guard {
  ~head_guard() {
    lumen::shutdown();
  }
};

std::vector<result> measure(const std::string& other, const timing& t,
                            const std::vector<bool>& wanted) {
  using lumen_bench::bench_actor;
  std::vector<result> out;
  auto names = two_node_metric_names();
  check_eq(
    lumen::get(
      lumen::task(lumen_bench::node_of_task).node_affinity(other).remote()),
    other, "node_affinity task ran on the second node");
  if (wanted[0])
    out.push_back(timeit(names[0], "/s", 1000, t, [&] {
      std::vector<lumen::object_ref<int>> refs;
      refs.reserve(1000);
      for (int i = 0; i < 1000; ++i)
        refs.push_back(
          lumen::task(lumen_bench::small_value).node_affinity(other).remote());
      lumen_bench::sum_checked(lumen::get(refs), 1000, names[0].c_str());
    }));
  if (wanted[1]) {
    auto a = lumen::actor(bench_actor::create).node_affinity(other).remote();
    out.push_back(timeit(names[1], "/s", 1000, t, [&] {
      std::vector<lumen::object_ref<int>> refs;
      refs.reserve(1000);
      for (int i = 0; i < 1000; ++i)
        refs.push_back(a.task(&bench_actor::small_value).remote());
      lumen_bench::sum_checked(lumen::get(refs), 1000, names[1].c_str());
    }));
  }
  auto mib64 = lumen_bench::transfer_bytes / gigabyte;
  if (wanted[2]) {
    auto& bytes = lumen_bench::transfer_pattern();
    out.push_back(timeit(names[2], "GB/s", mib64, t, [&] {
      auto r = lumen::task(lumen_bench::check_pattern)
                 .node_affinity(other)
                 .remote(lumen::put(bytes));
      check_eq(lumen::get(r), static_cast<long long>(bytes.size()),
               "64 MiB object as the second node read it");
    }));
  }
  if (wanted[3])
    out.push_back(timeit(names[3], "GB/s", mib64, t, [&] {
      auto r =
        lumen::task(lumen_bench::make_64mib).node_affinity(other).remote();
      check_eq(lumen_bench::check_pattern(lumen::get(r)),
               static_cast<long long>(lumen_bench::transfer_bytes),
               "64 MiB object made on the second node");
    }));
  return out;
}

} // namespace

std::vector<std::string> two_node_metric_names() {
  return {"two_node_tasks_async", "two_node_actor_calls_async",
          "two_node_object_push_64mib_gigabytes",
          "two_node_object_pull_64mib_gigabytes"};
}

std::vector<result> run_two_node_workloads(const std::string& lumen_binary,
                                           const timing& t,
                                           const std::vector<bool>& wanted) {
  lumen::detail::node_config head;
  head.head = true;
  head.port = 0;
  lumen::detail::start_runtime(head);
  head_guard stop_head;
  std::string address;
  for (auto& n : lumen::nodes())
    if (n.id == lumen::node_id())
      address = n.address;
  check(!address.empty(), "the head's address");
  child_node child{lumen_binary, address};
  auto other = wait_for_other_node(child);
  auto out = measure(other, t, wanted);
  // The head first: stopping the child first makes the head's GCS report
  // it dead on stderr.
  lumen::shutdown();
  child.stop();
  return out;
}

int run_bench_node(const std::string& head_address,
                   const std::string& runtime_dir) {
  lumen::detail::node_config cfg;
  cfg.base.address = head_address;
  cfg.runtime_dir = runtime_dir;
  return lumen::detail::run_node(cfg);
}

} // namespace lumen::cli::bench

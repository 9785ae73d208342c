// `lumen start`: starts a head node, or a node that joins a cluster, in the
// background (or in the foreground with --block).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/command_line.hpp"
#include "cli/node_file.hpp"
#include "cli/start_options.hpp"
#include "node/node_process.hpp"

namespace lumen::cli {

namespace {

/// How long `lumen start` waits for a node started in the background to
/// write its node file.
constexpr auto startup_timeout = std::chrono::seconds(30);

/// Lines of a node's log shown when it fails to start.
constexpr size_t log_tail_lines = 20;

constexpr const char* start_usage =
  "lumen start (--head | --address HOST:PORT) [options]";

constexpr const char* start_about =
  "Starts a Lumen node: a head node (--head), which runs the cluster's GCS\n"
  "and a worker, or a node that joins the cluster whose head listens at\n"
  "--address. The node runs in the background, logging to\n"
  "<runtime-dir>/logs/<role>-<pid>.log (or --log-file) at --log-level;\n"
  "--block keeps it in the foreground, logging to stderr. Every option can "
  "also be set in an INI file given with\n"
  "--config, keys without the dashes (num-cpus = 2, load = a.so, ...);\n"
  "the command line wins.";

/// The last `n` lines of file `path`, each indented.
std::string log_tail(const std::string& path, size_t n) {
  std::ifstream in{path};
  if (!in)
    return "  (no log at " + path + ")\n";
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
    if (lines.size() > n)
      lines.pop_front();
  }
  if (lines.empty())
    return "  (the log " + path + " is empty)\n";
  std::string out;
  for (auto& line : lines)
    out += "  | " + line + "\n";
  return out;
}

/// "exit status 1" or "signal 11 (Segmentation fault)".
std::string describe_exit(int status) {
  if (WIFEXITED(status))
    return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "status " + std::to_string(status);
}

/// Runs the node in this process until it is told to stop (run_node loads
/// its libraries); returns the exit status.
int run_here(const start_options& opts) {
  try {
    return lumen::detail::run_node(opts.node);
  } catch (const std::exception& e) {
    std::cerr << "lumen start: " << e.what() << std::endl;
    return 1;
  }
}

/// The child side of start_in_background: a session of its own, output to
/// the log, stdin from /dev/null; never returns.
[[noreturn]] void become_node(start_options opts, const std::string& log) {
  ::setsid();
  int out =
    ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || in < 0)
    ::_exit(127);
  ::dup2(in, STDIN_FILENO);
  ::dup2(out, STDOUT_FILENO);
  ::dup2(out, STDERR_FILENO);
  ::close(in);
  ::close(out);
  // The logger writes this file itself, so its lines carry time and level
  // (and nothing goes to it twice through stderr).
  if (opts.node.base.log_file.empty())
    if (auto* env = std::getenv("LUMEN_LOG_FILE"); env == nullptr || !*env)
      opts.node.base.log_file = log;
  std::exit(run_here(opts));
}

/// Tells the user what started and how to use it.
void report_started(const start_options& opts, const node_file& f,
                    const std::string& log) {
  std::cout << "lumen: started " << f.role << " node " << f.id
            << " listening on " << f.address << " (pid " << f.pid << ")\n";
  if (!opts.node.head)
    std::cout << "  joined the cluster at " << opts.node.base.address << "\n";
  std::cout << "  log: " << log << "\n";
  auto runtime = opts.node.runtime_dir == runtime_dir_from({})
                   ? std::string{}
                   : " --runtime-dir " + opts.node.runtime_dir;
  auto& node = opts.node;
  bool tls = !node.base.tls.certificate.empty();
  bool token = !node.base.token.empty() || !node.token_file.empty();
  if (node.head) {
    std::cout << "\nTo join another node to this cluster:\n"
              << "  lumen start --address " << f.address << runtime << "\n";
    if (tls || token)
      std::cout << "  (with "
                << (tls ? "a certificate of its own from the "
                          "same CA, --tls-ca"
                        : "")
                << (tls && token ? " and " : "")
                << (token ? "the cluster token" : "") << ")\n";
    std::cout << "To make a program a driver of this cluster:\n"
              << "  export LUMEN_ADDRESS=" << f.address << "\n";
    if (tls || token)
      std::cout << "  (and "
                << (tls ? "LUMEN_TLS_CERTIFICATE, LUMEN_TLS_KEY, "
                          "LUMEN_TLS_CA"
                        : "")
                << (tls && token ? ", " : "") << (token ? "LUMEN_TOKEN" : "")
                << ")\n";
  }
  std::cout << "To see the cluster:\n"
            << "  lumen status"
            << (opts.node.head ? " --address " + f.address
                               : " --address " + opts.node.base.address)
            << "\n"
            << "To stop the nodes started on this machine:\n"
            << "  lumen stop" << runtime << "\n";
}

/// Forks; the child becomes the node (see become_node). The parent waits
/// until the child's node file appears, the child exits or
/// startup_timeout passes, and reports.
int start_in_background(const start_options& opts) {
  auto& dir = opts.node.runtime_dir;
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error(std::string{"cannot fork: "} +
                             std::strerror(errno));
  auto log = dir + "/logs/" + opts.role() + "-" + std::to_string(pid) + ".log";
  if (pid == 0)
    become_node(opts, dir + "/logs/" + opts.role() + "-" +
                        std::to_string(::getpid()) + ".log");
  auto path = node_file_path(dir, pid).string();
  auto deadline = std::chrono::steady_clock::now() + startup_timeout;
  std::string why;
  for (;;) {
    if (auto f = read_node_file(path, &why)) {
      // Where its log lines go (its stderr, `log`, has only warnings then).
      auto shown = opts.node.base.log_file;
      if (auto* env = std::getenv("LUMEN_LOG_FILE"); shown.empty() && env)
        shown = env;
      report_started(opts, *f, shown.empty() ? log : shown);
      return 0;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      std::cerr << "lumen start: the " << opts.role() << " node (pid " << pid
                << ") ended with " << describe_exit(status)
                << " before it was up; its log " << log << " ends with:\n"
                << log_tail(log, log_tail_lines);
      return 1;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cerr << "lumen start: the " << opts.role() << " node (pid " << pid
            << ") did not write its node file " << path << " within "
            << startup_timeout.count() << " s";
  if (why != "cannot read it")
    std::cerr << " (it exists, but has " << why << ")";
  std::cerr << "; stopping it. Its log " << log << " ends with:\n";
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 100 && ::waitpid(pid, nullptr, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (::waitpid(pid, nullptr, WNOHANG) == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  ::unlink(path.c_str());
  std::cerr << log_tail(log, log_tail_lines);
  return 1;
}

} // namespace

int run_start(const arguments& args) {
  auto& specs = start_option_specs();
  auto cmdline = parse_command_line(args, specs);
  if (cmdline.count("help") > 0) {
    print_help(std::cout, start_usage, start_about, specs);
    return 0;
  }
  settings file;
  if (auto i = cmdline.find("config"); i != cmdline.end())
    file = read_ini_file(i->second.back().value, specs);
  auto opts =
    make_start_options(merge(std::move(file), cmdline, start_option_groups()));
  if (opts.node.runtime_dir.empty())
    opts.node.runtime_dir = runtime_dir_from({});
  prepare_runtime_dir(opts.node.runtime_dir);
  if (opts.block)
    return run_here(opts);
  return start_in_background(opts);
}

} // namespace lumen::cli

// Node processes for the test support (cluster_support.hpp,
// gcs_durable_support.hpp) that die with the test process: each node is
// `lumen start --block ...` run as a child of this process, with
// PR_SET_PDEATHSIG SIGKILL set in the child before exec (and getppid()
// checked after it, for a parent that died in between). A test driver that
// crashes, is SIGKILLed or is killed by ctest's timeout therefore takes its
// nodes with it, where `lumen start` (a daemon in a session of its own)
// would leave them running.
//
// The death signal follows the *thread* that forked, so every node is
// forked by one thread of the spawner's own that lives as long as the
// process; it also reaps the nodes that end (a killed node must not stay a
// zombie: `lumen stop` and the tests wait for pids to be gone) and keeps
// their exit status. A node logs to <runtime dir>/logs/<role>-<pid>.log, as
// one started in the background does.
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace cluster_it {

class node_spawner {
 public:
  /// This process's spawner (a child forked from a test makes its own).
  static node_spawner& instance() {
    static std::mutex mtx;
    static std::map<pid_t, node_spawner*> by_pid;
    std::lock_guard<std::mutex> guard{mtx};
    auto& s = by_pid[::getpid()];
    if (s == nullptr)
      s = new node_spawner; // never deleted: its thread runs to the end
    return *s;
  }

  /// Starts `lumen start --block <args>` (shell words; `args` names
  /// --runtime-dir `dir`) as a `role` node ("head" or "worker") and returns
  /// its pid once it wrote its node file. Throws std::runtime_error, with
  /// the end of its log, if it ends first or takes more than 30 s (it is
  /// then killed).
  int start(const std::string& cli, const std::string& dir,
            const std::string& role, const std::string& args) {
    auto log = "\"" + dir + "/logs/" + role + "-$$.log\"";
    // Its own log lines go there too, unless it is told otherwise (as
    // `lumen start` in the background does).
    const char* env = std::getenv("LUMEN_LOG_FILE");
    bool own = args.find("--log-file") == std::string::npos &&
               (env == nullptr || *env == '\0');
    auto cmd = "umask 077 && mkdir -p \"" + dir + "/logs\" && exec " + cli +
               " start --block " + args + (own ? " --log-file " + log : "") +
               " >>" + log + " 2>&1";
    auto pid = fork_node(cmd);
    auto node_file = dir + "/nodes/" + std::to_string(pid) + ".node";
    auto log_file = dir + "/logs/" + role + "-" + std::to_string(pid) + ".log";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      if (complete(node_file))
        return pid;
      if (auto st = status(pid))
        throw std::runtime_error("lumen start " + args + ": the " + role +
                                 " node (pid " + std::to_string(pid) +
                                 ") ended with " + describe(*st) +
                                 " before it was up; its log " + log_file +
                                 " ends with:\n" + tail(log_file));
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid, SIGKILL);
        throw std::runtime_error("lumen start " + args + ": the " + role +
                                 " node (pid " + std::to_string(pid) +
                                 ") wrote no node file within 30 s; its log " +
                                 log_file + " ends with:\n" + tail(log_file));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  /// The wait status of node `pid` once it ended (and was reaped).
  std::optional<int> status(int pid) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = ended_.find(pid); i != ended_.end())
      return i->second;
    return std::nullopt;
  }

  /// "exit status 75" or "signal 9".
  static std::string describe(int status) {
    if (WIFEXITED(status))
      return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
      return "signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
  }

 private:
  node_spawner()
    : thread_([this] {
        run();
      }) {
    thread_.detach();
  }

  /// Has the spawner's thread fork a child that dies with this process
  /// and runs `cmd` in /bin/sh, which execs the node; returns its pid.
  int fork_node(const std::string& cmd) {
    job j{cmd, {}};
    auto pid = j.pid.get_future();
    {
      std::lock_guard<std::mutex> guard{mtx_};
      jobs_.push_back(std::move(j));
    }
    cv_.notify_all();
    int p = pid.get();
    if (p < 0)
      throw std::runtime_error("fork failed");
    return p;
  }

  /// The child side: only async-signal-safe calls until exec.
  [[noreturn]] static void become_node(const char* cmd, pid_t parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) // the parent died before prctl
      ::_exit(1);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD})
      ::signal(sig, SIG_DFL);
    ::setsid(); // like a node started in the background
    ::execl("/bin/sh", "sh", "-c", cmd, static_cast<char*>(nullptr));
    ::_exit(127);
  }

  /// The spawner's thread: forks what is asked, reaps what ended.
  void run() {
    std::unique_lock<std::mutex> guard{mtx_};
    for (;;) {
      cv_.wait_for(guard, std::chrono::milliseconds(10), [this] {
        return !jobs_.empty();
      });
      while (!jobs_.empty()) {
        auto j = std::move(jobs_.front());
        jobs_.pop_front();
        pid_t parent = ::getpid();
        pid_t pid = ::fork();
        if (pid == 0)
          become_node(j.cmd.c_str(), parent);
        if (pid > 0)
          children_.push_back(pid);
        j.pid.set_value(static_cast<int>(pid));
      }
      for (auto i = children_.begin(); i != children_.end();) {
        int st = 0;
        auto r = ::waitpid(*i, &st, WNOHANG);
        if (r == *i || (r < 0 && errno == ECHILD)) {
          ended_[*i] = r == *i ? st : 0;
          i = children_.erase(i);
        } else {
          ++i;
        }
      }
    }
  }

  /// Whether node file `path` is written in full (it has an address).
  static bool complete(const std::string& path) {
    std::ifstream in{path};
    for (std::string line; std::getline(in, line);)
      if (line.rfind("address=", 0) == 0)
        return true;
    return false;
  }

  static std::string tail(const std::string& path) {
    std::ifstream in{path};
    std::deque<std::string> lines;
    for (std::string line; std::getline(in, line);) {
      lines.push_back("  | " + line);
      if (lines.size() > 20)
        lines.pop_front();
    }
    std::string out;
    for (auto& l : lines)
      out += l + "\n";
    return out.empty() ? "  (nothing)\n" : out;
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  struct job {
    std::string cmd;
    std::promise<int> pid;
  };
  std::deque<job> jobs_;
  std::deque<int> children_;
  std::map<int, int> ended_;
  std::thread thread_;
};

} // namespace cluster_it

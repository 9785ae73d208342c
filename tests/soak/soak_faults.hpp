// The soak's cluster and its faults: a head on a fixed port (so that a
// SIGKILLed head starts again with the same GCS directory) and workers,
// started with the `lumen` tool in a runtime directory of their own; a
// fault thread that every period SIGKILLs (then replaces) or SIGSTOPs (then
// continues) a random worker, and at two chosen periods does the same to
// the head. Every pid it ever saw is kept, for the check that none is left.
//
// Thread safety: `faults` runs on its own thread and calls lumen::nodes();
// end it (stop, then join) before lumen::shutdown. `record` may be called
// from any thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <lumen/lumen.hpp>

#include "../integration/gcs_durable_support.hpp"

namespace soak {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// What a run is asked to do (soak_main.cpp reads it from flags).
struct options {
  std::chrono::seconds duration{1800};
  /// A fault every this often; the first one period after the start.
  std::chrono::seconds fault_every{60};
  /// How long a SIGSTOPped node stays stopped.
  std::chrono::milliseconds stop_for{3000};
  /// Fault kinds for workers: SIGKILL (and a replacement) and/or SIGSTOP.
  bool kill_workers = true;
  bool stop_workers = true;
  /// Faults of the head, spread over the run, and their kind.
  int head_faults = 2;
  /// SIGSTOP instead of SIGKILL + restart; with head_mix, the head's
  /// faults alternate, a SIGSTOP first.
  bool head_stop = false;
  bool head_mix = false;
  int workers = 2;
  int cpus = 2;
  std::chrono::seconds warmup{120};
  std::chrono::seconds sample_every{5};
  /// Slopes of resident memory are judged over windows at least this long.
  std::chrono::seconds min_fit_window{300};
  double max_slope_mib_per_min = 2.0;
  unsigned seed = 0;
  std::chrono::milliseconds pause{20};
  std::string samples_file{};
};

/// Collects problems from every thread; each is printed once, at once.
class problems {
 public:
  void record(const std::string& what) {
    std::lock_guard<std::mutex> guard{mtx_};
    std::fprintf(stderr, "soak: PROBLEM: %s\n", what.c_str());
    list_.push_back(what);
  }

  std::vector<std::string> all() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return list_;
  }

 private:
  mutable std::mutex mtx_;
  std::vector<std::string> list_;
};

/// Seconds since `t0`, for log lines.
inline double since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// The live nodes (lumen::nodes()) that are neither the head nor a driver,
/// nor `gone` (a node just killed, which may not be seen dead yet).
inline std::size_t live_workers(const std::string& gone = {}) {
  std::size_t n = 0;
  try {
    for (auto& info : lumen::nodes())
      if (info.alive && !info.head && !info.driver && info.id != gone)
        ++n;
  } catch (const std::exception&) {
    return 0;
  }
  return n;
}

/// Whether the driver sees a live head and `workers` live workers (not
/// counting `gone`), waiting up to `limit`.
inline bool wait_healthy(std::size_t workers, std::chrono::seconds limit,
                         const std::string& gone = {}) {
  auto deadline = clock_type::now() + limit;
  for (;;) { // looks once at least (limit 0: is it whole now?)
    bool head = false;
    try {
      for (auto& info : lumen::nodes())
        head |= info.alive && info.head;
    } catch (const std::exception&) {
    }
    if (head && live_workers(gone) >= workers)
      return true;
    if (clock_type::now() >= deadline)
      return false;
    std::this_thread::sleep_for(200ms);
  }
}

/// The head and workers, with a fixed port and runtime directory.
class soak_cluster {
 public:
  explicit soak_cluster(const options& o) : o_(o) {}

  const std::string& address() const {
    return c_.address();
  }

  const std::string& dir() const {
    return c_.dir();
  }

  void start() {
    start_head();
    for (int i = 0; i < o_.workers; ++i)
      start_worker();
  }

  void start_head() {
    c_.start_head(); // --num-cpus 0: the head holds no work
    note_pids();
  }

  void start_worker() {
    c_.start_worker("--num-cpus " + std::to_string(o_.cpus) +
                    " --resources '{\"worker\": 100}'");
    note_pids();
  }

  std::vector<cluster_it::node_file> node_files() const {
    return c_.nodes();
  }

  /// Every pid seen in a node file so far.
  std::set<int> seen() {
    note_pids();
    std::lock_guard<std::mutex> guard{mtx_};
    return seen_;
  }

  /// SIGKILLs `pid`, waits (bounded) until it is gone and removes its node
  /// file, as a supervisor would before starting a replacement.
  bool kill_node(int pid) {
    ::kill(pid, SIGKILL);
    for (int i = 0; i < 200 && !durable_it::gone(pid); ++i)
      std::this_thread::sleep_for(50ms);
    std::remove((dir() + "/nodes/" + std::to_string(pid) + ".node").c_str());
    return durable_it::gone(pid);
  }

  std::pair<int, std::string> cli(const std::string& args) const {
    return c_.cli(args);
  }

 private:
  void note_pids() {
    auto files = c_.nodes();
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& f : files)
      seen_.insert(std::stoi(f.at("pid")));
  }

  const options& o_;
  durable_it::restartable_cluster c_;
  std::mutex mtx_;
  std::set<int> seen_;
};

/// The fault thread.
class faults {
 public:
  faults(soak_cluster& cluster, const options& o, problems& p,
         clock_type::time_point t0)
    : cluster_(cluster), o_(o), problems_(p), t0_(t0), rng_(o.seed) {}

  ~faults() {
    stop();
  }

  void start() {
    thread_ = std::thread{[this] {
      run();
    }};
  }

  /// Ends the thread after the fault in progress (and its recovery).
  void stop() {
    done_ = true;
    if (thread_.joinable())
      thread_.join();
  }

  int kills() const {
    return kills_;
  }
  int stops() const {
    return stops_;
  }
  int head_faults() const {
    return head_faults_;
  }
  int head_stops() const {
    return head_stops_;
  }
  /// Worker SIGSTOPs after which the worker was declared dead, exited
  /// (saying why in its log) and was replaced.
  int stops_declared_dead() const {
    return stops_dead_;
  }

 private:
  void run() {
    auto periods = static_cast<int>(o_.duration / o_.fault_every);
    // The head's turns: evenly spread, never the first or last period.
    std::set<int> head_turns;
    for (int k = 1; k <= o_.head_faults; ++k)
      head_turns.insert(std::max(1, periods * k / (o_.head_faults + 1)));
    for (int period = 1; period < periods + 1; ++period) {
      auto at = t0_ + period * o_.fault_every;
      while (!done_ && clock_type::now() < at)
        std::this_thread::sleep_for(100ms);
      if (done_ || clock_type::now() >= t0_ + o_.duration)
        return;
      if (head_turns.count(period))
        fault_head();
      else
        fault_worker();
    }
  }

  void fault_head() {
    bool stop = o_.head_mix ? head_faults_ % 2 == 0 : o_.head_stop;
    ++head_faults_;
    for (auto& f : cluster_.node_files()) {
      if (f.at("role") != "head")
        continue;
      int pid = std::stoi(f.at("pid"));
      if (stop) {
        ++head_stops_;
        std::fprintf(
          stderr, "soak: %.0f s: SIGSTOP the head (pid %d) for %lld ms\n",
          since(t0_), pid, static_cast<long long>(o_.stop_for.count()));
        pause(pid);
      } else {
        std::fprintf(stderr,
                     "soak: %.0f s: SIGKILL the head (pid %d), then "
                     "start it again\n",
                     since(t0_), pid);
        if (!cluster_.kill_node(pid))
          problems_.record("the head (pid " + std::to_string(pid) +
                           ") did not die");
        try {
          cluster_.start_head();
        } catch (const std::exception& e) {
          problems_.record(std::string{"the head did not start again: "} +
                           e.what());
        }
      }
    }
    recover("the head's fault");
  }

  void fault_worker() {
    std::vector<cluster_it::node_file> workers;
    for (auto& f : cluster_.node_files())
      if (f.at("role") != "head")
        workers.push_back(f);
    if (workers.empty()) {
      problems_.record("no worker node file to fault");
      return;
    }
    auto& victim = workers[std::uniform_int_distribution<std::size_t>{
      0, workers.size() - 1}(rng_)];
    int pid = std::stoi(victim.at("pid"));
    bool kill = o_.kill_workers &&
                (!o_.stop_workers || std::bernoulli_distribution{0.5}(rng_));
    if (kill) {
      ++kills_;
      std::fprintf(stderr,
                   "soak: %.0f s: SIGKILL worker %s (pid %d), then "
                   "start a replacement\n",
                   since(t0_), victim.at("id").substr(0, 8).c_str(), pid);
      if (!cluster_.kill_node(pid))
        problems_.record("worker pid " + std::to_string(pid) + " did not die");
      try {
        cluster_.start_worker();
      } catch (const std::exception& e) {
        problems_.record(std::string{"a replacement worker did not start: "} +
                         e.what());
      }
      recover("a worker's SIGKILL", victim.at("id"));
    } else {
      ++stops_;
      std::fprintf(stderr,
                   "soak: %.0f s: SIGSTOP worker %s (pid %d) for %lld ms\n",
                   since(t0_), victim.at("id").substr(0, 8).c_str(), pid,
                   static_cast<long long>(o_.stop_for.count()));
      pause(pid);
      after_stop(victim.at("id"), pid);
    }
  }

  /// After a worker's SIGSTOP: it is back (within the grace), or it was
  /// declared dead and, on learning so, exits saying why (a stop longer
  /// than failure detection tolerates); a supervisor then starts another.
  void after_stop(const std::string& id, int pid) {
    auto t = clock_type::now();
    auto steady_since = clock_type::time_point{};
    while (clock_type::now() < t + 60s) {
      if (durable_it::gone(pid)) {
        ++stops_dead_;
        auto log =
          cluster_.dir() + "/logs/worker-" + std::to_string(pid) + ".log";
        std::ifstream in{log};
        std::string text{std::istreambuf_iterator<char>{in}, {}};
        bool said = text.find("declared dead") != std::string::npos;
        // Its exit status (the node is a child of this process).
        auto& spawner = cluster_it::node_spawner::instance();
        auto st = spawner.status(pid);
        for (int i = 0; i < 100 && !st; ++i) {
          std::this_thread::sleep_for(20ms);
          st = spawner.status(pid);
        }
        auto how = st ? cluster_it::node_spawner::describe(*st) : "?";
        std::fprintf(stderr,
                     "soak: %.0f s: worker %s (pid %d) ended with %s %.1f s "
                     "after its SIGSTOP ended%s; starting a replacement\n",
                     since(t0_), id.substr(0, 8).c_str(), pid, how.c_str(),
                     since(t), said ? ", declared dead (its log says so)" : "");
        if (!said || how != "exit status 75")
          problems_.record("worker pid " + std::to_string(pid) +
                           " ended with " + how +
                           " after a SIGSTOP, not with status 75 and a log "
                           "line saying it was declared dead (" +
                           log + ")");
        std::remove(
          (cluster_.dir() + "/nodes/" + std::to_string(pid) + ".node").c_str());
        try {
          cluster_.start_worker();
        } catch (const std::exception& e) {
          problems_.record(std::string{"a replacement worker did not start: "} +
                           e.what());
        }
        recover("a worker's SIGSTOP, its exit and its replacement", id);
        return;
      }
      // Back: the cluster whole with the victim alive in it, for 5 s (it
      // may learn only now that it was declared dead).
      if (wait_healthy(static_cast<std::size_t>(o_.workers), 0s) &&
          alive_in_view(id)) {
        if (steady_since == clock_type::time_point{})
          steady_since = clock_type::now();
        if (clock_type::now() - steady_since >= 5s) {
          std::fprintf(stderr,
                       "soak: %.0f s: whole again %.1f s after a worker's "
                       "SIGSTOP\n",
                       since(t0_), since(t) - 5);
          return;
        }
      } else {
        steady_since = {};
      }
      std::this_thread::sleep_for(200ms);
    }
    problems_.record("the cluster was not whole (head and " +
                     std::to_string(o_.workers) +
                     " live workers) 60 s after a worker's SIGSTOP");
    // Replace it, as a supervisor would.
    cluster_.kill_node(pid);
    try {
      cluster_.start_worker();
    } catch (const std::exception&) {
    }
    wait_healthy(static_cast<std::size_t>(o_.workers), 60s);
  }

  static bool alive_in_view(const std::string& id) {
    try {
      for (auto& info : lumen::nodes())
        if (info.id == id)
          return info.alive;
    } catch (const std::exception&) {
    }
    return false;
  }

  void pause(int pid) {
    ::kill(pid, SIGSTOP);
    std::this_thread::sleep_for(o_.stop_for);
    ::kill(pid, SIGCONT);
  }

  /// Waits until the cluster is whole again (without `gone`); records a
  /// problem if not.
  bool recover(const std::string& after, const std::string& gone = {}) {
    auto t = clock_type::now();
    if (wait_healthy(static_cast<std::size_t>(o_.workers), 60s, gone)) {
      std::fprintf(stderr, "soak: %.0f s: whole again %.1f s after %s\n",
                   since(t0_), since(t), after.c_str());
      return true;
    }
    problems_.record("the cluster was not whole (head and " +
                     std::to_string(o_.workers) + " live workers) 60 s after " +
                     after);
    return false;
  }

  soak_cluster& cluster_;
  const options& o_;
  problems& problems_;
  clock_type::time_point t0_;
  std::mt19937 rng_;
  std::atomic<bool> done_{false};
  std::thread thread_;
  int kills_ = 0;
  int stops_ = 0;
  int head_faults_ = 0;
  int head_stops_ = 0;
  int stops_dead_ = 0;
};

} // namespace soak

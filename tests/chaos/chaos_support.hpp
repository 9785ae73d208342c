// Chaos for tests: a killer thread that SIGKILLs random worker nodes of a
// test_cluster mid-run and starts a replacement for each, and a check that
// the cluster's resources all come back afterwards.
//
// Thread safety: a killer runs on a thread of its own; its other members are
// for the thread that made it. It calls lumen::nodes(), so it must end
// (join or destructor) before lumen::shutdown: declare it after the
// init_guard.
#pragma once

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <lumen/lumen.hpp>

#include "../integration/cluster_support.hpp"

namespace chaos {

using namespace std::chrono_literals;

/// Live nodes that are neither the head nor a driver.
inline std::vector<lumen::node_info> live_workers() {
  std::vector<lumen::node_info> result;
  for (auto& n : lumen::nodes())
    if (n.alive && !n.head && !n.driver)
      result.push_back(n);
  return result;
}

/// Waits (bounded by `limit`) until every live node that is not a driver has
/// all its resources available again; returns an empty string then, or what
/// is still held.
inline std::string wait_for_free_resources(std::chrono::seconds limit = 60s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::string held;
  for (;;) {
    held.clear();
    for (auto& n : lumen::nodes()) {
      if (!n.alive || n.driver)
        continue;
      for (auto& [name, total] : n.resources_total) {
        auto i = n.resources_available.find(name);
        double free = i == n.resources_available.end() ? 0.0 : i->second;
        if (free != total)
          held += " " + n.id.substr(0, 8) + ":" + name + " " +
                  std::to_string(free) + "/" + std::to_string(total);
      }
    }
    if (held.empty() || std::chrono::steady_clock::now() >= deadline)
      return held;
    std::this_thread::sleep_for(200ms);
  }
}

/// Kills a random live worker every `gap_min`..`gap_max`, `kills` times,
/// starting a replacement worker (with `worker_extra` on its command line)
/// after each one is seen dead; then stops. The first kill comes one gap
/// after the start. The seed is LUMEN_CHAOS_SEED if set, else random; it
/// is printed so that a run can be repeated.
class killer {
 public:
  killer(cluster_it::test_cluster& cluster, std::string worker_extra, int kills,
         std::chrono::milliseconds gap_min = 2000ms,
         std::chrono::milliseconds gap_max = 3000ms)
    : cluster_(cluster), worker_extra_(std::move(worker_extra)), kills_(kills),
      gap_min_(gap_min), gap_max_(gap_max) {
    auto* env = std::getenv("LUMEN_CHAOS_SEED");
    seed_ = env != nullptr
              ? static_cast<unsigned>(std::strtoul(env, nullptr, 10))
              : std::random_device{}();
    note("seed " + std::to_string(seed_) + " (LUMEN_CHAOS_SEED)");
    thread_ = std::thread{[this] {
      run();
    }};
  }

  killer(const killer&) = delete;
  killer& operator=(const killer&) = delete;

  ~killer() {
    stop_ = true;
    join();
  }

  /// Waits for the last kill and replacement (bounded: each step is).
  void join() {
    if (thread_.joinable())
      thread_.join();
  }

  /// How many nodes it killed (after join).
  int killed() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return killed_;
  }

  /// What went wrong, if anything (after join).
  std::vector<std::string> errors() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return errors_;
  }

  /// Ids of the nodes it killed (after join).
  std::vector<std::string> victims() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return victims_;
  }

 private:
  void note(const std::string& what) {
    auto t =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
        .count();
    std::fprintf(stderr, "chaos killer [%6.2f s]: %s\n", t, what.c_str());
  }

  void fail(const std::string& what) {
    note("error: " + what);
    std::lock_guard<std::mutex> guard{mtx_};
    errors_.push_back(what);
  }

  /// Sleeps `d` in small steps; false if told to stop meanwhile.
  bool pause(std::chrono::milliseconds d) {
    auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until)
      if (stop_)
        return false;
      else
        std::this_thread::sleep_for(20ms);
    return !stop_;
  }

  /// A random live worker that has a node file here.
  std::optional<cluster_it::node_file> pick(std::mt19937& rng) {
    std::vector<cluster_it::node_file> candidates;
    auto files = cluster_.nodes();
    for (auto& n : live_workers())
      for (auto& f : files)
        if (f.count("id") && f.at("id") == n.id)
          candidates.push_back(f);
    if (candidates.empty())
      return std::nullopt;
    std::uniform_int_distribution<std::size_t> which{0, candidates.size() - 1};
    return candidates[which(rng)];
  }

  /// Waits (bounded) until lumen::nodes() shows `id` dead.
  bool wait_dead(const std::string& id) {
    for (int i = 0; i < 300 && !stop_; ++i) {
      for (auto& n : lumen::nodes())
        if (n.id == id && !n.alive)
          return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  void run() {
    std::mt19937 rng{seed_};
    std::uniform_int_distribution<long long> gap{gap_min_.count(),
                                                 gap_max_.count()};
    for (int k = 0; k < kills_; ++k) {
      if (!pause(std::chrono::milliseconds{gap(rng)}))
        return;
      auto victim = pick(rng);
      if (!victim) {
        fail("kill " + std::to_string(k + 1) + ": no live worker to kill");
        return;
      }
      auto id = victim->at("id");
      note("kill " + std::to_string(k + 1) + ": SIGKILL worker " + id +
           " (pid " + victim->at("pid") + ")");
      ::kill(std::stoi(victim->at("pid")), SIGKILL);
      {
        std::lock_guard<std::mutex> guard{mtx_};
        ++killed_;
        victims_.push_back(id);
      }
      if (!wait_dead(id)) {
        fail("worker " + id + " was never seen dead");
        return;
      }
      note("worker " + id + " seen dead; starting a replacement");
      try {
        cluster_.add_worker(worker_extra_);
      } catch (const std::exception& e) {
        fail(std::string{"cannot start a replacement: "} + e.what());
        return;
      }
      note("replacement started; " + std::to_string(live_workers().size()) +
           " live workers");
    }
    note("done");
  }

  cluster_it::test_cluster& cluster_;
  std::string worker_extra_;
  int kills_;
  std::chrono::milliseconds gap_min_;
  std::chrono::milliseconds gap_max_;
  unsigned seed_ = 0;
  std::chrono::steady_clock::time_point start_ =
    std::chrono::steady_clock::now();
  std::atomic<bool> stop_{false};
  mutable std::mutex mtx_;
  int killed_ = 0;
  std::vector<std::string> victims_;
  std::vector<std::string> errors_;
  std::thread thread_;
};

} // namespace chaos

// The soak's memory watch: samples the resident memory (VmRSS) of every
// node process and of the driver every few seconds, then fits a line to
// each process's samples after its warm-up and reports the slope.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "soak_faults.hpp"

namespace soak {

/// VmRSS of `pid` in KiB, or -1 if it cannot be read (the process ended).
inline long rss_kib(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}

struct rss_sample {
  double t = 0; // seconds since the start of the run
  long kib = 0;
};

/// One process's samples.
struct rss_series {
  std::string role;
  double first_seen = 0;
  std::vector<rss_sample> samples;
};

/// The slope (per second) and intercept of the least-squares line through
/// `s`; {0, 0} for fewer than two samples.
inline std::pair<double, double> fit(const std::vector<rss_sample>& s) {
  if (s.size() < 2)
    return {0, 0};
  double n = static_cast<double>(s.size()), st = 0, sy = 0, stt = 0, sty = 0;
  for (auto& x : s) {
    auto y = static_cast<double>(x.kib);
    st += x.t;
    sy += y;
    stt += x.t * x.t;
    sty += x.t * y;
  }
  double den = n * stt - st * st;
  if (den == 0)
    return {0, sy / n};
  double slope = (n * sty - st * sy) / den;
  return {slope, (sy - slope * st) / n};
}

class memory_watch {
 public:
  memory_watch(soak_cluster& cluster, const options& o,
               clock_type::time_point t0)
    : cluster_(cluster), o_(o), t0_(t0) {}

  ~memory_watch() {
    stop();
  }

  void start() {
    thread_ = std::thread{[this] {
      while (!done_) {
        sample();
        auto next = clock_type::now() + o_.sample_every;
        while (!done_ && clock_type::now() < next)
          std::this_thread::sleep_for(100ms);
      }
    }};
  }

  void stop() {
    done_ = true;
    if (thread_.joinable())
      thread_.join();
  }

  /// Prints a line per process and returns the problems: slopes above the
  /// limit over windows long enough to judge.
  std::vector<std::string> report() {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<std::string> bad;
    std::fprintf(stderr,
                 "soak: resident memory, after each process's "
                 "warm-up of %lld s (slope of a least-squares line):\n",
                 static_cast<long long>(o_.warmup.count()));
    std::FILE* out = o_.samples_file.empty()
                       ? nullptr
                       : std::fopen(o_.samples_file.c_str(), "w");
    if (out)
      std::fprintf(out, "pid,role,seconds,rss_kib\n");
    for (auto& [pid, series] : by_pid_) {
      if (out)
        for (auto& s : series.samples)
          std::fprintf(out, "%d,%s,%.1f,%ld\n", pid, series.role.c_str(), s.t,
                       s.kib);
      std::vector<rss_sample> after;
      auto from = series.first_seen + static_cast<double>(o_.warmup.count());
      for (auto& s : series.samples)
        if (s.t >= from)
          after.push_back(s);
      if (after.size() < 2) {
        std::fprintf(stderr,
                     "  %-6s pid %-7d %3zu samples, none after warm-up "
                     "(last %.1f MiB)\n",
                     series.role.c_str(), pid, series.samples.size(),
                     series.samples.empty()
                       ? 0.0
                       : static_cast<double>(series.samples.back().kib) / 1024);
        continue;
      }
      auto [slope, icept] = fit(after);
      double window = after.back().t - after.front().t;
      double mib_per_min = slope * 60 / 1024;
      bool judged = window >= static_cast<double>(o_.min_fit_window.count());
      std::fprintf(stderr,
                   "  %-6s pid %-7d %3zu samples over %6.0f s: %7.1f -> "
                   "%7.1f MiB, slope %+.3f MiB/min%s\n",
                   series.role.c_str(), pid, after.size(), window,
                   static_cast<double>(after.front().kib) / 1024,
                   static_cast<double>(after.back().kib) / 1024, mib_per_min,
                   judged ? "" : " (window too short to judge)");
      (void)icept;
      if (judged && mib_per_min > o_.max_slope_mib_per_min)
        bad.push_back(series.role + " pid " + std::to_string(pid) +
                      ": resident memory grows " + std::to_string(mib_per_min) +
                      " MiB/min after warm-up (limit " +
                      std::to_string(o_.max_slope_mib_per_min) + ")");
    }
    if (out) {
      std::fclose(out);
      std::fprintf(stderr, "soak: samples written to %s\n",
                   o_.samples_file.c_str());
    }
    return bad;
  }

 private:
  void sample() {
    auto t = since(t0_);
    std::vector<std::pair<int, std::string>> procs{{::getpid(), "driver"}};
    for (auto& f : cluster_.node_files())
      procs.emplace_back(std::stoi(f.at("pid")), f.at("role"));
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [pid, role] : procs) {
      auto kib = rss_kib(pid);
      if (kib < 0)
        continue;
      auto& series = by_pid_[pid];
      if (series.samples.empty()) {
        series.role = role;
        series.first_seen = t;
      }
      series.samples.push_back({t, kib});
    }
  }

  soak_cluster& cluster_;
  const options& o_;
  clock_type::time_point t0_;
  std::mutex mtx_;
  std::map<int, rss_series> by_pid_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

} // namespace soak

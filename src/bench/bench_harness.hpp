// The measuring harness of `lumen microbenchmark`: a workload's step runs
// for a warm-up, then repeatedly for the measured duration; the rate is
// `ops per step * steps / seconds` (Ray's `timeit`, with our durations).
// Results print as `name value unit` and can be written as JSON.
//
// Every step checks what it got back (bench::check); a wrong result throws
// bench::failure, which stops the run with the workload's name.
//
// Thread safety: the harness runs on the calling thread; `check` may be
// called from any thread (tasks and actor methods use it too).
#pragma once

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace lumen::cli::bench {

/// A workload returned a wrong result.
class failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Throws failure(`what`) unless `ok`.
inline void check(bool ok, const char* what) {
  if (!ok)
    throw failure(what);
}

/// Throws failure "<what>: got <actual>, expected <expected>" unless equal.
template <class T, class U>
void check_eq(const T& actual, const U& expected, const char* what) {
  if (!(actual == expected)) {
    std::ostringstream out;
    out << what << ": got " << actual << ", expected " << expected;
    throw failure(out.str());
  }
}

/// One metric as measured (or why it was not).
struct result {
  std::string name;
  double value = 0;
  /// "/s" or "GB/s".
  std::string unit;
  /// Steps timed and the seconds they took (0 when not measured).
  std::size_t steps = 0;
  double seconds = 0;
  /// Empty when measured; otherwise why not ("not available yet: ...").
  std::string unavailable;
};

/// How long to warm up and to measure each workload.
struct timing {
  double warmup_seconds = 0.5;
  double duration_seconds = 2;
};

/// Calls `step` for `t.warmup_seconds`, then for `t.duration_seconds` (at
/// least once each); returns `ops_per_step * steps / seconds` as metric
/// `name` in `unit`. Exceptions from `step` propagate.
inline result timeit(const std::string& name, const std::string& unit,
                     double ops_per_step, const timing& t,
                     const std::function<void()>& step) {
  using clock = std::chrono::steady_clock;
  auto seconds_since = [](clock::time_point start) {
    return std::chrono::duration<double>(clock::now() - start).count();
  };
  std::size_t warm = 0;
  auto start = clock::now();
  do {
    step();
    ++warm;
  } while (seconds_since(start) < t.warmup_seconds);
  // Read the clock about every 1/50 of the warm-up, not after each step.
  auto batch = std::max<std::size_t>(
    1, static_cast<std::size_t>(static_cast<double>(warm) * t.duration_seconds /
                                t.warmup_seconds / 500));
  std::size_t steps = 0;
  double elapsed = 0;
  start = clock::now();
  do {
    for (std::size_t i = 0; i < batch; ++i)
      step();
    steps += batch;
    elapsed = seconds_since(start);
  } while (elapsed < t.duration_seconds);
  result r;
  r.name = name;
  r.unit = unit;
  r.steps = steps;
  r.seconds = elapsed;
  r.value = ops_per_step * static_cast<double>(steps) / elapsed;
  return r;
}

/// A metric that this build cannot measure yet.
inline result unavailable(const std::string& name, const std::string& unit,
                          const std::string& why) {
  result r;
  r.name = name;
  r.unit = unit;
  r.unavailable = why;
  return r;
}

/// "GB/s" for a metric named *_gigabytes, "MiB" for *_mib, else "/s".
inline std::string unit_of(const std::string& name) {
  auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) ==
             0;
  };
  return ends_with("_gigabytes") ? "GB/s" : ends_with("_mib") ? "MiB" : "/s";
}

/// The value as printed: 1 decimal from 1000 up, 2 from 1, else 4.
inline std::string format_value(double v) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(v >= 1000 ? 1 : v >= 1 ? 2 : 4) << v;
  return out.str();
}

/// `name value unit`, or `name n/a (why)`.
inline void print(std::ostream& out, const result& r) {
  out << r.name << " ";
  if (r.unavailable.empty())
    out << format_value(r.value) << " " << r.unit;
  else
    out << "n/a (" << r.unavailable << ")";
  out << std::endl;
}

inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// Writes `results` to `path` as a JSON object: {"results": [{"name",
/// "value", "unit", "steps", "seconds"} or {"name", "unit",
/// "unavailable"}], plus `header` entries (strings) first. Throws
/// std::runtime_error if the file cannot be written.
inline void
write_json(const std::string& path,
           const std::vector<std::pair<std::string, std::string>>& header,
           const std::vector<result>& results) {
  std::ostringstream out;
  out << "{\n";
  for (auto& [key, value] : header)
    out << "  " << json_string(key) << ": " << json_string(value) << ",\n";
  out << "  \"results\": [";
  for (std::size_t i = 0; i < results.size(); ++i) {
    auto& r = results[i];
    out << (i == 0 ? "\n" : ",\n") << "    {\"name\": " << json_string(r.name)
        << ", \"unit\": " << json_string(r.unit);
    if (r.unavailable.empty())
      out << ", \"value\": " << std::setprecision(17) << r.value
          << ", \"steps\": " << r.steps << ", \"seconds\": " << r.seconds;
    else
      out << ", \"value\": null, \"unavailable\": "
          << json_string(r.unavailable);
    out << "}";
  }
  out << "\n  ]\n}\n";
  std::ofstream file{path, std::ios::binary | std::ios::trunc};
  file << out.str();
  file.flush();
  if (!file)
    throw std::runtime_error("cannot write " + path);
}

/// One workload: sets itself up, measures one or more metrics, cleans up.
struct workload {
  /// The metric names it reports (what --filter matches).
  std::vector<std::string> names;
  /// Runs it; results in the order of `names`.
  std::function<std::vector<result>(const timing&)> run;
};

} // namespace lumen::cli::bench

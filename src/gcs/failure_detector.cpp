// The GCS's failure detector.
#include "gcs/failure_detector.hpp"

#include <algorithm>
#include <cmath>

namespace lumen::detail {

namespace {

double ms_between(failure_detector::clock::time_point from,
                  failure_detector::clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

} // namespace

double phi_of(double elapsed_ms, double mean_ms, double deviation_ms) {
  auto y = (elapsed_ms - mean_ms) / deviation_ms;
  auto e = std::exp(-y * (1.5976 + 0.070566 * y * y));
  if (elapsed_ms > mean_ms)
    return -std::log10(e / (1.0 + e));
  return -std::log10(1.0 - 1.0 / (1.0 + e));
}

failure_detector::failure_detector(failure_detector_config cfg) : cfg_(cfg) {
  cfg_.window = std::max<std::size_t>(cfg_.window, 2);
}

void failure_detector::seed(node& n) const {
  n.intervals.clear();
  n.sum = 0;
  n.squares = 0;
  // Two samples a quarter interval apart from the expected one: mean the
  // interval, deviation a quarter of it (as Akka seeds its history).
  auto x = static_cast<double>(cfg_.heartbeat_interval.count());
  add_interval(n, x - x / 4);
  add_interval(n, x + x / 4);
}

void failure_detector::add_interval(node& n, double ms) const {
  n.intervals.push_back(ms);
  n.sum += ms;
  n.squares += ms * ms;
  if (n.intervals.size() > cfg_.window) {
    auto old = n.intervals.front();
    n.intervals.pop_front();
    n.sum -= old;
    n.squares -= old * old;
  }
}

double failure_detector::phi_of_node(const node& n,
                                     clock::time_point now) const {
  if (n.self || n.intervals.empty())
    return 0;
  auto count = static_cast<double>(n.intervals.size());
  auto mean = n.sum / count;
  auto variance = std::max(0.0, n.squares / count - mean * mean);
  auto deviation = std::max(std::sqrt(variance),
                            static_cast<double>(cfg_.min_deviation.count()));
  deviation = std::max(deviation, 1.0);
  mean += static_cast<double>(cfg_.acceptable_pause.count());
  return phi_of(ms_between(n.last, now), mean, deviation);
}

void failure_detector::observe(clock::time_point now) {
  if (last_call_ && now - *last_call_ > cfg_.stall_gap) {
    // This process did not run for a while: what it measured meanwhile
    // says nothing about the others. Start afresh.
    stall_ =
      std::chrono::duration_cast<std::chrono::milliseconds>(now - *last_call_);
    for (auto& kv : nodes_) {
      seed(kv.second);
      kv.second.last = now;
      kv.second.suspected_since.reset();
    }
    quiet_until_ = now + cfg_.grace;
  }
  if (!last_call_ || now > *last_call_)
    last_call_ = now;
}

void failure_detector::watch(const std::string& id, clock::time_point now,
                             bool self) {
  observe(now);
  auto& n = nodes_[id];
  seed(n);
  n.last = now;
  n.suspected_since.reset();
  n.self = self;
}

void failure_detector::heartbeat(const std::string& id, clock::time_point now) {
  observe(now);
  auto i = nodes_.find(id);
  if (i == nodes_.end())
    return;
  auto& n = i->second;
  if (now > n.last)
    add_interval(n, ms_between(n.last, now));
  n.last = std::max(n.last, now);
  n.suspected_since.reset();
}

bool failure_detector::connection_lost(const std::string& id,
                                       clock::time_point now) {
  observe(now);
  auto i = nodes_.find(id);
  if (i == nodes_.end() || i->second.self)
    return false;
  auto& n = i->second;
  auto deadline = now + cfg_.connection_grace;
  if (!n.suspected_since) {
    n.suspected_since = now;
    n.dead_at = deadline;
  } else {
    n.dead_at = std::min(n.dead_at, deadline);
  }
  return now >= n.dead_at && may_declare(now);
}

void failure_detector::forget(const std::string& id) {
  nodes_.erase(id);
}

failure_detector::verdict failure_detector::tick(clock::time_point now) {
  observe(now);
  verdict out;
  for (auto& [id, n] : nodes_) {
    if (n.self)
      continue;
    if (!n.suspected_since && phi_of_node(n, now) >= cfg_.phi_threshold) {
      n.suspected_since = now;
      n.dead_at = now + cfg_.grace;
      out.suspected.push_back(id);
    }
    if (n.suspected_since && now >= n.dead_at && may_declare(now))
      out.dead.push_back(id);
  }
  return out;
}

double failure_detector::phi(const std::string& id,
                             clock::time_point now) const {
  auto i = nodes_.find(id);
  return i == nodes_.end() ? 0 : phi_of_node(i->second, now);
}

bool failure_detector::suspected(const std::string& id) const {
  auto i = nodes_.find(id);
  return i != nodes_.end() && i->second.suspected_since.has_value();
}

std::optional<std::chrono::milliseconds> failure_detector::take_stall() {
  auto result = stall_;
  stall_.reset();
  return result;
}

bool failure_detector::may_declare(clock::time_point now) const {
  return now >= quiet_until_;
}

} // namespace lumen::detail

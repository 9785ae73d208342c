// The GCS's failure detector: phi accrual over heartbeats, suspicion with a
// grace, and a stall rule for the detector's own process.
//
// Plain logic behind the gcs actor, which feeds it every heartbeat,
// registration and lost connection, and asks it on every tick which nodes
// are dead. A node goes through three states:
//
// - alive: heartbeats arrive. Each arrival adds its interval to the
//   node's history (the last `window` intervals), seeded with the
//   expected interval.
// - suspected: its phi (Hayashibara et al., "The phi accrual failure
//   detector", as Akka and Cassandra compute it) reached the threshold,
//   i.e. the silence since its last heartbeat is that unlikely under the
//   normal distribution of its history, whose mean is raised by the
//   acceptable pause and whose deviation is at least `min_deviation`; or
//   its connection to the head dropped. Any heartbeat or registration
//   takes the suspicion back.
// - dead: suspected for `grace` without a word, or `connection_grace`
//   after its connection dropped (0 by default: a process that died
//   closes its connections, and one that hung is cut off by CAF's
//   connection timeout only after 5 s of silence). Dead is for good (the
//   caller marks the node dead in its table and forgets it here).
//
// Two rules keep a stall from killing what is alive:
// - the node this detector runs on (`self`) is never suspected: a process
//   that runs is alive;
// - the stall rule: when the time between two calls (ticks, heartbeats,
//   lost connections) is longer than `stall_gap`, the detector's own
//   process was stopped or starved (SIGSTOP, a swap storm, a frozen VM),
//   so the silence it measured says nothing about the others. It then
//   forgets every history and suspicion, counts every node as heard from
//   now, and declares no node dead for `grace` after the stall: each must
//   be silent (or its connection lost) again, measured afresh.
//
// Thread safety: none; owned by the gcs actor.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lumen::detail {

/// Tuning of the failure detector; the defaults suit heartbeats every
/// 500 ms (cluster_link) on a head that ticks every 200 ms.
struct failure_detector_config {
  /// The interval heartbeats are sent at, which seeds each history.
  std::chrono::milliseconds heartbeat_interval{500};
  /// Phi at which a node becomes suspected (8: one false suspicion in
  /// 10^8 under the history's distribution).
  double phi_threshold = 8.0;
  /// Floor of the history's standard deviation.
  std::chrono::milliseconds min_deviation{250};
  /// Silence tolerated on top of the mean interval (a GC pause of a node).
  std::chrono::milliseconds acceptable_pause{2000};
  /// How long a node stays suspected before it is declared dead, and how
  /// long after a stall of this process no node is.
  std::chrono::milliseconds grace{3000};
  /// How long a node whose connection dropped stays suspected before it is
  /// declared dead (outside the grace after a stall, when none is).
  std::chrono::milliseconds connection_grace{0};
  /// A gap between two calls longer than this is a stall of this process.
  std::chrono::milliseconds stall_gap{1500};
  /// Intervals kept per node.
  std::size_t window = 100;
};

/// Phi of a silence of `elapsed_ms` under a normal distribution of
/// intervals with `mean_ms` and `deviation_ms` (> 0): -log10 of the
/// probability that a heartbeat comes even later (logistic approximation
/// of the normal CDF, as in Akka). 0 for a silence well under the mean.
double phi_of(double elapsed_ms, double mean_ms, double deviation_ms);

class failure_detector {
 public:
  using clock = std::chrono::steady_clock;

  explicit failure_detector(failure_detector_config cfg = {});

  /// Starts watching node `id` (a registration, or a node restored from the
  /// store): heard from at `now`, with a fresh history; `self` marks the
  /// node this detector runs on, never suspected.
  void watch(const std::string& id, clock::time_point now, bool self = false);

  /// A heartbeat of `id` arrived: its interval joins the history, and a
  /// suspicion ends. Unknown ids are ignored.
  void heartbeat(const std::string& id, clock::time_point now);

  /// The connection to `id` dropped: suspected from `now` (unless self),
  /// dead `connection_grace` later. Returns whether it is dead already
  /// (the caller declares it dead and forgets it here).
  bool connection_lost(const std::string& id, clock::time_point now);

  /// Stops watching `id` (declared dead, or gone).
  void forget(const std::string& id);

  /// What a tick found.
  struct verdict {
    /// Nodes suspected since this tick (phi at the threshold).
    std::vector<std::string> suspected;
    /// Nodes suspected for the grace: the caller declares them dead and
    /// forgets them here.
    std::vector<std::string> dead;
  };

  /// The tick: applies the stall rule, suspects the nodes whose phi
  /// reached the threshold, and names those suspected for the grace.
  verdict tick(clock::time_point now);

  /// Phi of node `id` at `now` (0 for self and unknown ids).
  double phi(const std::string& id, clock::time_point now) const;

  /// Whether `id` is suspected now.
  bool suspected(const std::string& id) const;

  /// How long the last stall seen lasted, if one was seen since the last
  /// call of this (for a log line).
  std::optional<std::chrono::milliseconds> take_stall();

  /// Whether nodes may be declared dead at `now` (no stall within grace).
  bool may_declare(clock::time_point now) const;

  const failure_detector_config& config() const noexcept {
    return cfg_;
  }

 private:
  struct node {
    std::deque<double> intervals; // ms
    double sum = 0;
    double squares = 0;
    clock::time_point last;
    std::optional<clock::time_point> suspected_since;
    /// When a suspected node is dead.
    clock::time_point dead_at{};
    bool self = false;
  };

  void seed(node& n) const;
  void add_interval(node& n, double ms) const;
  double phi_of_node(const node& n, clock::time_point now) const;
  /// The stall rule, on every call that carries a time.
  void observe(clock::time_point now);

  failure_detector_config cfg_;
  std::map<std::string, node> nodes_;
  std::optional<clock::time_point> last_call_;
  clock::time_point quiet_until_{};
  std::optional<std::chrono::milliseconds> stall_;
};

} // namespace lumen::detail

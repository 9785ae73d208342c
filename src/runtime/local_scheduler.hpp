// The node's scheduling policy, apart from the actor that runs it.
//
// Holds the node's total and available resources and the queue of tasks
// whose arguments are ready. Order: deeper tasks first (a task nested in a
// running task before the driver's next one, which keeps nested task trees
// depth-first and their blocked callers few), then submission order. A task
// that asks for more than the node has in total is set aside as infeasible.
//
// Thread safety: none; owned by the node manager actor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "runtime/resources.hpp"
#include "runtime/task_spec.hpp"

namespace lumen::detail {

class local_scheduler {
 public:
  explicit local_scheduler(resource_set total);

  /// The resources `t` holds while it runs.
  static resource_set request_of(const task_spec& t);

  /// Queues a task whose arguments are ready; returns false and sets it
  /// aside if this node can never run it.
  bool enqueue(task_ptr t);

  /// Removes the first queued task that fits the available resources and
  /// acquires them for it; nullptr if none fits. Scans at most `max_scan`
  /// tasks that do not fit before giving up.
  task_ptr next(std::size_t max_scan = 64);

  /// Removes the first queued task that asks for exactly `held` without
  /// acquiring anything (it will run on a worker that holds `held`
  /// already); nullptr if none of the first `max_scan` does.
  task_ptr next_like(const resource_set& held, std::size_t max_scan = 64);

  /// Gives resources back (a task ended or blocked).
  void release(const resource_set& r);

  /// Takes resources even if that oversubscribes the node (a blocked task
  /// woke up).
  void force_acquire(const resource_set& r);

  /// Adds to (or, with `remove`, takes from) the node's total and
  /// available resources: a placement group's bundle coming or going.
  void change_capacity(const resource_set& r, bool remove);

  const resource_set& total() const noexcept {
    return total_;
  }

  const resource_set& available() const noexcept {
    return available_;
  }

  std::size_t queued() const noexcept {
    return queue_.size();
  }

  const std::vector<task_ptr>& infeasible() const noexcept {
    return infeasible_;
  }

 private:
  using key = std::pair<std::int64_t, std::uint64_t>;
  resource_set total_;
  resource_set available_;
  std::map<key, std::pair<task_ptr, resource_set>> queue_;
  std::vector<task_ptr> infeasible_;
  std::uint64_t seq_ = 0;
};

} // namespace lumen::detail

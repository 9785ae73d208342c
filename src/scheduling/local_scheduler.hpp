// The node's scheduling policy, apart from the actor that runs it.
//
// Holds the node's total and available resources and the queue of tasks
// whose arguments are ready. Order: deeper tasks first (a task nested in a
// running task before the driver's next one, which keeps nested task trees
// depth-first and their blocked callers few), then submission order. A task
// that asks for more than the node has in total is set aside as infeasible.
//
// Queued tasks refer to their request by a small number: the distinct
// requests ("shapes") are kept once, counted by the tasks that use them.
// A scan then tests each shape's fit once, so a full node answers "none
// fits" after one test per shape instead of one per queued task.
//
// Thread safety: none; owned by the scheduler actor (actors/scheduler.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <utility>
#include <vector>

#include "scheduling/resources.hpp"
#include "wire/task_spec.hpp"

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
  /// acquires them for it (copied to `acquired` if given); nullptr if none
  /// fits. Scans at most `max_scan` tasks, and none once no queued
  /// request fits.
  task_ptr next(resource_set* acquired = nullptr, std::size_t max_scan = 64);

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

  /// Removes the queued and infeasible tasks `pred` selects (cancelled
  /// ones) and returns them; one pass over the queue.
  template <class Pred>
  std::vector<task_ptr> remove_if(Pred pred) {
    std::vector<task_ptr> result;
    for (auto i = queue_.begin(); i != queue_.end();) {
      auto j = std::next(i);
      if (pred(*i->second.first))
        result.push_back(take(i));
      i = j;
    }
    for (auto i = infeasible_.begin(); i != infeasible_.end();) {
      if (pred(**i)) {
        result.push_back(std::move(*i));
        i = infeasible_.erase(i);
      } else {
        ++i;
      }
    }
    return result;
  }

 private:
  using key = std::pair<std::int64_t, std::uint64_t>;

  /// A distinct request and how many queued tasks make it.
  struct shape {
    resource_set request;
    std::size_t users = 0;
  };

  /// The shape of `r`, added (or a free one reused) if new; counts a user.
  std::uint32_t shape_of(const resource_set& r);

  /// Drops a user of shape `k`.
  void unuse(std::uint32_t k);

  /// Removes queue entry `i`.
  task_ptr take(std::map<key, std::pair<task_ptr, std::uint32_t>>::iterator i);

  resource_set total_;
  resource_set available_;
  std::map<key, std::pair<task_ptr, std::uint32_t>> queue_;
  std::vector<shape> shapes_;
  /// Per shape, during a scan of next(): 1 if it was found not to fit.
  std::vector<char> no_fit_;
  std::vector<task_ptr> infeasible_;
  std::uint64_t seq_ = 0;
};

} // namespace lumen::detail

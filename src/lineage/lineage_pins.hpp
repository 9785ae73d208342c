// Lineage pins: which tasks' lineage an owner still needs, and which it
// may let go (lineage collection).
//
// A node owns the objects its tasks return when it submitted them. The
// lineage of such a task (its spec, stashed here and committed to the
// GCS) is needed while any object it returned is still referenced here,
// or while the lineage of a task that took one of its objects as an
// argument is itself needed: rebuilding that task's object may need the
// argument rebuilt too (reconstruction.hpp). That is Ray's rule: the
// owner keeps lineage while it keeps a reference, counting the "lineage
// references" that downstream tasks' specs hold on their arguments.
//
// The owner tells the pins
// - `submitted(t, deps)` when it submits task `t` whose ref arguments
//   were made by the tasks `deps` (only if `deps` is not empty: a task
//   without ref arguments needs no record at all, so the common case
//   costs nothing until its object goes);
// - `freed(t)` when the last reference here to the object task `t`
//   returned is gone (the object table's owned-release hook).
// A task whose object is freed and that no needed task depends on is
// collected: it is queued for `take_collected`, and the tasks it depended
// on lose a pin each, which may collect them in turn (iteratively: a
// chain of a million is no deeper a stack than one of two).
//
// A dependency owned by another node gets a record here too, while pinned
// (freed is never called for it here, so it is dropped when its last pin
// goes): its owner decides about its lineage, as in Ray, where lineage
// references are counted by the owner of the downstream task only.
//
// Thread safety: every member may be called from any thread (one mutex).
#pragma once

#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "lumen/ids.hpp"

namespace lumen::detail {

class lineage_pins {
 public:
  /// Task `t`, submitted here, takes the objects of `deps` as arguments:
  /// each of them is pinned while `t`'s lineage is needed. A task
  /// submitted again (a parent run again submits its children under the
  /// same ids) pins nothing more.
  void submitted(const task_id& t, const std::vector<task_id>& deps);

  /// The object task `t` returned, owned here, was freed. Returns true if
  /// the queue of collected tasks was empty before (the caller then wakes
  /// whoever takes it).
  bool freed(const task_id& t);

  /// The tasks collected since the last call, oldest first.
  std::vector<task_id> take_collected();

  /// Tasks with a record (pinned by a downstream task, or holding pins of
  /// their own).
  std::size_t records() const;

  /// Tasks collected so far.
  std::size_t collected_total() const;

 private:
  struct record {
    /// Needed tasks that take this task's objects as arguments.
    std::uint32_t pins = 0;
    /// Its object was freed here.
    bool freed = false;
    /// The tasks this one pins (its ref arguments' producers).
    std::vector<task_id> deps;
  };

  /// Collects `t`, then whatever that unpins; `mtx_` held.
  void collect(const task_id& t);

  mutable std::mutex mtx_;
  std::unordered_map<task_id, record> records_;
  std::vector<task_id> collected_;
  std::size_t collected_total_ = 0;
};

} // namespace lumen::detail

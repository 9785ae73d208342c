// Lineage pins: which tasks' lineage an owner still needs.
#include "lineage/lineage_pins.hpp"

#include <utility>

namespace lumen::detail {

void lineage_pins::submitted(const task_id& t,
                             const std::vector<task_id>& deps) {
  if (deps.empty())
    return;
  std::lock_guard guard{mtx_};
  auto& rec = records_[t];
  if (!rec.deps.empty())
    return; // submitted again: its pins are in place
  rec.deps = deps;
  for (auto& d : deps)
    ++records_[d].pins;
}

bool lineage_pins::freed(const task_id& t) {
  std::lock_guard guard{mtx_};
  bool was_empty = collected_.empty();
  auto i = records_.find(t);
  if (i == records_.end()) {
    collected_.push_back(t); // neither pinned nor pinning: the common case
    ++collected_total_;
    return was_empty;
  }
  i->second.freed = true;
  if (i->second.pins == 0)
    collect(t);
  return was_empty && !collected_.empty();
}

void lineage_pins::collect(const task_id& first) {
  std::vector<task_id> todo{first};
  while (!todo.empty()) {
    auto t = todo.back();
    todo.pop_back();
    collected_.push_back(t);
    ++collected_total_;
    auto i = records_.find(t);
    if (i == records_.end())
      continue;
    auto deps = std::move(i->second.deps);
    records_.erase(i);
    for (auto& d : deps) {
      auto j = records_.find(d);
      if (j == records_.end() || j->second.pins == 0)
        continue; // cannot happen: each pin has its count
      if (--j->second.pins > 0)
        continue;
      if (j->second.freed)
        todo.push_back(d);
      else if (j->second.deps.empty())
        records_.erase(j); // still referenced (or owned elsewhere)
    }
  }
}

std::vector<task_id> lineage_pins::take_collected() {
  std::lock_guard guard{mtx_};
  std::vector<task_id> out;
  out.swap(collected_);
  return out;
}

std::size_t lineage_pins::records() const {
  std::lock_guard guard{mtx_};
  return records_.size();
}

std::size_t lineage_pins::collected_total() const {
  std::lock_guard guard{mtx_};
  return collected_total_;
}

} // namespace lumen::detail

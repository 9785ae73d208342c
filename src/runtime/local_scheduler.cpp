// Depth-first, then FIFO, resource-aware task queue.
#include "runtime/local_scheduler.hpp"

namespace lumen::detail {

local_scheduler::local_scheduler(resource_set total)
  : total_(total), available_(std::move(total)) {}

resource_set local_scheduler::request_of(const task_spec& t) {
  auto result = resource_set::from_doubles(t.options.resources);
  if (t.options.num_cpus > 0)
    result.set(cpu_resource, t.options.num_cpus);
  return result;
}

bool local_scheduler::enqueue(task_ptr t) {
  auto req = request_of(*t);
  if (!total_.fits(req)) {
    infeasible_.push_back(std::move(t));
    return false;
  }
  key k{-static_cast<std::int64_t>(t->depth), seq_++};
  queue_.emplace(k, std::make_pair(std::move(t), std::move(req)));
  return true;
}

task_ptr local_scheduler::next(std::size_t max_scan) {
  std::size_t scanned = 0;
  for (auto i = queue_.begin(); i != queue_.end() && scanned < max_scan;
       ++i, ++scanned) {
    if (available_.fits(i->second.second)) {
      auto result = std::move(i->second.first);
      available_ -= i->second.second;
      queue_.erase(i);
      return result;
    }
  }
  return nullptr;
}

task_ptr local_scheduler::next_like(const resource_set& held,
                                    std::size_t max_scan) {
  std::size_t scanned = 0;
  for (auto i = queue_.begin(); i != queue_.end() && scanned < max_scan;
       ++i, ++scanned) {
    if (i->second.second == held) {
      auto result = std::move(i->second.first);
      queue_.erase(i);
      return result;
    }
  }
  return nullptr;
}

void local_scheduler::release(const resource_set& r) {
  available_ += r;
}

void local_scheduler::change_capacity(const resource_set& r, bool remove) {
  if (remove) {
    total_ -= r;
    available_ -= r;
  } else {
    total_ += r;
    available_ += r;
  }
}

void local_scheduler::force_acquire(const resource_set& r) {
  available_ -= r;
}

} // namespace lumen::detail

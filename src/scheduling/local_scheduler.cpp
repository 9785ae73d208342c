// Depth-first, then FIFO, resource-aware task queue.
#include "scheduling/local_scheduler.hpp"

#include <algorithm>

namespace lumen::detail {

local_scheduler::local_scheduler(resource_set total)
  : total_(total), available_(std::move(total)) {}

resource_set local_scheduler::request_of(const task_spec& t) {
  auto result = resource_set::from_doubles(t.options.resources);
  if (t.options.num_cpus > 0)
    result.set(cpu_resource, t.options.num_cpus);
  return result;
}

std::uint32_t local_scheduler::shape_of(const resource_set& r) {
  std::size_t free = shapes_.size();
  for (std::size_t k = 0; k < shapes_.size(); ++k) {
    if (shapes_[k].users == 0) {
      free = std::min(free, k);
      continue;
    }
    if (shapes_[k].request == r) {
      ++shapes_[k].users;
      return static_cast<std::uint32_t>(k);
    }
  }
  if (free == shapes_.size())
    shapes_.emplace_back();
  shapes_[free].request = r;
  shapes_[free].users = 1;
  return static_cast<std::uint32_t>(free);
}

void local_scheduler::unuse(std::uint32_t k) {
  --shapes_[k].users;
}

task_ptr local_scheduler::take(
  std::map<key, std::pair<task_ptr, std::uint32_t>>::iterator i) {
  auto result = std::move(i->second.first);
  unuse(i->second.second);
  queue_.erase(i);
  return result;
}

bool local_scheduler::enqueue(task_ptr t) {
  auto req = request_of(*t);
  if (!total_.fits(req)) {
    infeasible_.push_back(std::move(t));
    return false;
  }
  key k{-static_cast<std::int64_t>(t->depth), seq_++};
  queue_.emplace(k, std::make_pair(std::move(t), shape_of(req)));
  return true;
}

task_ptr local_scheduler::next(resource_set* acquired, std::size_t max_scan) {
  // Shapes that can fit now; each is tested once per scan.
  std::size_t candidates = 0;
  no_fit_.assign(shapes_.size(), 0);
  for (std::size_t k = 0; k < shapes_.size(); ++k) {
    if (shapes_[k].users == 0)
      no_fit_[k] = 1;
    else if (available_.fits(shapes_[k].request))
      ++candidates;
    else
      no_fit_[k] = 1;
  }
  if (candidates == 0)
    return nullptr;
  std::size_t scanned = 0;
  for (auto i = queue_.begin(); i != queue_.end() && scanned < max_scan;
       ++i, ++scanned) {
    auto k = i->second.second;
    if (no_fit_[k] != 0)
      continue;
    const auto& req = shapes_[k].request;
    available_ -= req;
    if (acquired != nullptr)
      *acquired = req;
    return take(i);
  }
  return nullptr;
}

task_ptr local_scheduler::next_like(const resource_set& held,
                                    std::size_t max_scan) {
  std::size_t k = 0;
  while (k < shapes_.size() &&
         (shapes_[k].users == 0 || !(shapes_[k].request == held)))
    ++k;
  if (k == shapes_.size())
    return nullptr; // no queued task asks for exactly `held`
  std::size_t scanned = 0;
  for (auto i = queue_.begin(); i != queue_.end() && scanned < max_scan;
       ++i, ++scanned)
    if (i->second.second == k)
      return take(i);
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

// The functions behind borrow_tasks.hpp, registered with LUMEN_REMOTE.
#include "borrow_tasks.hpp"

#include <chrono>
#include <thread>

#include <lumen/lumen.hpp>

#include "node/embedded_runtime.hpp"

namespace borrow_tasks {

refs make_refs(int n, std::int64_t base) {
  refs result;
  result.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    result.push_back(lumen::put(base + i));
  return result;
}

refs relay_refs(int n, std::int64_t base, std::string node) {
  auto inner = lumen::task(make_refs).node_affinity(node).remote(n, base);
  return lumen::get(inner);
}

std::int64_t sum_refs(refs rs) {
  std::int64_t sum = 0;
  for (auto v : lumen::get(rs))
    sum += v;
  return sum;
}

std::int64_t hold_refs(refs rs, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return sum_refs(std::move(rs));
}

big_bag make_big_bag(int n, std::int64_t base) {
  big_bag bag;
  bag.first = make_refs(n, base);
  bag.second.assign(64 * 1024, 7);
  return bag;
}

std::int64_t sum_bag(big_bag bag) {
  if (bag.second.size() != 64 * 1024)
    return -1;
  return sum_refs(std::move(bag.first));
}

std::uint64_t node_objects() {
  auto* rt = lumen::detail::current_embedded_runtime();
  return rt == nullptr ? 0 : rt->snapshot().objects;
}

Keeper* Keeper::create() {
  return new Keeper{};
}

std::int64_t Keeper::keep(refs rs) {
  kept.insert(kept.end(), rs.begin(), rs.end());
  return static_cast<std::int64_t>(kept.size());
}

std::int64_t Keeper::sum() {
  return sum_refs(kept);
}

refs Keeper::give() {
  return std::move(kept);
}

} // namespace borrow_tasks

LUMEN_REMOTE(borrow_tasks::make_refs, borrow_tasks::relay_refs,
             borrow_tasks::sum_refs, borrow_tasks::hold_refs,
             borrow_tasks::node_objects, borrow_tasks::make_big_bag,
             borrow_tasks::sum_bag);
LUMEN_REMOTE(borrow_tasks::Keeper::create, &borrow_tasks::Keeper::keep,
             &borrow_tasks::Keeper::sum, &borrow_tasks::Keeper::give);

// The object table's borrower side: entries for objects owned by other
// nodes, their owners, and the registrations they give back when they go
// (docs/architecture.md, "Borrowing").
#include <thread>

#include "objects/object_table.hpp"
#include "objects/object_table_state.hpp"

namespace lumen::detail {

void object_table::set_node_id(std::string id) {
  state_->node_id = std::move(id);
}

const std::string& object_table::node_id() const noexcept {
  return state_->node_id;
}

std::string object_table::owner_of(const ref_header* h) const {
  auto* e = const_cast<state::entry*>(static_cast<const state::entry*>(h));
  std::lock_guard guard{e->home->mtx};
  return e->lender.empty() ? state_->node_id : e->lender;
}

std::string object_table::lender_of(const object_id& id) const {
  auto& s = state_->shard_of(id);
  std::lock_guard guard{s.mtx};
  auto i = s.entries.find(id);
  return i == s.entries.end() ? std::string{} : i->second.lender;
}

ref_ptr object_table::borrow(const object_id& id, const std::string& owner,
                             borrow_kind* kind) {
  auto& s = state_->shard_of(id);
  // An entry whose last ref is going (count 0, not erased yet) cannot be
  // revived: wait for it to go, then make a new one.
  for (int spins = 0;; ++spins) {
    {
      std::lock_guard guard{s.mtx};
      auto i = s.entries.find(id);
      if (i == s.entries.end()) {
        auto& e = state_->insert(id, s);
        e.lender = owner;
        e.borrows = 1;
        if (state_->closed.load(std::memory_order_acquire))
          e.data = state_->close_reason;
        *kind = borrow_kind::created;
        return ref_ptr::adopt(&e);
      }
      auto& e = i->second;
      auto n = e.count.load(std::memory_order_relaxed);
      while (n > 0)
        if (e.count.compare_exchange_weak(n, n + 1,
                                          std::memory_order_relaxed)) {
          if (e.lender.empty()) {
            *kind = borrow_kind::not_counted;
          } else {
            ++e.borrows;
            *kind = borrow_kind::counted;
          }
          return ref_ptr::adopt(&e);
        }
    }
    if (spins > 1000)
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    else
      std::this_thread::yield();
  }
}

void object_table::set_borrow_hook(
  std::function<void(const object_id&, const std::string&, std::uint32_t)>
    hook) {
  state_->borrow_hook = std::move(hook);
}

std::size_t object_table::fail_lent_by(const std::string& owner,
                                       object_ptr reason) {
  std::vector<object_id> ids;
  for (auto& s : state_->shards) {
    std::lock_guard guard{s.mtx};
    for (auto& [id, e] : s.entries)
      if (!e.ready() && e.lender == owner)
        ids.push_back(id);
  }
  std::size_t n = 0;
  for (auto& id : ids)
    if (fulfill(id, reason))
      ++n;
  return n;
}

std::pair<std::size_t, std::size_t> object_table::borrowed_count() const {
  std::pair<std::size_t, std::size_t> result;
  for (auto& s : state_->shards) {
    std::lock_guard guard{s.mtx};
    for (auto& [id, e] : s.entries)
      if (!e.lender.empty()) {
        ++result.first;
        result.second += e.borrows;
      }
  }
  return result;
}

} // namespace lumen::detail

// The actor directory: entries, names, release of the last handle.
#include "scheduling/actor_directory.hpp"

#include <map>
#include <mutex>
#include <unordered_map>

#include "lumen/error.hpp"

namespace lumen::detail {

actor_link::~actor_link() = default;

struct actor_directory::state {
  struct entry : ref_header {
    std::shared_ptr<state> owner;
    std::uint64_t class_hash = 0;
    std::string name;
    std::string ns;
    std::shared_ptr<actor_link> link;
    /// Calls not answered yet, with max_pending_calls; null without.
    std::shared_ptr<pending_calls> pending;
    /// Its index in `slots` (>= 1).
    std::uint32_t slot = 0;
  };

  mutable std::mutex mtx;
  std::unordered_map<task_id, entry*> by_id;
  std::map<std::pair<std::string, std::string>, task_id> by_name;
  /// Entries by slot (slot 0 is never used), and the free slots: a call's
  /// return entry names its actor's slot (object_table::set_actor_slot).
  std::vector<entry*> slots{nullptr};
  std::vector<std::uint32_t> free_slots;
  /// The directory's own count on each live detached actor.
  std::unordered_map<task_id, ref_ptr> detached;
  bool closed = false;

  static void release(ref_header* h) noexcept {
    auto* e = static_cast<entry*>(h);
    auto st = std::move(e->owner);
    {
      std::lock_guard guard{st->mtx};
      auto id = e->id.task;
      if (auto i = st->by_id.find(id); i != st->by_id.end() && i->second == e)
        st->by_id.erase(i);
      if (!e->name.empty()) {
        auto key = std::make_pair(e->ns, e->name);
        if (auto i = st->by_name.find(key);
            i != st->by_name.end() && i->second == id)
          st->by_name.erase(i);
      }
      st->slots[e->slot] = nullptr;
      st->free_slots.push_back(e->slot);
    }
    e->link->orphan();
    delete e;
  }
};

actor_directory::actor_directory() : state_(std::make_shared<state>()) {}

actor_directory::~actor_directory() {
  close();
}

void actor_directory::check_name(const std::string& name,
                                 const std::string& ns) const {
  if (name.empty())
    return;
  std::lock_guard guard{state_->mtx};
  if (state_->by_name.count({ns, name}) > 0)
    throw name_taken_error("an actor named '" + name +
                           "' exists already in namespace '" + ns + "'");
}

void actor_directory::reserve_name(const std::string& name,
                                   const std::string& ns,
                                   const task_id& owner) {
  if (name.empty())
    return;
  std::lock_guard guard{state_->mtx};
  if (!state_->by_name.emplace(std::make_pair(ns, name), owner).second)
    throw name_taken_error("an actor named '" + name +
                           "' exists already in namespace '" + ns + "'");
}

void actor_directory::release_name(const std::string& name,
                                   const std::string& ns,
                                   const task_id& owner) {
  std::lock_guard guard{state_->mtx};
  if (auto i = state_->by_name.find({ns, name});
      i != state_->by_name.end() && i->second == owner)
    state_->by_name.erase(i);
}

ref_ptr actor_directory::add(const actor_spec& spec,
                             std::shared_ptr<actor_link> link) {
  auto e = std::make_unique<state::entry>();
  e->id = object_id{spec.id, 0};
  e->on_zero = &state::release;
  e->owner = state_;
  e->class_hash = spec.class_hash;
  e->name = spec.options.name;
  e->ns = spec.options.ns;
  e->link = std::move(link);
  if (spec.options.max_pending_calls >= 0)
    e->pending =
      std::make_shared<pending_calls>(spec.options.max_pending_calls);
  std::lock_guard guard{state_->mtx};
  if (!e->name.empty()) {
    auto [i, added] =
      state_->by_name.emplace(std::make_pair(e->ns, e->name), spec.id);
    if (!added)
      throw name_taken_error("an actor named '" + e->name +
                             "' exists already in namespace '" + e->ns + "'");
  }
  auto& st = *state_;
  if (st.free_slots.empty()) {
    e->slot = static_cast<std::uint32_t>(st.slots.size());
    st.slots.push_back(nullptr);
  } else {
    e->slot = st.free_slots.back();
    st.free_slots.pop_back();
  }
  auto* raw = e.release();
  st.slots[raw->slot] = raw;
  st.by_id.emplace(spec.id, raw);
  auto result = ref_ptr::adopt(raw);
  if (spec.options.detached)
    state_->detached.emplace(spec.id, result);
  return result;
}

actor_link& actor_directory::link_of(const ref_header* h) noexcept {
  return *static_cast<const state::entry*>(h)->link;
}

const std::shared_ptr<pending_calls>&
actor_directory::pending_of(const ref_header* h) noexcept {
  return static_cast<const state::entry*>(h)->pending;
}

std::uint64_t actor_directory::class_of(const ref_header* h) noexcept {
  return static_cast<const state::entry*>(h)->class_hash;
}

namespace {

/// Adds a count unless the entry is already on its way out.
ref_ptr try_share(ref_header* h) {
  auto n = h->count.load(std::memory_order_relaxed);
  while (n > 0)
    if (h->count.compare_exchange_weak(n, n + 1, std::memory_order_relaxed))
      return ref_ptr::adopt(h);
  return {};
}

} // namespace

ref_ptr actor_directory::find(const std::string& name, const std::string& ns,
                              std::uint64_t class_hash) {
  ref_ptr result;
  {
    std::lock_guard guard{state_->mtx};
    auto i = state_->by_name.find({ns, name});
    if (i == state_->by_name.end())
      return {};
    auto j = state_->by_id.find(i->second);
    if (j == state_->by_id.end())
      return {};
    result = try_share(j->second);
  }
  if (result && class_of(result.get()) != class_hash)
    throw type_mismatch_error("actor '" + name + "' in namespace '" + ns +
                              "' is of another class than requested");
  return result;
}

ref_ptr actor_directory::lookup(const task_id& id) {
  std::lock_guard guard{state_->mtx};
  auto i = state_->by_id.find(id);
  return i == state_->by_id.end() ? ref_ptr{} : try_share(i->second);
}

void actor_directory::dead(const task_id& id) {
  ref_ptr own;
  {
    std::lock_guard guard{state_->mtx};
    auto i = state_->by_id.find(id);
    if (i != state_->by_id.end() && !i->second->name.empty()) {
      auto key = std::make_pair(i->second->ns, i->second->name);
      if (auto j = state_->by_name.find(key);
          j != state_->by_name.end() && j->second == id)
        state_->by_name.erase(j);
    }
    if (auto j = state_->detached.find(id); j != state_->detached.end()) {
      own = std::move(j->second);
      state_->detached.erase(j);
    }
  }
  // `own` may be the last count: released outside the lock.
}

void actor_directory::close() {
  std::vector<std::shared_ptr<actor_link>> links;
  std::unordered_map<task_id, ref_ptr> detached;
  {
    std::lock_guard guard{state_->mtx};
    if (state_->closed)
      return;
    state_->closed = true;
    for (auto& kv : state_->by_id)
      links.push_back(kv.second->link);
    detached.swap(state_->detached);
  }
  for (auto& l : links)
    l->close();
}

std::uint32_t actor_directory::slot_of(const ref_header* h) noexcept {
  return static_cast<const state::entry*>(h)->slot;
}

std::shared_ptr<actor_link> actor_directory::link_at(std::uint32_t slot) const {
  std::lock_guard guard{state_->mtx};
  if (slot == 0 || slot >= state_->slots.size() ||
      state_->slots[slot] == nullptr)
    return {};
  return state_->slots[slot]->link;
}

std::size_t actor_directory::size() const {
  std::lock_guard guard{state_->mtx};
  return state_->by_id.size();
}

} // namespace lumen::detail

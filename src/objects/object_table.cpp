// Sharded object table: entries, reference release, waiting. Memory
// accounting, spilling and restoring are in object_table_spill.cpp.
#include "objects/object_table.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "log/log.hpp"
#include "lumen/error.hpp"
#include "objects/object_table_state.hpp"

namespace lumen::detail {

namespace {

using entry = object_table::state::entry;

/// Stands for a ready value not fetched yet in `wait` (see wait_for);
/// never leaves this file.
const object_ptr& spilled_marker() {
  static const object_ptr marker = std::make_shared<object_data>();
  return marker;
}

/// The entry's value for `wait`: itself, the marker if spilled, or null.
object_ptr value_or_marker(const entry& e) {
  if (e.data)
    return e.data;
  return e.spilled ? spilled_marker() : nullptr;
}

entry* entry_of(const ref_header* h) {
  return const_cast<entry*>(static_cast<const entry*>(h));
}

} // namespace

void object_table::state::release(ref_header* h) noexcept {
  auto* e = static_cast<entry*>(h);
  auto* st = e->owner;
  object_ptr doomed;
  std::vector<table_listener> listeners;
  std::vector<ref_ptr> nested;
  std::optional<spill_files::file> file;
  bool shared = false;
  std::string lender;
  std::uint32_t borrows = 0;
  bool owned = false;
  auto id = e->id;
  {
    std::lock_guard guard{e->home->mtx};
    shared = e->shared;
    lender.swap(e->lender);
    borrows = e->borrows;
    owned = e->owned;
    // Counts never rise from zero (lookup refuses), so `e` is ours alone.
    doomed = std::move(e->data);
    listeners.swap(e->listeners);
    nested.swap(e->refs);
    file = std::move(e->file);
    if (e->listed)
      e->home->unlink(*e);
    st->used.fetch_sub(e->counted, std::memory_order_relaxed);
    e->home->entries.erase(id);
  }
  // All may release other refs, even in this shard: outside the lock.
  doomed.reset();
  nested.clear();
  listeners.clear();
  if (file)
    st->spill->remove(*file);
  if (shared && st->release_hook)
    st->release_hook(id);
  // A borrowed entry gives its owner's registrations back (batched by the
  // store: docs/architecture.md, "Borrowing").
  if (borrows > 0 && st->borrow_hook)
    st->borrow_hook(id, lender, borrows);
  if (owned && st->owned_release_hook)
    st->owned_release_hook(id);
  st->unref();
}

object_table::state::entry& object_table::state::insert(const object_id& id,
                                                        shard& s) {
  auto [i, added] = s.entries.try_emplace(id);
  if (!added)
    throw error("object " + id.to_string() + " exists already");
  auto& e = i->second;
  e.id = id;
  e.owner = this;
  e.home = &s;
  e.on_zero = &state::release;
  refs.fetch_add(1, std::memory_order_relaxed);
  return e;
}

void object_table::state::notify(std::vector<table_listener>& ls) {
  for (auto& l : ls) {
    if (l.w) {
      std::lock_guard guard{l.w->mtx};
      if (++l.w->hits >= l.w->target)
        l.w->cv.notify_one();
    } else {
      l.callback();
    }
  }
}

object_table::object_table(std::size_t capacity_bytes) : state_(new state) {
  state_->capacity = capacity_bytes;
  state_->high_water = capacity_bytes;
}

object_table::~object_table() {
  if (state_->spill)
    state_->spill->remove_all();
  state_->unref();
}

ref_ptr object_table::create_pending(const object_id& id) {
  auto& s = state_->shard_of(id);
  std::lock_guard guard{s.mtx};
  auto& e = state_->insert(id, s);
  // After close nothing will fulfill it: fail it at once.
  if (state_->closed.load(std::memory_order_acquire))
    e.data = state_->close_reason;
  return ref_ptr::adopt(&e);
}

void object_table::set_max_object_size(std::size_t bytes) {
  state_->max_object_size = bytes;
}

std::size_t object_table::max_object_size() const noexcept {
  auto bound = state_->max_object_size;
  return bound == 0 ? state_->capacity : std::min(bound, state_->capacity);
}

namespace {

/// Why an object of `size` bytes is refused by `bound` (0: none), or "".
std::string over_bound(std::size_t size, std::size_t bound) {
  if (bound == 0 || size <= bound)
    return {};
  return std::to_string(size) + " bytes, more than max_object_size (" +
         std::to_string(bound) + " bytes)";
}

} // namespace

ref_ptr object_table::put(const object_id& id, object_ptr data) {
  if (state_->closed.load(std::memory_order_acquire))
    throw error("lumen is shutting down");
  auto size = data->bytes.size();
  if (auto why = over_bound(size, state_->max_object_size); !why.empty())
    throw error("lumen::put: the object is " + why);
  if (auto why = state_->reserve(size, false); !why.empty())
    throw object_store_full_error("object store full: " + why);
  auto& s = state_->shard_of(id);
  std::lock_guard guard{s.mtx};
  try {
    auto& e = state_->insert(id, s);
    e.data = std::move(data);
    e.counted = size;
    state_->list_if_spillable(e);
    return ref_ptr::adopt(&e);
  } catch (...) {
    state_->used.fetch_sub(size, std::memory_order_relaxed);
    throw;
  }
}

bool object_table::fulfill(const object_id& id, object_ptr data) {
  auto size = data->bytes.size();
  if (auto why = over_bound(size, state_->max_object_size); !why.empty()) {
    data = make_error_object(error_kind::runtime_error,
                             "object " + id.to_string() + " is " + why +
                               "; it was dropped");
    log_warn(data->error->message);
    size = 0;
  } else if (auto why = state_->reserve(size, false); !why.empty()) {
    data =
      make_error_object(error_kind::store_full,
                        "object store full: result of " + std::to_string(size) +
                          " bytes does not fit: " + why);
    log_warn("object ", id.to_string(), ": ", data->error->message);
    size = 0;
  }
  std::vector<table_listener> ls;
  auto& s = state_->shard_of(id);
  {
    std::lock_guard guard{s.mtx};
    auto i = s.entries.find(id);
    if (i == s.entries.end() || i->second.ready() ||
        i->second.count.load(std::memory_order_acquire) == 0) {
      state_->used.fetch_sub(size, std::memory_order_relaxed);
      return false;
    }
    i->second.data = std::move(data);
    i->second.counted = size;
    state_->list_if_spillable(i->second);
    ls.swap(i->second.listeners);
  }
  state::notify(ls);
  return true;
}

object_ptr object_table::try_get(const ref_header* h) const {
  auto* e = entry_of(h);
  {
    std::lock_guard guard{e->home->mtx};
    if (e->data || !e->spilled)
      return e->data;
  }
  return state_->restore(*e);
}

bool object_table::ready(const ref_header* h) const {
  auto* e = entry_of(h);
  std::lock_guard guard{e->home->mtx};
  return e->ready();
}

ref_ptr object_table::lookup(const object_id& id) {
  auto& s = state_->shard_of(id);
  std::lock_guard guard{s.mtx};
  auto i = s.entries.find(id);
  if (i == s.entries.end())
    return {};
  auto& count = i->second.count;
  auto n = count.load(std::memory_order_relaxed);
  while (n > 0)
    if (count.compare_exchange_weak(n, n + 1, std::memory_order_relaxed))
      return ref_ptr::adopt(&i->second);
  return {};
}

namespace {

/// `wait` without reading spilled values back: the marker stands for them,
/// and for every ready value unless `values`. A wait that blocks holds no
/// value meanwhile (a held value cannot spill), so then the marker stands
/// for all.
std::vector<object_ptr>
wait_for(const std::vector<const ref_header*>& refs, std::size_t needed,
         std::optional<object_table::clock::time_point> deadline, bool values) {
  using clock = object_table::clock;
  std::vector<object_ptr> result(refs.size());
  std::size_t ready = 0;
  std::shared_ptr<table_waiter> w;
  std::vector<std::size_t> registered;
  for (std::size_t i = 0; i < refs.size(); ++i) {
    auto* e = entry_of(refs[i]);
    std::lock_guard guard{e->home->mtx};
    if (e->ready()) {
      result[i] = values ? value_or_marker(*e) : spilled_marker();
      ++ready;
    } else if (!(deadline && *deadline <= clock::now())) {
      if (!w)
        w = std::make_shared<table_waiter>();
      e->listeners.push_back(table_listener{w, {}});
      registered.push_back(i);
    }
  }
  if (ready >= needed || !w)
    return result;
  for (auto& x : result)
    if (x)
      x = spilled_marker();
  // A short spin first (yielding the core): an answer due within tens of
  // microseconds, as a task's or actor call's on an idle node, then costs
  // no sleep and wake-up of this thread.
  constexpr auto spin_for = std::chrono::microseconds{50};
  auto spin_until = clock::now() + spin_for;
  if (!deadline || *deadline > spin_until)
    for (int i = 0; ready + w->hits.load(std::memory_order_acquire) < needed;
         ++i) {
      if ((i & 63) == 63 && clock::now() > spin_until)
        break;
      std::this_thread::yield();
    }
  {
    std::unique_lock guard{w->mtx};
    w->target = needed - ready;
    auto done = [&] {
      return ready + w->hits >= needed;
    };
    if (deadline)
      w->cv.wait_until(guard, *deadline, done);
    else
      w->cv.wait(guard, done);
  }
  for (auto i : registered) {
    auto* e = entry_of(refs[i]);
    std::lock_guard guard{e->home->mtx};
    if (e->ready()) {
      result[i] = spilled_marker();
    } else {
      auto& ls = e->listeners;
      ls.erase(std::remove_if(ls.begin(), ls.end(),
                              [&](const table_listener& l) {
                                return l.w == w;
                              }),
               ls.end());
    }
  }
  return result;
}

} // namespace

std::vector<object_ptr>
object_table::wait(const std::vector<const ref_header*>& refs,
                   std::size_t needed,
                   std::optional<clock::time_point> deadline) {
  auto result = wait_for(refs, needed, deadline, true);
  // Values in memory by now come back without a read (see restore).
  for (std::size_t i = 0; i < result.size(); ++i)
    if (result[i] == spilled_marker())
      result[i] = state_->restore(*entry_of(refs[i]));
  return result;
}

std::vector<bool>
object_table::wait_ready(const std::vector<const ref_header*>& refs,
                         std::size_t needed,
                         std::optional<clock::time_point> deadline) {
  auto found = wait_for(refs, needed, deadline, false);
  std::vector<bool> result(found.size());
  for (std::size_t i = 0; i < found.size(); ++i)
    result[i] = found[i] != nullptr;
  return result;
}

void object_table::when_ready(const ref_header* h,
                              std::function<void()> callback) {
  auto* e = entry_of(h);
  {
    std::lock_guard guard{e->home->mtx};
    if (!e->ready()) {
      e->listeners.push_back(table_listener{nullptr, std::move(callback)});
      return;
    }
  }
  callback();
}

void object_table::close(object_ptr reason) {
  if (state_->closed.load(std::memory_order_acquire))
    return;
  // Published by the release store below; create_pending reads it only
  // after seeing `closed`, and entries it made before are failed below.
  state_->close_reason = reason;
  state_->closed.store(true, std::memory_order_release);
  for (auto& s : state_->shards) {
    std::vector<table_listener> ls;
    {
      std::lock_guard guard{s.mtx};
      for (auto& kv : s.entries) {
        if (!kv.second.ready()) {
          kv.second.data = reason;
          for (auto& l : kv.second.listeners)
            ls.push_back(std::move(l));
          kv.second.listeners.clear();
        }
      }
    }
    state::notify(ls);
  }
}

ref_ptr object_table::create_owned(const object_id& id) {
  auto& s = state_->shard_of(id);
  std::lock_guard guard{s.mtx};
  auto& e = state_->insert(id, s);
  e.owned = true;
  if (state_->closed.load(std::memory_order_acquire))
    e.data = state_->close_reason;
  return ref_ptr::adopt(&e);
}

void object_table::set_owned_release_hook(
  std::function<void(const object_id&)> hook) {
  state_->owned_release_hook = std::move(hook);
}

void object_table::set_release_hook(
  std::function<void(const object_id&)> hook) {
  state_->release_hook = std::move(hook);
}

bool object_table::mark_shared(const object_id& id) {
  auto& s = state_->shard_of(id);
  std::lock_guard guard{s.mtx};
  auto i = s.entries.find(id);
  if (i == s.entries.end())
    return false;
  i->second.shared = true;
  return true;
}

object_table::stats object_table::memory_use() const {
  stats result;
  result.used_bytes = state_->used.load(std::memory_order_relaxed);
  result.capacity_bytes = state_->capacity;
  return result;
}

object_table::stats object_table::get_stats() const {
  stats result;
  for (auto& s : state_->shards) {
    std::lock_guard guard{s.mtx};
    result.objects += s.entries.size();
    for (auto& kv : s.entries) {
      auto& e = kv.second;
      if (!e.ready()) {
        ++result.pending;
      } else if (e.spilled) {
        ++result.spilled_objects;
        result.spilled_bytes += e.file->size;
      }
    }
  }
  result.used_bytes = state_->used.load(std::memory_order_relaxed);
  result.capacity_bytes = state_->capacity;
  if (auto& files = state_->spill) {
    result.spill_file_bytes = files->used_bytes();
    result.spill_capacity_bytes = files->capacity();
  }
  result.restored_objects = state_->restored.load(std::memory_order_relaxed);
  return result;
}

object_ptr make_error_object(error_kind kind, std::string message,
                             std::string type_name, std::string task_name) {
  auto data = std::make_shared<object_data>();
  auto info = std::make_shared<error_info>();
  info->kind = kind;
  info->message = std::move(message);
  info->type_name = std::move(type_name);
  info->task_name = std::move(task_name);
  data->error = std::move(info);
  return data;
}

void object_table::set_actor_slot(const ref_header* h,
                                  std::uint32_t slot) noexcept {
  const_cast<state::entry*>(static_cast<const state::entry*>(h))->actor_slot =
    slot;
}

std::uint32_t object_table::actor_slot(const ref_header* h) const noexcept {
  return static_cast<const state::entry*>(h)->actor_slot;
}

} // namespace lumen::detail

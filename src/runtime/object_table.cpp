// Sharded object table: entries, reference release, waiting.
#include "runtime/object_table.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include "lumen/error.hpp"

namespace lumen::detail {

namespace {

/// One thread blocked in `wait`, or one callback.
struct waiter {
  std::mutex mtx;
  std::condition_variable cv;
  std::size_t hits = 0;
};

struct listener {
  std::shared_ptr<waiter> w;
  std::function<void()> callback;
};

constexpr std::size_t shard_count = 64;

} // namespace

struct object_table::state {
  struct shard;

  struct entry : ref_header {
    state* owner = nullptr;
    shard* home = nullptr;
    object_ptr data;
    /// Bytes of `data` counted against the capacity (0 for error objects
    /// that `close` set).
    std::size_t counted = 0;
    /// Copies exist on other nodes: tell the release hook.
    bool shared = false;
    std::vector<listener> listeners;
  };

  struct alignas(64) shard {
    mutable std::mutex mtx;
    std::unordered_map<object_id, entry> entries;
  };

  shard shards[shard_count];
  /// One count for the table object plus one per live entry.
  std::atomic<std::size_t> refs{1};
  std::atomic<std::size_t> used{0};
  std::atomic<bool> closed{false};
  std::size_t capacity = 0;
  /// What pending entries become once the table is closed.
  object_ptr close_reason;
  std::function<void(const object_id&)> release_hook;

  shard& shard_of(const object_id& id) {
    return shards[std::hash<object_id>{}(id) % shard_count];
  }

  void unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
      delete this;
  }

  static void release(ref_header* h) noexcept {
    auto* e = static_cast<entry*>(h);
    auto* st = e->owner;
    object_ptr doomed;
    std::vector<listener> listeners;
    bool shared = false;
    auto id = e->id;
    {
      std::lock_guard guard{e->home->mtx};
      shared = e->shared;
      // Counts never rise from zero (lookup refuses), so `e` is ours alone.
      doomed = std::move(e->data);
      listeners.swap(e->listeners);
      st->used.fetch_sub(e->counted, std::memory_order_relaxed);
      e->home->entries.erase(id);
    }
    // Both may release other refs, even in this shard: outside the lock.
    doomed.reset();
    listeners.clear();
    if (shared && st->release_hook)
      st->release_hook(id);
    st->unref();
  }

  entry& insert(const object_id& id, shard& s) {
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

  static void notify(std::vector<listener>& ls) {
    for (auto& l : ls) {
      if (l.w) {
        std::lock_guard guard{l.w->mtx};
        ++l.w->hits;
        l.w->cv.notify_one();
      } else {
        l.callback();
      }
    }
  }
};

object_table::object_table(std::size_t capacity_bytes) : state_(new state) {
  state_->capacity = capacity_bytes;
}

object_table::~object_table() {
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

ref_ptr object_table::put(const object_id& id, object_ptr data) {
  if (state_->closed.load(std::memory_order_acquire))
    throw error("lumen is shutting down");
  auto size = data->bytes.size();
  auto used = state_->used.fetch_add(size, std::memory_order_relaxed);
  if (used + size > state_->capacity) {
    state_->used.fetch_sub(size, std::memory_order_relaxed);
    throw object_store_full_error("object store full: " + std::to_string(used) +
                                  " of " + std::to_string(state_->capacity) +
                                  " bytes used, object needs " +
                                  std::to_string(size));
  }
  auto& s = state_->shard_of(id);
  std::lock_guard guard{s.mtx};
  try {
    auto& e = state_->insert(id, s);
    e.data = std::move(data);
    e.counted = size;
    return ref_ptr::adopt(&e);
  } catch (...) {
    state_->used.fetch_sub(size, std::memory_order_relaxed);
    throw;
  }
}

bool object_table::fulfill(const object_id& id, object_ptr data) {
  auto size = data->bytes.size();
  auto used = state_->used.fetch_add(size, std::memory_order_relaxed);
  if (used + size > state_->capacity) {
    state_->used.fetch_sub(size, std::memory_order_relaxed);
    data = make_error_object(error_kind::store_full,
                             "object store full: result of " +
                               std::to_string(size) + " bytes does not fit");
    size = 0;
  }
  std::vector<listener> ls;
  auto& s = state_->shard_of(id);
  {
    std::lock_guard guard{s.mtx};
    auto i = s.entries.find(id);
    if (i == s.entries.end() || i->second.data ||
        i->second.count.load(std::memory_order_acquire) == 0) {
      state_->used.fetch_sub(size, std::memory_order_relaxed);
      return false;
    }
    i->second.data = std::move(data);
    i->second.counted = size;
    ls.swap(i->second.listeners);
  }
  state::notify(ls);
  return true;
}

object_ptr object_table::try_get(const ref_header* h) const {
  auto* e = static_cast<const state::entry*>(h);
  std::lock_guard guard{e->home->mtx};
  return e->data;
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

std::vector<object_ptr>
object_table::wait(const std::vector<const ref_header*>& refs,
                   std::size_t needed,
                   std::optional<clock::time_point> deadline) {
  std::vector<object_ptr> result(refs.size());
  std::size_t ready = 0;
  std::shared_ptr<waiter> w;
  std::vector<std::size_t> registered;
  for (std::size_t i = 0; i < refs.size(); ++i) {
    auto* e =
      const_cast<state::entry*>(static_cast<const state::entry*>(refs[i]));
    std::lock_guard guard{e->home->mtx};
    if (e->data) {
      result[i] = e->data;
      ++ready;
    } else if (!(deadline && *deadline <= clock::now())) {
      if (!w)
        w = std::make_shared<waiter>();
      e->listeners.push_back(listener{w, {}});
      registered.push_back(i);
    }
  }
  if (ready >= needed || !w)
    return result;
  {
    std::unique_lock guard{w->mtx};
    auto done = [&] {
      return ready + w->hits >= needed;
    };
    if (deadline)
      w->cv.wait_until(guard, *deadline, done);
    else
      w->cv.wait(guard, done);
  }
  for (auto i : registered) {
    auto* e =
      const_cast<state::entry*>(static_cast<const state::entry*>(refs[i]));
    std::lock_guard guard{e->home->mtx};
    if (e->data) {
      result[i] = e->data;
    } else {
      auto& ls = e->listeners;
      ls.erase(std::remove_if(ls.begin(), ls.end(),
                              [&](const listener& l) {
                                return l.w == w;
                              }),
               ls.end());
    }
  }
  return result;
}

void object_table::when_ready(const ref_header* h,
                              std::function<void()> callback) {
  auto* e = const_cast<state::entry*>(static_cast<const state::entry*>(h));
  {
    std::lock_guard guard{e->home->mtx};
    if (!e->data) {
      e->listeners.push_back(listener{nullptr, std::move(callback)});
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
    std::vector<listener> ls;
    {
      std::lock_guard guard{s.mtx};
      for (auto& kv : s.entries) {
        if (!kv.second.data) {
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

object_table::stats object_table::get_stats() const {
  stats result;
  for (auto& s : state_->shards) {
    std::lock_guard guard{s.mtx};
    result.objects += s.entries.size();
    for (auto& kv : s.entries)
      if (!kv.second.data)
        ++result.pending;
  }
  result.used_bytes = state_->used.load(std::memory_order_relaxed);
  result.capacity_bytes = state_->capacity;
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

} // namespace lumen::detail

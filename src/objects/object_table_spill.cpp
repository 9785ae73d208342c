// The object table's memory accounting: the high-water mark, spilling the
// oldest unused values to disk, and reading them back on demand.
#include <algorithm>
#include <utility>

#include "log/log.hpp"
#include "lumen/error.hpp"
#include "objects/object_table.hpp"
#include "objects/object_table_state.hpp"

namespace lumen::detail {

namespace {

using entry = object_table::state::entry;

/// A value that may spill, found by a spill pass. `keep` holds the entry
/// alive while the pass works on it without its shard's lock.
struct candidate {
  std::uint64_t seq = 0;
  entry* e = nullptr;
  ref_ptr keep;
};

/// A count on `e` unless it is being released (count zero).
ref_ptr share_live(entry& e) {
  auto n = e.count.load(std::memory_order_relaxed);
  while (n > 0)
    if (e.count.compare_exchange_weak(n, n + 1, std::memory_order_relaxed))
      return ref_ptr::adopt(&e);
  return {};
}

/// Whether no reader holds the value: only the entry (and `extra` other
/// known holders) own it. Exact under the entry's shard lock, since every
/// first copy of `data` is taken under it.
bool unused(const entry& e, long extra = 0) {
  return e.data && e.data.use_count() == 1 + extra;
}

} // namespace

// -- the shard's list of values that may spill ------------------------------

void object_table::state::shard::link(entry& e) noexcept {
  e.older = newest;
  e.newer = nullptr;
  if (newest != nullptr)
    newest->newer = &e;
  else
    oldest = &e;
  newest = &e;
  e.listed = true;
}

void object_table::state::shard::unlink(entry& e) noexcept {
  if (e.older != nullptr)
    e.older->newer = e.newer;
  else
    oldest = e.newer;
  if (e.newer != nullptr)
    e.newer->older = e.older;
  else
    newest = e.older;
  e.older = e.newer = nullptr;
  e.listed = false;
}

void object_table::state::list_if_spillable(entry& e) {
  if (!spill || e.counted == 0 || e.data->error || e.listed)
    return;
  e.seq = next_seq.fetch_add(1, std::memory_order_relaxed);
  e.home->link(e);
}

// -- enabling -----------------------------------------------------------------

void object_table::enable_spilling(spill_options opts) {
  auto t = opts.threshold;
  if (!(t > 0 && t <= 1))
    throw error("object_spilling_threshold must be above 0 and at most 1, "
                "got " +
                std::to_string(t));
  state_->spill =
    std::make_unique<spill_files>(std::move(opts.directory), opts.capacity);
  state_->high_water =
    static_cast<std::size_t>(static_cast<double>(state_->capacity) * t);
}

// -- reserving memory ---------------------------------------------------------

std::string object_table::state::reserve(std::size_t size, bool overcommit) {
  if (!overcommit && size > capacity)
    return "an object of " + std::to_string(size) +
           " bytes is larger than the whole store (" +
           std::to_string(capacity) + " bytes)";
  auto now = used.fetch_add(size, std::memory_order_relaxed) + size;
  if (now <= high_water)
    return {};
  if (!spill) {
    if (now <= capacity)
      return {};
    used.fetch_sub(size, std::memory_order_relaxed);
    return std::to_string(now - size) + " of " + std::to_string(capacity) +
           " bytes used, object needs " + std::to_string(size);
  }
  std::string why;
  // Others may fill what a pass freed before this thread checks: a pass
  // that reached the mark is worth another try, one that did not is final.
  for (int attempt = 0; attempt < 64; ++attempt) {
    bool reached = make_room(&why);
    auto u = used.load(std::memory_order_relaxed);
    if (overcommit || u <= capacity)
      return {};
    if (!reached)
      break;
  }
  auto u = used.fetch_sub(size, std::memory_order_relaxed) - size;
  if (why.empty())
    why = "other objects took the room spilling made";
  return "an object of " + std::to_string(size) +
         " bytes does not fit in memory (" + std::to_string(u) + " of " +
         std::to_string(capacity) + " bytes used) and no more can spill to " +
         spill->directory() + " (" + std::to_string(spill->used_bytes()) +
         " bytes in " + std::to_string(spill->file_count()) + " files, " +
         (spill->capacity() > 0
            ? "capacity " + std::to_string(spill->capacity()) + " bytes"
            : std::string{"no limit but the disk"}) +
         "): " + why;
}

// -- spilling -----------------------------------------------------------------

namespace {

/// Values of `s` that may spill now, oldest first, about `need` bytes;
/// with `filed_only`, only those that have a file already (no write).
void collect(object_table::state::shard& s, std::size_t need, bool filed_only,
             std::vector<candidate>& out) {
  std::lock_guard guard{s.mtx};
  std::size_t found = 0;
  for (auto* e = s.oldest; e != nullptr && found < need; e = e->newer) {
    if (!unused(*e))
      continue; // a reader or a running task holds it
    if (filed_only && !e->file)
      continue;
    auto keep = share_live(*e);
    if (!keep)
      continue;
    found += e->counted;
    out.push_back(candidate{e->seq, e, std::move(keep)});
  }
}

/// What spilling one candidate came to.
enum class spill_outcome { spilled, skipped, failed };

/// Spills `c` if no reader took its value meanwhile; writes a file unless
/// it has one already (and only `may_write`). Adds the bytes freed to
/// `*freed`; `failed` (the reason in `*why`) when its file cannot be
/// written.
spill_outcome spill_one(object_table::state& st, candidate& c, bool may_write,
                        std::size_t* freed, std::string* why) {
  auto& e = *c.e;
  auto& home = *e.home;
  object_ptr value;
  std::optional<spill_files::file> file;
  {
    std::lock_guard guard{home.mtx};
    if (!e.listed || !unused(e))
      return spill_outcome::skipped;
    value = e.data;
    file = e.file;
  }
  if (!file) {
    if (!may_write)
      return spill_outcome::skipped;
    // Outside every shard lock: readers of other values go on meanwhile.
    file = st.spill->write(e.id, value->bytes.data(), value->bytes.size(), why);
    if (!file)
      return spill_outcome::failed;
  }
  bool done = false;
  {
    std::lock_guard guard{home.mtx};
    // The file holds the value whatever happens now: values never change.
    if (!e.file)
      e.file = std::move(file);
    if (e.listed && e.data == value && unused(e, 1)) {
      e.refs = value->refs; // the value's references stay counted
      e.data.reset();
      e.spilled = true;
      home.unlink(e);
      *freed += e.counted;
      st.used.fetch_sub(e.counted, std::memory_order_relaxed);
      e.counted = 0;
      done = true;
    }
  }
  // The last owner of the bytes frees them here, outside the lock.
  value.reset();
  return done ? spill_outcome::spilled : spill_outcome::skipped;
}

} // namespace

bool object_table::state::make_room(std::string* why) {
  std::lock_guard guard{spill_mtx};
  bool may_write = true;
  for (;;) {
    auto u = used.load(std::memory_order_relaxed);
    if (u <= high_water)
      return true;
    auto need = u - high_water;
    std::vector<candidate> cs;
    for (auto& s : shards)
      collect(s, need, !may_write, cs);
    std::sort(cs.begin(), cs.end(), [](const candidate& x, const candidate& y) {
      return x.seq < y.seq;
    });
    std::size_t freed = 0;
    bool could_write = may_write;
    for (auto& c : cs) {
      if (freed >= need)
        break;
      auto outcome = spill_one(*this, c, may_write, &freed, why);
      // A full disk ends writing; values with a file still spill for free.
      if (outcome == spill_outcome::failed)
        may_write = false;
    }
    // Dropping `keep` may free entries: no shard lock is held here.
    cs.clear();
    // The disk filled up in this pass: values read back from their files
    // (restored) may still spill for free, but this pass may not have
    // collected them (older values without a file came first).
    if (freed == 0 && could_write && !may_write)
      continue;
    if (freed == 0) {
      if (why->empty())
        *why = "every object in memory is in use (read by the program or an "
               "argument of a running task)";
      return used.load(std::memory_order_relaxed) <= high_water;
    }
  }
}

// -- restoring ----------------------------------------------------------------

object_ptr object_table::state::restore(entry& e) {
  spill_files::file file;
  {
    std::lock_guard guard{e.home->mtx};
    if (e.data || !e.spilled)
      return e.data;
    file = *e.file;
  }
  reserve(file.size, true);
  auto value = std::make_shared<object_data>();
  std::string why;
  if (!spill->read(file, value->bytes, &why)) {
    used.fetch_sub(file.size, std::memory_order_relaxed);
    log_warn("object ", e.id.to_string(),
             " was spilled to disk and cannot be read back: ", why);
    return make_error_object(error_kind::object_lost,
                             "object " + e.id.to_string() +
                               " was spilled to disk and cannot be read "
                               "back: " +
                               why);
  }
  std::vector<ref_ptr> nested;
  object_ptr result;
  {
    std::lock_guard guard{e.home->mtx};
    if (e.data) {
      // Another thread restored it first.
      used.fetch_sub(file.size, std::memory_order_relaxed);
      result = e.data;
    } else {
      value->refs = e.refs;
      nested.swap(e.refs);
      e.data = value;
      e.spilled = false;
      e.counted = file.size;
      list_if_spillable(e);
      restored.fetch_add(1, std::memory_order_relaxed);
      result = std::move(value);
    }
  }
  return result;
}

} // namespace lumen::detail

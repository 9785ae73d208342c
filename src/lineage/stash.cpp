// The lineage stash: segments in memory, RocksDB without sync, commit
// bookkeeping. Orphaned stashes: stash_orphans.cpp.
#include "lineage/stash.hpp"
#include "lineage/stash_keys.hpp"

#include <algorithm>
#include <thread>
#include <unistd.h>
#include <unordered_set>

#include "log/log.hpp"
#include "lumen/error.hpp"
#include "storage/dir_lock.hpp"
#include "storage/rocks_db.hpp"
#include "wire/lineage_batch.hpp"
#include "wire/task_spec.hpp"
#include "wire/task_spec_codec.hpp"

namespace lumen::detail {

namespace {

/// The id as text (task_id::to_string), without a heap allocation.
struct id_text {
  char digits[32];
  operator std::string_view() const noexcept {
    return {digits, sizeof(digits)};
  }
};

id_text hex_of(const task_id& id) {
  id_text out;
  id.write_hex(out.digits);
  return out;
}

} // namespace

lineage_stash::lineage_stash(const std::string& path) {
  // Locked before RocksDB opens it: from now until this stash ends, no
  // other node takes the directory for an orphan's.
  std::string why;
  lock_fd_ = make_locked_dir(path, &why);
  if (lock_fd_ < 0)
    throw error("lineage stash: " + why);
  try {
    db_ = std::make_unique<rocks_db>(path);
    load();
  } catch (...) {
    db_.reset();
    ::close(lock_fd_);
    throw;
  }
}

void lineage_stash::load() {
  // Rows of an earlier run on this directory were never committed.
  db_->scan(stash_key_prefix, [&](std::string_view k, std::string_view v) {
    if (auto id = stash_id_of(k)) {
      std::pair<task_id, std::vector<task_id>> parsed;
      try {
        parsed = spec_deps(std::string{v});
      } catch (const std::exception&) {
        parsed = {*id, {}}; // the GCS checks it; no ancestors to follow
      }
      add_spec_row(*id, parsed.second, v);
    }
    return true;
  });
  for (auto& seg : segments_)
    seg.sealed = seg.on_disk = seg.ripe = true;
}

lineage_stash::~lineage_stash() {
  try {
    flush_to_disk(true);
  } catch (const std::exception&) {
    // Best effort: the rows were not committed and are lost with us.
  }
  db_.reset();
  ::close(lock_fd_);
}

bool lineage_stash::append(const task_id& id, std::string spec,
                           std::vector<task_id> deps) {
  std::lock_guard guard{in_mtx_};
  incoming_.push_back({id, std::move(spec), std::move(deps), nullptr});
  return incoming_.size() == 1;
}

bool lineage_stash::append(std::shared_ptr<const task_spec> task) {
  auto id = task->id;
  std::lock_guard guard{in_mtx_};
  incoming_.push_back({id, {}, {}, std::move(task)});
  return incoming_.size() == 1;
}

lineage_stash::segment& lineage_stash::open_segment() {
  if (segments_.empty() || segments_.back().sealed) {
    if (spare_segments_.empty()) {
      segments_.emplace_back();
    } else {
      segments_.push_back(std::move(spare_segments_.back()));
      spare_segments_.pop_back();
    }
    auto& seg = segments_.back();
    seg.seq = next_seq_++;
    seg.born = flushes_;
    // Room for as much as the last segment took, within reason: rows are
    // written in place, not copied as the string grows.
    seg.rows->reserve(std::min(last_bytes_, std::size_t{1} << 20));
    seg.index.reserve(std::min(last_rows_, segment_rows));
  }
  return segments_.back();
}

void lineage_stash::recycle(segment& seg) {
  // Two cover a segment being written while the last one commits; a
  // segment grown past the usual size gives its memory back.
  constexpr std::size_t keep = 2;
  constexpr std::size_t largest = std::size_t{2} << 20;
  if (spare_segments_.size() >= keep || seg.rows.use_count() != 1 ||
      seg.rows->capacity() > largest)
    return;
  auto& spare = spare_segments_.emplace_back(std::move(seg));
  spare.rows->clear();
  spare.index.clear();
  spare.deps.clear();
  spare.by_id.clear();
  spare.sealed = spare.in_flight = spare.on_disk = spare.ripe = false;
  spare.local = false;
}

template <class Write>
void lineage_stash::add_row(const task_id& id, const std::vector<task_id>& deps,
                            Write&& write) {
  auto& seg = open_segment();
  auto& rows = *seg.rows;
  auto at = rows.size();
  auto deps_at = seg.deps.size();
  try {
    auto mark = begin_lineage_row(rows, hex_of(id));
    write(rows);
    end_lineage_row(rows, mark);
    if (rows.size() > UINT32_MAX)
      throw error("lineage stash: a segment of 4 GiB or more");
  } catch (...) {
    rows.resize(at);
    throw;
  }
  seg.deps.insert(seg.deps.end(), deps.begin(), deps.end());
  present_[0].insert(present_key(id));
  seg.index.push_back({id, static_cast<std::uint32_t>(at),
                       static_cast<std::uint32_t>(deps_at),
                       static_cast<std::uint32_t>(seg.deps.size())});
  ++rows_;
  // Sealed when full, or big enough for one message.
  if (seg.index.size() >= segment_rows || rows.size() >= (8u << 20))
    seg.sealed = true;
}

void lineage_stash::add_spec_row(const task_id& id,
                                 const std::vector<task_id>& deps,
                                 std::string_view spec) {
  add_row(id, deps, [&](std::string& out) {
    out.append(spec);
  });
}

void lineage_stash::drain() {
  // The rest of what take_in took, then what came since.
  bool partial = taken_ < taking_.size();
  drain_some(SIZE_MAX);
  if (partial)
    drain_some(SIZE_MAX);
}

bool lineage_stash::drain_some(std::size_t limit) {
  if (taking_.empty()) {
    // The queues swap: the appending thread goes on with the emptied one,
    // which kept its capacity, instead of growing a new one each time.
    std::lock_guard guard{in_mtx_};
    taking_.swap(incoming_);
  }
  auto& deps = deps_buffer_;
  auto end = taken_ + std::min(limit, taking_.size() - taken_);
  for (; taken_ < end; ++taken_) {
    auto& r = taking_[taken_];
    try {
      if (r.task) {
        deps.clear();
        append_task_deps(deps, *r.task);
        add_row(r.id, deps, [&](std::string& out) {
          append_task_spec(out, *r.task);
        });
        segments_.back().local = true; // add_row wrote into the last
        r.task.reset(); // its arguments need not wait for the commit
      } else if (!maybe_present(r.id) || !locate(r.id, nullptr)) {
        add_row(r.id, r.deps, [&](std::string& out) {
          out.append(r.spec);
        });
      }
    } catch (const std::exception& e) {
      // Not encodable: it runs unrecorded, as a task whose lineage could
      // not be written ahead would.
      detail::log_warn("lineage of task ", r.id.to_string(),
                       " not stashed: ", e.what());
    }
  }
  if (taken_ < taking_.size())
    return true;
  taking_.clear(); // specs and tasks go now, not at the next swap
  taken_ = 0;
  return false;
}

void lineage_stash::take_in(std::size_t chunk) {
  chunk = std::max<std::size_t>(chunk, 1);
  for (;;) {
    {
      std::lock_guard guard{mtx_};
      if (!drain_some(chunk))
        return;
    }
    std::this_thread::yield();
  }
}

std::string_view lineage_stash::spec_of(const segment& seg,
                                        const segment::row& r) {
  std::size_t pos = r.at;
  auto row = read_lineage_row(*seg.rows, pos);
  return row ? row->spec : std::string_view{};
}

const lineage_stash::segment::row* lineage_stash::locate(const task_id& id,
                                                         const segment** in) {
  for (auto& seg : segments_) {
    const segment::row* found = nullptr;
    if (!seg.sealed) {
      for (auto& r : seg.index)
        if (r.id == id) {
          found = &r;
          break;
        }
    } else {
      if (seg.by_id.size() != seg.index.size()) {
        seg.by_id.resize(seg.index.size());
        for (std::uint32_t k = 0; k < seg.by_id.size(); ++k)
          seg.by_id[k] = k;
        std::sort(seg.by_id.begin(), seg.by_id.end(),
                  [&](std::uint32_t a, std::uint32_t b) {
                    return seg.index[a].id < seg.index[b].id;
                  });
      }
      auto i = std::lower_bound(seg.by_id.begin(), seg.by_id.end(), id,
                                [&](std::uint32_t k, const task_id& x) {
                                  return seg.index[k].id < x;
                                });
      if (i != seg.by_id.end() && seg.index[*i].id == id)
        found = &seg.index[*i];
    }
    if (found) {
      if (in)
        *in = &seg;
      return found;
    }
  }
  return nullptr;
}

lineage_stash::segment* lineage_stash::segment_of(std::uint64_t seq) {
  for (auto& seg : segments_)
    if (seg.seq == seq)
      return &seg;
  return nullptr;
}

std::size_t lineage_stash::flush_to_disk(bool all) {
  rocks_db::batch b;
  std::vector<std::uint64_t> written;
  std::size_t n = 0;
  {
    std::lock_guard guard{mtx_};
    drain();
    // A row is written once a whole period passed since it came: rows
    // that come from now on go to a segment of their own.
    auto now = flushes_++;
    if (!segments_.empty())
      segments_.back().sealed = true;
    for (auto& seg : segments_) {
      if (seg.on_disk || (!all && (seg.in_flight || seg.born >= now)))
        continue;
      for (auto& r : seg.index)
        b.put(stash_key_of(r.id), std::string{spec_of(seg, r)});
      // Marked before the write: the actor, which alone commits, is the
      // caller, so no commit deletes these keys before they are written.
      seg.on_disk = true;
      written.push_back(seg.seq);
      n += seg.index.size();
    }
  }
  if (n == 0)
    return 0;
  try {
    db_->write(b, false);
  } catch (...) {
    // Still in memory: written at the next flush.
    std::lock_guard guard{mtx_};
    for (auto seq : written)
      if (auto* seg = segment_of(seq))
        seg->on_disk = false;
    throw;
  }
  return n;
}

bool lineage_stash::has_unflushed() {
  std::lock_guard guard{mtx_};
  drain();
  for (auto& seg : segments_)
    if (!seg.on_disk)
      return true;
  return false;
}

lineage_stash::commit_batch lineage_stash::next_commit_batch(std::size_t max,
                                                             bool ripe_only) {
  commit_batch out;
  if (max == 0)
    return out;
  std::lock_guard guard{mtx_};
  drain();
  auto i = std::find_if(segments_.begin(), segments_.end(), [&](auto& seg) {
    return !seg.in_flight && !seg.index.empty() &&
           (seg.ripe || !seg.local || !ripe_only);
  });
  if (i == segments_.end())
    return out;
  if (i->index.size() > max) {
    // Only its first `max` rows go: they become a segment of their own.
    segment rest;
    rest.seq = next_seq_++;
    rest.born = i->born;
    rest.sealed = true;
    rest.on_disk = i->on_disk;
    rest.ripe = i->ripe;
    rest.local = i->local;
    auto cut = i->index[max].at;
    auto deps_cut = i->index[max].deps_begin;
    rest.rows->assign(*i->rows, cut);
    rest.deps.assign(i->deps.begin() + deps_cut, i->deps.end());
    for (auto k = max; k < i->index.size(); ++k) {
      auto r = i->index[k];
      r.at -= cut;
      r.deps_begin -= deps_cut;
      r.deps_end -= deps_cut;
      rest.index.push_back(r);
    }
    i->rows->resize(cut);
    i->deps.resize(deps_cut);
    i->index.resize(max);
    i->by_id.clear();
    i = segments_.insert(std::next(i), std::move(rest));
    --i;
  }
  i->sealed = true;
  i->in_flight = true;
  last_bytes_ = i->rows->size();
  last_rows_ = i->index.size();
  out.seq = i->seq;
  out.count = i->index.size();
  out.rows = i->rows;
  return out;
}

void lineage_stash::committed(std::uint64_t seq) {
  rocks_db::batch b;
  std::size_t erased = 0;
  {
    std::lock_guard guard{mtx_};
    auto i = std::find_if(segments_.begin(), segments_.end(), [&](auto& seg) {
      return seg.seq == seq;
    });
    if (i == segments_.end())
      return;
    if (i->on_disk)
      for (auto& r : i->index) {
        b.erase(stash_key_of(r.id));
        ++erased;
      }
    for (auto& r : i->index)
      unshare(r.id);
    rows_ -= i->index.size();
    committed_total_ += i->index.size();
    recycle(*i);
    segments_.erase(i);
    age_generations();
  }
  if (erased > 0)
    db_->write(b, false);
}

void lineage_stash::retry(std::uint64_t seq) {
  std::lock_guard guard{mtx_};
  if (auto* seg = segment_of(seq); seg && seg->in_flight) {
    seg->in_flight = false;
    seg->born = flushes_; // a period unsent from now on, then to disk
  }
}

std::optional<std::string> lineage_stash::find(const task_id& id) {
  std::lock_guard guard{mtx_};
  drain();
  const segment* seg = nullptr;
  auto* r = locate(id, &seg);
  if (!r)
    return std::nullopt;
  return std::string{spec_of(*seg, *r)};
}

std::vector<std::string>
lineage_stash::uncommitted_ancestors(const std::vector<task_id>& deps,
                                     std::vector<task_id>* ids) {
  std::vector<std::string> out;
  if (deps.empty())
    return out; // most tasks: no lock, no drain
  std::unordered_set<task_id> seen;
  std::vector<task_id> todo = deps;
  std::lock_guard guard{mtx_};
  drain();
  if (rows_ == 0)
    return out;
  while (!todo.empty()) {
    auto id = todo.back();
    todo.pop_back();
    if (!seen.insert(id).second)
      continue;
    const segment* seg = nullptr;
    auto* r = locate(id, &seg);
    if (!r)
      continue; // committed, or never stashed here
    out.emplace_back(spec_of(*seg, *r));
    if (ids)
      ids->push_back(id);
    todo.insert(todo.end(), seg->deps.begin() + r->deps_begin,
                seg->deps.begin() + r->deps_end);
  }
  return out;
}

std::size_t lineage_stash::uncommitted() {
  std::lock_guard guard{mtx_};
  drain();
  return rows_;
}

std::uint64_t lineage_stash::committed_total() const {
  std::lock_guard guard{mtx_};
  return committed_total_;
}

const std::string& lineage_stash::path() const {
  return db_->path();
}

void append_task_deps(std::vector<task_id>& deps, const task_spec& task) {
  for (auto& arg : task.args)
    if (arg.ref && (arg.ref.id().index & object_id::put_flag) == 0)
      deps.push_back(arg.ref.id().task);
}

std::vector<task_id> task_deps(const task_spec& task) {
  std::vector<task_id> deps;
  append_task_deps(deps, task);
  return deps;
}

std::pair<task_id, std::vector<task_id>> spec_deps(const std::string& spec) {
  auto decoded =
    decode_task_spec(spec.data(), spec.size(), [](const object_id& id) {
      // A free-standing count: only the id is read.
      auto* h = new ref_header;
      h->id = id;
      h->on_zero = [](ref_header* p) noexcept {
        delete p;
      };
      return ref_ptr::adopt(h);
    });
  return {decoded.id, task_deps(decoded)};
}

bool stash_task(lineage_stash& stash, const task_spec& task) {
  std::string spec;
  append_task_spec(spec, task);
  return stash.append(task.id, std::move(spec), task_deps(task));
}

} // namespace lumen::detail

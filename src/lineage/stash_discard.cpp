// The lineage stash: dropping rows whose lineage was collected before it
// was committed (stash.hpp, `discard`), and rows held back for a period
// so that it can (`ripen`).
//
// Most tasks' objects are freed within milliseconds of their submission
// (a `get` after each `remote`, a batch of refs dropped once read), while
// their rows still wait here for the next commit. Dropping them here costs
// a look-up per row; committing them and then deleting them from the GCS
// cost a write, a read back to index them, the erase and, on a scratch
// store, a hole punched in its file, all per task.
#include "lineage/stash.hpp"
#include "lineage/stash_keys.hpp"

#include <algorithm>

#include "storage/rocks_db.hpp"
#include "wire/lineage_batch.hpp"

namespace lumen::detail {

namespace {

/// The ids of one discard, each with whether a row of it was dropped: open
/// addressing on the id's low word (ids are random). Sorting them and
/// searching, per row, cost the stash's thread several times more.
class id_table {
 public:
  struct slot {
    task_id id;
    bool used = false;
    bool dropped = false;
  };

  explicit id_table(const std::vector<task_id>& ids) {
    std::size_t cap = 16;
    while (cap < 2 * ids.size())
      cap <<= 1;
    slots_.resize(cap);
    mask_ = cap - 1;
    for (auto& id : ids) {
      auto i = home(id);
      while (slots_[i].used && slots_[i].id != id)
        i = (i + 1) & mask_;
      slots_[i].id = id;
      slots_[i].used = true;
    }
  }

  /// The slot of `id`, or null if it is not one of the ids.
  slot* find(const task_id& id) {
    for (auto i = home(id); slots_[i].used; i = (i + 1) & mask_)
      if (slots_[i].id == id)
        return &slots_[i];
    return nullptr;
  }

  /// Marks a row of `id` dropped; false if `id` is not one of the ids.
  bool drop(const task_id& id) {
    auto* s = find(id);
    if (s == nullptr)
      return false;
    s->dropped = true;
    return true;
  }

 private:
  std::size_t home(const task_id& id) const {
    return static_cast<std::size_t>(id.lo ^ (id.hi >> 7)) & mask_;
  }

  std::vector<slot> slots_;
  std::size_t mask_ = 0;
};

} // namespace

lineage_stash::discarded lineage_stash::discard(std::vector<task_id> ids) {
  discarded out;
  if (ids.empty())
    return out;
  id_table table{ids};
  std::size_t dropped = 0;
  std::vector<std::string> disk_keys;
  {
    std::lock_guard guard{mtx_};
    {
      // What was appended since, behind what take_in left: not encoded.
      std::lock_guard in_guard{in_mtx_};
      if (taking_.empty())
        taking_.swap(incoming_);
      else
        for (auto& r : incoming_)
          taking_.push_back(std::move(r));
      incoming_.clear();
    }
    auto first = taking_.begin() + static_cast<std::ptrdiff_t>(taken_);
    auto kept = std::remove_if(first, taking_.end(), [&](auto& r) {
      return table.drop(r.id);
    });
    taking_.erase(kept, taking_.end());
    if (taken_ == taking_.size()) {
      taking_.clear();
      taken_ = 0;
    }
    for (auto& seg : segments_)
      if (!seg.in_flight)
        dropped += discard_in(seg, table, disk_keys);
    for (auto i = segments_.begin(); i != segments_.end();) {
      // An emptied segment goes, but the open one stays open for rows.
      bool open = !i->sealed && std::next(i) == segments_.end();
      if (i->index.empty() && !i->in_flight && !open) {
        recycle(*i);
        i = segments_.erase(i);
      } else {
        ++i;
      }
    }
    rows_ -= dropped;
    committed_total_ += dropped;
    // The GCS holds none of the dropped rows' lineage, unless a copy
    // went to another node.
    for (auto& id : ids) {
      bool was_shared = unshare(id);
      if (!table.find(id)->dropped || was_shared)
        out.to_delete.push_back(id);
    }
    age_generations();
  }
  if (!disk_keys.empty()) {
    rocks_db::batch b;
    for (auto& k : disk_keys)
      b.erase(k);
    db_->write(b, false);
  }
  out.dropped = dropped;
  return out;
}

void lineage_stash::shared(const std::vector<task_id>& ids) {
  std::lock_guard guard{mtx_};
  shared_[0].insert(ids.begin(), ids.end());
}

std::size_t lineage_stash::shared_ids() const {
  std::lock_guard guard{mtx_};
  return shared_[0].size() + shared_[1].size();
}

bool lineage_stash::unshare(const task_id& id) {
  bool was = false;
  for (auto& gen : shared_)
    if (!gen.empty() && gen.erase(id) > 0)
      was = true;
  return was;
}

void lineage_stash::age_generations() {
  if (!segments_.empty() && segments_.front().seq <= aged_seq_)
    return; // a segment from before the last turn is still here
  // Every row added before the last turn has gone: so has the row of
  // each id in shared_[1] (one committed or dropped with its row was
  // forgotten then, one whose row was not here needs nothing), and of
  // each key in present_[1]. With ids shared, queued rows are taken in
  // first, so that the rows of those ids are in segments up to aged_seq_.
  if (!shared_[0].empty())
    drain();
  shared_[1].clear();
  shared_[1].swap(shared_[0]);
  present_[1].clear();
  present_[1].swap(present_[0]);
  aged_seq_ = next_seq_ - 1;
}

template <class Table>
std::size_t lineage_stash::discard_in(segment& seg, Table& table,
                                      std::vector<std::string>& disk_keys) {
  auto hit = std::find_if(seg.index.begin(), seg.index.end(), [&](auto& r) {
    return table.find(r.id) != nullptr;
  });
  if (hit == seg.index.end())
    return 0;
  // Rebuilt from the first dropped row on: the rows before stay in place.
  auto from = static_cast<std::size_t>(hit - seg.index.begin());
  auto& rows = *seg.rows;
  std::string tail = rows.substr(hit->at);
  std::vector<task_id> deps_tail(seg.deps.begin() + hit->deps_begin,
                                 seg.deps.end());
  auto base_at = hit->at;
  auto base_deps = hit->deps_begin;
  rows.resize(base_at);
  seg.deps.resize(base_deps);
  std::size_t dropped = 0;
  auto out = from;
  for (auto k = from; k < seg.index.size(); ++k) {
    auto r = seg.index[k];
    auto end =
      k + 1 < seg.index.size() ? seg.index[k + 1].at - base_at : tail.size();
    if (table.drop(r.id)) {
      if (seg.on_disk)
        disk_keys.push_back(stash_key_of(r.id));
      ++dropped;
      continue;
    }
    auto at = rows.size();
    rows.append(tail, r.at - base_at, end - (r.at - base_at));
    auto deps_at = seg.deps.size();
    seg.deps.insert(seg.deps.end(),
                    deps_tail.begin() + (r.deps_begin - base_deps),
                    deps_tail.begin() + (r.deps_end - base_deps));
    r.at = static_cast<std::uint32_t>(at);
    r.deps_begin = static_cast<std::uint32_t>(deps_at);
    r.deps_end = static_cast<std::uint32_t>(seg.deps.size());
    seg.index[out++] = r;
  }
  seg.index.resize(out);
  seg.by_id.clear();
  return dropped;
}

std::size_t lineage_stash::ripen() {
  // Rows still queued (not taken in) stay unripe: they came last.
  std::lock_guard guard{mtx_};
  std::size_t n = 0;
  for (auto& seg : segments_) {
    if (seg.ripe || seg.index.empty())
      continue; // an empty open segment stays open, and unripe
    if (!seg.local)
      continue; // rows from peers go unripened; open, it gathers more
    n += seg.index.size();
    seg.ripe = seg.sealed = true;
  }
  return n;
}

std::size_t lineage_stash::held() const {
  std::lock_guard guard{mtx_};
  return rows_;
}

} // namespace lumen::detail

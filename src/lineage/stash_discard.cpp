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

bool listed(const std::vector<task_id>& sorted, const task_id& id) {
  return std::binary_search(sorted.begin(), sorted.end(), id);
}

} // namespace

lineage_stash::discarded lineage_stash::discard(std::vector<task_id> ids) {
  discarded out;
  if (ids.empty())
    return out;
  std::sort(ids.begin(), ids.end());
  std::size_t dropped = 0;
  std::vector<std::string> disk_keys;
  std::vector<task_id> gone; // dropped, sorted by where they were
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
      if (!listed(ids, r.id))
        return false;
      gone.push_back(r.id);
      return true;
    });
    taking_.erase(kept, taking_.end());
    if (taken_ == taking_.size()) {
      taking_.clear();
      taken_ = 0;
    }
    for (auto& seg : segments_)
      if (!seg.in_flight)
        dropped += discard_in(seg, ids, disk_keys, gone);
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
    std::sort(gone.begin(), gone.end());
    for (auto& id : ids) {
      if (!std::binary_search(gone.begin(), gone.end(), id) ||
          (!shared_.empty() && shared_.erase(id) > 0))
        out.to_delete.push_back(id);
    }
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
  shared_.insert(ids.begin(), ids.end());
}

std::size_t lineage_stash::discard_in(segment& seg,
                                      const std::vector<task_id>& ids,
                                      std::vector<std::string>& disk_keys,
                                      std::vector<task_id>& gone) {
  auto hit = std::find_if(seg.index.begin(), seg.index.end(), [&](auto& r) {
    return listed(ids, r.id);
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
    if (listed(ids, r.id)) {
      gone.push_back(r.id);
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

// The GCS's committed lineage: erasing collected rows, and reclaiming the
// batches that hold no live row (lineage_log.hpp, "Collection").
#include "lineage/lineage_log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <fcntl.h>
#include <unistd.h>

#include "log/log.hpp"
#include "lumen/error.hpp"

namespace lumen::detail {

namespace {

/// A batch with fewer live rows than this fraction of its rows is
/// rewritten (rows / sparse_ratio).
constexpr std::uint32_t sparse_ratio = 4;

/// Batches with fewer rows than this are never rewritten (they go when
/// their last row does).
constexpr std::uint32_t rewrite_min_rows = 16;

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

} // namespace

std::string lineage_log::dead_key(std::uint64_t seq) {
  std::string k{dead_prefix};
  for (int shift = 56; shift >= 0; shift -= 8)
    k.push_back(static_cast<char>((seq >> shift) & 0xff));
  return k;
}

void lineage_log::load_dead() {
  dead_.clear();
  dead_bytes_ = 0;
  if (fd_ >= 0)
    return;
  db_->scan(dead_prefix, [&](std::string_view k, std::string_view v) {
    auto raw = k.substr(dead_prefix.size());
    if (raw.size() != 8 || v.size() % 4 != 0)
      return true; // unreadable: its rows stay (lineage kept, not lost)
    std::uint64_t seq = 0;
    for (char c : raw)
      seq = (seq << 8) | static_cast<unsigned char>(c);
    if (seq > UINT32_MAX)
      return true;
    std::vector<std::uint32_t> offsets;
    for (std::size_t i = 0; i < v.size(); i += 4) {
      std::uint32_t x = 0;
      for (int b = 3; b >= 0; --b)
        x = (x << 8) | static_cast<unsigned char>(v[i + b]);
      offsets.push_back(x);
    }
    std::sort(offsets.begin(), offsets.end());
    dead_bytes_ += v.size();
    dead_[static_cast<std::uint32_t>(seq)] = std::move(offsets);
    return true;
  });
}

bool lineage_log::tombstoned(std::uint64_t h) const {
  return tombstones_[0].contains(h) || tombstones_[1].contains(h);
}

void lineage_log::rotate_tombstones() {
  auto now = std::chrono::steady_clock::now();
  auto since = now - rotated_;
  if (since < tombstone_period)
    return;
  rotated_ = now;
  tombstones_[1].swap(tombstones_[0]);
  tombstones_[0].clear();
  if (since >= 2 * tombstone_period) // idle for two periods or more
    tombstones_[1].clear();
}

std::optional<lineage_log::location> lineage_log::locate(std::string_view id,
                                                         std::uint64_t h) {
  if (capacity_ != 0) {
    auto& s = slots_[slot_of(h)];
    if (s.hash != 0) {
      auto r = record_at(s.at);
      if (r && r->id == id)
        return s.at;
    }
  }
  if (auto j = collided_.find(id); j != collided_.end())
    return j->second;
  return std::nullopt;
}

std::optional<lineage_log::location> lineage_log::unindex(std::string_view id,
                                                          std::uint64_t h) {
  // With the default hash and no collision seen, a slot's hash names its
  // id (64 bits): no need to read its batch back to compare, which would
  // cost a batch read each time the ids erased move to another batch.
  bool trust = hash_ == &default_hash && collided_.empty();
  if (capacity_ != 0) {
    auto i = slot_of(h);
    if (slots_[i].hash != 0) {
      std::optional<lineage_row_view> r;
      if (!trust)
        r = record_at(slots_[i].at);
      if (trust || (r && r->id == id)) {
        auto at = slots_[i].at;
        remove_slot(i);
        --count_;
        return at;
      }
    }
  }
  if (auto j = collided_.find(id); j != collided_.end()) {
    auto at = j->second;
    collided_.erase(j);
    --count_;
    return at;
  }
  return std::nullopt;
}

void lineage_log::remove_slot(std::size_t i) {
  // Backward shift: a slot after `i` in the same run moves into the hole
  // unless its home lies cyclically in (i, j].
  auto mask = capacity_ - 1;
  for (auto j = (i + 1) & mask; slots_[j].hash != 0; j = (j + 1) & mask) {
    auto home = static_cast<std::size_t>(slots_[j].hash) & mask;
    bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays)
      continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i] = slot{};
  --used_;
}

void lineage_log::release_row(const location& at) {
  auto& b = batches_[at.seq];
  if (b.live > 0)
    --b.live;
  if (b.live == 0 && static_cast<std::int64_t>(at.seq) != indexing_)
    drop_batch(at.seq);
}

void lineage_log::drop_batch(std::uint32_t seq) {
  auto& b = batches_[seq];
  if (b.gone)
    return;
  b.gone = true;
  live_bytes_ -= b.bytes;
  if (cached_seq_ == seq)
    cached_.reset();
  auto dead = dead_.find(seq);
  bool had_dead = dead != dead_.end();
  if (had_dead) {
    dead_bytes_ -= 4 * dead->second.size();
    dead_.erase(dead);
  }
  if (fd_ >= 0) {
    auto& [at, size] = extents_[seq];
    // Gives the blocks back; a file system without holes keeps them.
    if (size != 0)
      ::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  static_cast<off_t>(at), static_cast<off_t>(size));
    size = 0;
    return;
  }
  rocks_db::batch wb;
  wb.erase(key_of(seq));
  if (had_dead)
    wb.erase(dead_key(seq));
  // Not synced: a batch that comes back after a machine crash holds
  // rows nothing needs, and goes again with them.
  db_->write(wb, false);
}

void lineage_log::rewrite_batch(std::uint32_t seq) {
  auto old = fetch(seq);
  if (!old)
    return;
  auto rows = split_lineage_batch(*old);
  if (!rows)
    return;
  std::string fresh;
  struct move {
    std::string_view id;
    std::uint32_t from;
    std::size_t to;
  };
  std::vector<move> moved;
  for (auto& [row, offset] : *rows) {
    auto at = locate(row.id, key_hash(row.id));
    if (!at || at->seq != seq || at->offset != offset)
      continue; // erased, or live in a newer batch
    moved.push_back({row.id, at->offset, fresh.size()});
    append_lineage_row(fresh, row.id, row.spec);
  }
  if (next_seq_ > UINT32_MAX)
    return;
  auto new_seq = static_cast<std::uint32_t>(next_seq_);
  if (fd_ >= 0) {
    store(new_seq, fresh, false);
  } else {
    // One write: the new batch and the old one's deletion.
    rocks_db::batch wb;
    wb.put(key_of(new_seq), fresh);
    wb.erase(key_of(seq));
    if (dead_.count(seq) > 0)
      wb.erase(dead_key(seq));
    db_->write(wb, false);
  }
  ++next_seq_;
  indexed_ = next_seq_;
  if (batches_.size() <= new_seq)
    batches_.resize(new_seq + 1);
  batches_[new_seq] =
    batch_info{static_cast<std::uint32_t>(moved.size()),
               static_cast<std::uint32_t>(moved.size()),
               static_cast<std::uint32_t>(fresh.size()), false};
  live_bytes_ += fresh.size();
  for (auto& m : moved) {
    location to{new_seq, static_cast<std::uint32_t>(m.to)};
    auto h = key_hash(m.id);
    auto& s = slots_[slot_of(h)];
    if (s.hash == h && s.at.seq == seq && s.at.offset == m.from)
      s.at = to;
    else if (auto j = collided_.find(m.id); j != collided_.end())
      j->second = to;
  }
  // Its rows live on in the new batch: the old one goes (already deleted
  // on RocksDB, above, in the same write).
  auto& b = batches_[seq];
  b.live = 0;
  if (fd_ >= 0) {
    drop_batch(seq);
  } else {
    b.gone = true;
    live_bytes_ -= b.bytes;
    if (auto d = dead_.find(seq); d != dead_.end()) {
      dead_bytes_ -= 4 * d->second.size();
      dead_.erase(d);
    }
    if (cached_seq_ == seq)
      cached_.reset();
  }
}

std::size_t lineage_log::erase(const std::vector<std::string>& ids) {
  std::lock_guard guard{mtx_};
  if (!loaded_) {
    std::vector<std::string> skipped;
    load_locked(skipped);
  }
  // Every batch committed so far is indexed before any row is erased, so
  // that only copies committed after this call meet the tombstones.
  catch_up();
  rotate_tombstones();
  std::size_t found = 0;
  std::set<std::uint32_t> touched;
  for (auto& id : ids) {
    if (id.empty())
      continue;
    auto h = key_hash(id);
    tombstones_[0].insert(h);
    auto at = unindex(id, h);
    if (!at)
      continue;
    ++found;
    if (batches_[at->seq].live > 1) {
      touched.insert(at->seq);
      if (fd_ < 0) {
        auto& offsets = dead_[at->seq];
        offsets.insert(
          std::upper_bound(offsets.begin(), offsets.end(), at->offset),
          at->offset);
        dead_bytes_ += 4;
      }
    }
    release_row(*at);
  }
  rocks_db::batch wb;
  for (auto seq : touched) {
    auto& b = batches_[seq];
    if (b.gone)
      continue;
    if (b.rows >= rewrite_min_rows && b.live * sparse_ratio < b.rows &&
        next_seq_ <= UINT32_MAX) {
      rewrite_batch(seq);
      continue;
    }
    auto d = dead_.find(seq);
    if (d == dead_.end())
      continue;
    std::string v;
    v.reserve(4 * d->second.size());
    for (auto off : d->second)
      put_u32(v, off);
    wb.put(dead_key(seq), std::move(v));
  }
  if (!wb.empty())
    db_->write(wb, false);
  return found;
}

std::uint64_t lineage_log::bytes() {
  std::lock_guard guard{mtx_};
  catch_up();
  return live_bytes_ + dead_bytes_;
}

std::uint64_t lineage_log::batches() {
  std::lock_guard guard{mtx_};
  catch_up();
  std::uint64_t n = 0;
  for (auto& b : batches_)
    n += b.gone ? 0 : 1;
  return n;
}

} // namespace lumen::detail

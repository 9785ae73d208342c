// The GCS's committed lineage: batches in RocksDB (or, on a scratch store,
// one append-only file), an index in memory.
#include "lineage/lineage_log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <new>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lumen/error.hpp"

namespace lumen::detail {

std::string lineage_log::key_of(std::uint64_t seq) {
  std::string k{prefix};
  for (int shift = 56; shift >= 0; shift -= 8)
    k.push_back(static_cast<char>((seq >> shift) & 0xff));
  return k;
}

std::uint64_t lineage_log::default_hash(std::string_view id) {
  return std::hash<std::string_view>{}(id);
}

lineage_log::lineage_log(std::shared_ptr<rocks_db> db, hasher hash)
  : db_(std::move(db)), hash_(hash) {
  if (!db_->scratch())
    return;
  auto path = db_->path() + "/" + std::string{file_name};
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0)
    throw error("lineage log: cannot open " + path + ": " +
                std::strerror(errno));
}

lineage_log::~lineage_log() {
  if (fd_ >= 0)
    ::close(fd_);
}

void lineage_log::store(std::uint64_t seq, std::string_view batch, bool sync) {
  if (fd_ < 0) {
    db_->put(key_of(seq), batch, sync);
    return;
  }
  reserve(batch.size());
  // At the end of what was written whole: a write that failed halfway
  // is overwritten by the next batch.
  std::size_t done = 0;
  while (done < batch.size()) {
    auto n = ::pwrite(fd_, batch.data() + done, batch.size() - done,
                      static_cast<off_t>(file_end_ + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw error("lineage log: cannot write to " + db_->path() + ": " +
                  std::strerror(n < 0 ? errno : EIO));
    done += static_cast<std::size_t>(n);
  }
  if (sync && ::fdatasync(fd_) != 0)
    throw error("lineage log: cannot sync " + db_->path() + ": " +
                std::strerror(errno));
  extents_.emplace_back(file_end_, static_cast<std::uint32_t>(batch.size()));
  file_end_ += batch.size();
}

void lineage_log::reserve(std::size_t bytes) {
  if (!preallocate_ || file_end_ + bytes <= allocated_)
    return;
  // Blocks allocated ahead, in steps as large as the file (1 - 64 MiB):
  // a write into them costs the file system a third less than a write
  // that allocates as it goes (ext4, delayed allocation, this VM). The
  // size stays where the batches end.
  constexpr std::uint64_t least = std::uint64_t{1} << 20;
  constexpr std::uint64_t most = std::uint64_t{64} << 20;
  auto step = std::clamp<std::uint64_t>(file_end_, least, most);
  auto want = std::max<std::uint64_t>(file_end_ + bytes, allocated_) + step;
  if (::fallocate(fd_, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(allocated_),
                  static_cast<off_t>(want - allocated_)) == 0) {
    allocated_ = want;
  } else if (errno != EINTR && errno != ENOSPC) {
    preallocate_ = false; // not supported here: plain writes
  }
}

std::optional<std::string> lineage_log::fetch(std::uint64_t seq) const {
  if (fd_ < 0)
    return db_->get(key_of(seq));
  if (seq >= extents_.size() || extents_[seq].second == 0)
    return std::nullopt; // never written, or dropped
  auto [at, size] = extents_[seq];
  std::string out(size, '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    auto n = ::pread(fd_, out.data() + done, out.size() - done,
                     static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return std::nullopt;
    done += static_cast<std::size_t>(n);
  }
  return out;
}

void lineage_log::load(std::vector<std::string>& skipped) {
  std::lock_guard guard{mtx_};
  load_locked(skipped);
}

void lineage_log::load_locked(std::vector<std::string>& skipped) {
  loaded_ = true;
  if (fd_ >= 0)
    return; // emptied when opened: nothing to read
  slots_.reset();
  capacity_ = 0;
  used_ = 0;
  collided_.clear();
  count_ = 0;
  next_seq_ = 0;
  indexed_ = 0;
  cached_.reset();
  batches_.clear();
  live_bytes_ = 0;
  load_dead();
  db_->scan(prefix, [&](std::string_view k, std::string_view v) {
    auto raw = k.substr(prefix.size());
    if (raw.size() != 8) {
      skipped.push_back(std::string{k} + ": malformed lineage batch key");
      return true;
    }
    std::uint64_t seq = 0;
    for (char c : raw)
      seq = (seq << 8) | static_cast<unsigned char>(c);
    if (seq > UINT32_MAX) {
      skipped.push_back(std::string{k} + ": lineage batch number too large");
      return true;
    }
    next_seq_ = std::max(next_seq_, seq + 1);
    // Index a batch only if all of it reads: a damaged batch could
    // otherwise shadow good rows of an older one.
    auto rows = v.size() <= UINT32_MAX ? split_lineage_batch(v) : std::nullopt;
    if (!rows) {
      skipped.push_back("lineage batch " + std::to_string(seq) +
                        ": malformed row");
      return true;
    }
    index_batch(*rows, static_cast<std::uint32_t>(seq), v.size());
    return true;
  });
  indexed_ = next_seq_;
  cached_.reset();
}

std::uint64_t lineage_log::size() {
  std::lock_guard guard{mtx_};
  catch_up();
  return count_;
}

void lineage_log::catch_up() {
  for (; indexed_ < next_seq_; ++indexed_) {
    auto seq = indexed_;
    auto batch = fetch(seq);
    if (!batch)
      continue; // unreadable: its rows are not found, as record_at finds none
    auto held = std::make_shared<const std::string>(std::move(*batch));
    auto rows = split_lineage_batch(*held);
    if (!rows)
      continue; // checked when committed: only a damaged disk gets here
    // Kept as the batch read last: a duplicate in it reads it back.
    cached_ = held;
    cached_seq_ = seq;
    index_batch(*rows, static_cast<std::uint32_t>(seq), held->size());
  }
}

std::size_t lineage_log::commit(std::string_view batch, bool sync) {
  std::lock_guard guard{mtx_};
  if (!loaded_) {
    // Never write over batches of an earlier run.
    std::vector<std::string> skipped;
    load_locked(skipped);
  }
  if (batch.size() > UINT32_MAX)
    throw error("lineage commit: a batch of 4 GiB or more");
  if (next_seq_ > UINT32_MAX)
    throw error("lineage commit: the log holds 2^32 batches already");
  auto rows = count_lineage_rows(batch);
  if (!rows)
    throw error("lineage commit: a malformed batch");
  store(next_seq_, batch, sync);
  ++next_seq_; // indexed by the next find or size (catch_up)
  return *rows;
}

std::size_t lineage_log::commit(const std::vector<std::string>& ids,
                                const std::vector<std::string>& specs,
                                bool sync) {
  if (ids.size() != specs.size())
    throw error("lineage commit: " + std::to_string(ids.size()) +
                " task ids but " + std::to_string(specs.size()) + " specs");
  std::string batch;
  for (std::size_t i = 0; i < ids.size(); ++i)
    append_lineage_row(batch, ids[i], specs[i]);
  return commit(batch, sync);
}

std::optional<lineage_row_view>
lineage_log::record_at(const location& at) const {
  if (!cached_ || cached_seq_ != at.seq) {
    auto row = fetch(at.seq);
    if (!row)
      return std::nullopt;
    cached_ = std::make_shared<const std::string>(std::move(*row));
    cached_seq_ = at.seq;
  }
  std::size_t pos = at.offset;
  return read_lineage_row(*cached_, pos);
}

std::uint64_t lineage_log::key_hash(std::string_view id) const {
  auto h = hash_(id);
  return h == 0 ? 1 : h;
}

std::size_t lineage_log::slot_of(std::uint64_t h) const {
  auto mask = capacity_ - 1;
  for (auto i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask)
    if (slots_[i].hash == h || slots_[i].hash == 0)
      return i;
}

void lineage_log::unmap_slots::operator()(slot* p) const noexcept {
  ::munmap(p, bytes);
}

namespace {

/// Huge page size on x86-64 and arm64 (4 KiB base pages).
constexpr std::size_t huge_page = std::size_t{2} << 20;

} // namespace

void lineage_log::grow() {
  auto n = capacity_ == 0 ? std::size_t{1024} : 2 * capacity_;
  // A whole number of huge pages once past one: the kernel places such a
  // mapping on a huge page boundary.
  auto bytes = n * sizeof(slot);
  if (bytes >= huge_page)
    bytes = (bytes + huge_page - 1) / huge_page * huge_page;
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw std::bad_alloc();
  if (bytes >= huge_page)
    ::madvise(p, bytes, MADV_HUGEPAGE); // a hint: without it, small pages
  std::unique_ptr<slot[], unmap_slots> fresh{static_cast<slot*>(p),
                                             unmap_slots{bytes}};
  auto old = std::move(slots_);
  auto old_n = capacity_;
  slots_ = std::move(fresh);
  capacity_ = n;
  for (std::size_t i = 0; i < old_n; ++i)
    if (old[i].hash != 0)
      slots_[slot_of(old[i].hash)] = old[i];
}

void lineage_log::index_batch(
  const std::vector<std::pair<lineage_row_view, std::size_t>>& rows,
  std::uint32_t seq, std::size_t bytes) {
  if (batches_.size() <= seq)
    batches_.resize(seq + 1);
  batches_[seq] = batch_info{static_cast<std::uint32_t>(rows.size()), 0,
                             static_cast<std::uint32_t>(bytes), false};
  live_bytes_ += bytes;
  indexing_ = seq;
  // At most 70% full, so probes stay short.
  while (10 * (used_ + rows.size()) > 7 * capacity_)
    grow();
  std::vector<std::uint64_t> hashes(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    hashes[i] = key_hash(rows[i].first.id);
  constexpr std::size_t ahead = 8;
  auto mask = capacity_ - 1;
  auto prefetch = [&](std::size_t i) {
    if (i < hashes.size())
      __builtin_prefetch(&slots_[static_cast<std::size_t>(hashes[i]) & mask]);
  };
  for (std::size_t i = 0; i < ahead; ++i)
    prefetch(i);
  // Rows erased before a restart (load) are erased again, older copies
  // included; rows erased lately are not indexed again.
  auto dead = dead_.find(seq);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    prefetch(i + ahead);
    auto offset = static_cast<std::uint32_t>(rows[i].second);
    if (dead != dead_.end() &&
        std::binary_search(dead->second.begin(), dead->second.end(), offset)) {
      if (auto was = unindex(rows[i].first.id, hashes[i]))
        release_row(*was);
      continue;
    }
    if (tombstoned(hashes[i]))
      continue;
    index(rows[i].first.id, hashes[i], {seq, offset});
  }
  indexing_ = -1;
  if (batches_[seq].live == 0)
    drop_batch(seq);
}

void lineage_log::index(std::string_view id, std::uint64_t h,
                        const location& at) {
  ++batches_[at.seq].live;
  auto& s = slots_[slot_of(h)];
  if (s.hash == 0) {
    s.hash = h;
    s.at = at;
    ++used_;
    ++count_;
    return;
  }
  // The same id committed again, or another id with the same hash.
  auto there = record_at(s.at);
  if (there && there->id == id) {
    auto old = s.at;
    s.at = at;
    release_row(old);
    return;
  }
  auto [j, fresh] = collided_.try_emplace(std::string{id}, at);
  if (fresh) {
    ++count_;
  } else {
    auto old = j->second;
    j->second = at;
    release_row(old);
  }
}

std::optional<std::string> lineage_log::find(const std::string& id) {
  std::lock_guard guard{mtx_};
  catch_up();
  auto check = [&](const location& at) -> std::optional<std::string> {
    auto r = record_at(at);
    if (r && r->id == id)
      return std::string{r->spec};
    return std::nullopt;
  };
  if (capacity_ != 0) {
    auto& s = slots_[slot_of(key_hash(id))];
    if (s.hash != 0)
      if (auto spec = check(s.at))
        return spec;
  }
  if (auto j = collided_.find(id); j != collided_.end())
    return check(j->second);
  return std::nullopt;
}

} // namespace lumen::detail

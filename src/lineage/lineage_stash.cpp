// The lineage stash: memory rows, RocksDB without sync, commit bookkeeping.
#include "lineage/lineage_stash.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <unordered_set>

#include "runtime/task_spec.hpp"
#include "storage/kv_store.hpp"
#include "wire/lineage_batch.hpp"
#include "wire/task_spec_codec.hpp"

namespace lumen::detail {

namespace {

constexpr std::string_view prefix = "lineage/";

/// Row key: the prefix and the id's 16 raw bytes, big-endian halves.
std::string key_of(const task_id& id) {
  std::string k{prefix};
  for (auto half : {id.hi, id.lo})
    for (int shift = 56; shift >= 0; shift -= 8)
      k.push_back(static_cast<char>((half >> shift) & 0xff));
  return k;
}

/// The id as text (task_id::to_string), without a heap allocation.
struct id_text {
  char digits[32];
  operator std::string_view() const noexcept {
    return {digits, sizeof(digits)};
  }
};

id_text hex_of(const task_id& id) {
  static constexpr char hex[] = "0123456789abcdef";
  id_text out;
  int k = 0;
  for (auto half : {id.hi, id.lo})
    for (int shift = 60; shift >= 0; shift -= 4)
      out.digits[k++] = hex[(half >> shift) & 0xf];
  return out;
}

std::optional<task_id> id_of(std::string_view key) {
  if (key.size() != prefix.size() + 16)
    return std::nullopt;
  task_id id;
  auto* p = reinterpret_cast<const unsigned char*>(key.data()) + prefix.size();
  for (int i = 0; i < 8; ++i)
    id.hi = (id.hi << 8) | p[i];
  for (int i = 8; i < 16; ++i)
    id.lo = (id.lo << 8) | p[i];
  return id;
}

} // namespace

lineage_stash::entry lineage_stash::entry_of(std::string spec) {
  entry e;
  e.spec = std::move(spec);
  return e;
}

lineage_stash::lineage_stash(const std::string& path)
  : db_(std::make_unique<kv_store>(path)) {
  // Rows of an earlier run on this directory were never committed.
  db_->scan(prefix, [&](std::string_view k, std::string_view v) {
    if (auto id = id_of(k)) {
      entry e;
      e.spec = std::string{v};
      e.on_disk = true;
      if (rows_.emplace(*id, std::move(e)).second)
        to_send_.push_back(*id);
    }
    return true;
  });
}

lineage_stash::~lineage_stash() {
  try {
    flush_to_disk(true);
  } catch (const std::exception&) {
    // Best effort: the rows were not committed and are lost with us.
  }
}

bool lineage_stash::append(const task_id& id, std::string spec,
                           std::vector<task_id> deps) {
  std::lock_guard guard{in_mtx_};
  incoming_.push_back({id, std::move(spec), std::move(deps)});
  return incoming_.size() == 1;
}

void lineage_stash::drain() {
  std::vector<incoming_row> rows;
  {
    std::lock_guard guard{in_mtx_};
    rows.swap(incoming_);
  }
  for (auto& r : rows) {
    auto [i, added] = rows_.try_emplace(r.id);
    if (!added)
      continue; // kept once
    i->second.spec = std::move(r.spec);
    i->second.deps = std::move(r.deps);
    fresh_.push_back(r.id);
    to_send_.push_back(r.id);
  }
}

std::size_t lineage_stash::flush_to_disk(bool all) {
  kv_store::batch b;
  std::vector<task_id> ids;
  {
    std::lock_guard guard{mtx_};
    drain();
    if (!all && to_send_.empty()) {
      // Nothing waits to be sent: every uncommitted row is in flight or
      // on disk already, so none is written and none need be looked up.
      aging_.clear();
      aging_.swap(fresh_);
      return 0;
    }
    ids.swap(aging_);
    if (all)
      ids.insert(ids.end(), fresh_.begin(), fresh_.end());
    aging_.swap(fresh_);
    if (all)
      aging_.clear();
    // Only what is neither committed nor on its way to the GCS goes to
    // disk (a batch that fails comes back through `retry`).
    std::size_t kept = 0;
    for (auto& id : ids)
      if (auto i = rows_.find(id); i != rows_.end() && !i->second.on_disk &&
                                   (all || !i->second.in_flight)) {
        b.put(key_of(id), i->second.spec);
        ids[kept++] = id;
      }
    ids.resize(kept);
  }
  if (ids.empty())
    return 0;
  try {
    db_->write(b, false);
  } catch (...) {
    // Still in memory: written at the next flush.
    std::lock_guard guard{mtx_};
    aging_.insert(aging_.end(), ids.begin(), ids.end());
    throw;
  }
  std::lock_guard guard{mtx_};
  for (auto& id : ids)
    if (auto i = rows_.find(id); i != rows_.end())
      i->second.on_disk = true;
    else
      gone_on_disk_.push_back(id); // committed while being written
  return ids.size();
}

bool lineage_stash::has_unflushed() {
  std::lock_guard guard{mtx_};
  drain();
  return !fresh_.empty() || !aging_.empty();
}

lineage_stash::commit_batch lineage_stash::next_commit_batch(std::size_t max) {
  commit_batch out;
  // Rows in flight are neither changed nor erased until `committed` or
  // `retry`, and the map's nodes never move: their specs are read after
  // the lock is gone, so that `append` (the submitting thread) never waits
  // while a batch is packed.
  std::vector<const std::string*> specs;
  {
    std::lock_guard guard{mtx_};
    drain();
    std::size_t n = std::min(max, to_send_.size());
    out.ids.reserve(n);
    specs.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
      auto& id = to_send_[k];
      if (auto i = rows_.find(id); i != rows_.end()) {
        i->second.in_flight = true;
        out.ids.push_back(id);
        specs.push_back(&i->second.spec);
      }
    }
    to_send_.erase(to_send_.begin(),
                   to_send_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  std::size_t bytes = 0;
  for (auto* spec : specs)
    bytes += 8 + 32 + spec->size();
  out.rows.reserve(bytes);
  for (std::size_t k = 0; k < specs.size(); ++k)
    append_lineage_row(out.rows, hex_of(out.ids[k]), *specs[k]);
  return out;
}

void lineage_stash::committed(const std::vector<task_id>& ids) {
  kv_store::batch b;
  std::size_t erased = 0;
  {
    std::lock_guard guard{mtx_};
    for (auto& id : ids)
      if (auto i = rows_.find(id); i != rows_.end()) {
        if (i->second.on_disk) {
          b.erase(key_of(id));
          ++erased;
        }
        rows_.erase(i);
        ++committed_total_;
      }
    for (auto& id : gone_on_disk_) {
      b.erase(key_of(id));
      ++erased;
    }
    gone_on_disk_.clear();
  }
  if (erased > 0)
    db_->write(b, false);
}

void lineage_stash::retry(const std::vector<task_id>& ids) {
  std::lock_guard guard{mtx_};
  for (auto& id : ids)
    if (auto i = rows_.find(id); i != rows_.end() && i->second.in_flight) {
      i->second.in_flight = false;
      to_send_.push_back(id);
      if (!i->second.on_disk)
        fresh_.push_back(id);
    }
}

std::optional<std::string> lineage_stash::find(const task_id& id) {
  std::lock_guard guard{mtx_};
  drain();
  auto i = rows_.find(id);
  if (i == rows_.end())
    return std::nullopt;
  return i->second.spec;
}

std::vector<std::string>
lineage_stash::uncommitted_ancestors(const std::vector<task_id>& deps) {
  std::vector<std::string> out;
  std::unordered_set<task_id> seen;
  std::vector<task_id> todo = deps;
  std::lock_guard guard{mtx_};
  drain();
  if (rows_.empty())
    return out;
  while (!todo.empty()) {
    auto id = todo.back();
    todo.pop_back();
    if (!seen.insert(id).second)
      continue;
    auto i = rows_.find(id);
    if (i == rows_.end())
      continue; // committed, or never stashed here
    out.push_back(i->second.spec);
    todo.insert(todo.end(), i->second.deps.begin(), i->second.deps.end());
  }
  return out;
}

std::size_t lineage_stash::adopt_orphans() {
  namespace fs = std::filesystem;
  std::size_t adopted = 0;
  std::error_code ec;
  auto own = fs::path{db_->path()};
  for (auto& entry : fs::directory_iterator{own.parent_path(), ec}) {
    auto name = entry.path().filename().string();
    if (entry.path() == own || name.empty() ||
        name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    auto pid = std::stol(name);
    if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)
      continue; // its node still runs (or we cannot tell)
    try {
      std::vector<std::pair<task_id, std::string>> rows;
      {
        kv_store old{entry.path().string()};
        old.scan(prefix, [&](std::string_view k, std::string_view v) {
          if (auto id = id_of(k))
            rows.emplace_back(*id, std::string{v});
          return true;
        });
      }
      for (auto& [id, spec] : rows) {
        std::lock_guard guard{mtx_};
        if (rows_.try_emplace(id, entry_of(std::move(spec))).second) {
          fresh_.push_back(id);
          to_send_.push_back(id);
          ++adopted;
        }
      }
      kv_store::destroy(entry.path().string());
    } catch (const std::exception&) {
      // Unreadable: left where it is.
    }
  }
  return adopted;
}

std::size_t lineage_stash::uncommitted() {
  std::lock_guard guard{mtx_};
  drain();
  return rows_.size();
}

std::uint64_t lineage_stash::committed_total() const {
  std::lock_guard guard{mtx_};
  return committed_total_;
}

const std::string& lineage_stash::path() const {
  return db_->path();
}

std::vector<task_id> task_deps(const task_spec& task) {
  std::vector<task_id> deps;
  for (auto& arg : task.args)
    if (arg.ref && (arg.ref.id().index & object_id::put_flag) == 0)
      deps.push_back(arg.ref.id().task);
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
  std::string bytes;
  if (task.lineage.empty() && !task.deliver) {
    bytes = encode_task_spec_string(task);
  } else {
    task_spec plain = task;
    plain.lineage.clear();
    plain.deliver = nullptr;
    bytes = encode_task_spec_string(plain);
  }
  return stash.append(task.id, std::move(bytes), task_deps(task));
}

} // namespace lumen::detail

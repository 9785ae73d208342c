// rocks_db on RocksDB.
#include "storage/rocks_db.hpp"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "lumen/error.hpp"

namespace lumen::detail {

struct rocks_db::impl {
  std::unique_ptr<rocksdb::DB> db;
};

namespace {

void check(const rocksdb::Status& s, const std::string& what,
           const std::string& path) {
  if (!s.ok())
    throw error(what + " " + path + ": " + s.ToString());
}

} // namespace

void rocks_db::batch::put(std::string key, std::string value) {
  ops_.push_back(op{std::move(key), std::move(value)});
}

void rocks_db::batch::erase(std::string key) {
  ops_.push_back(op{std::move(key), std::nullopt});
}

rocks_db::rocks_db(const std::string& path, bool scratch)
  : impl_(std::make_unique<impl>()), path_(path), scratch_(scratch) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec)
    throw error("cannot create the directory " + path + ": " + ec.message());
  rocksdb::Options opts;
  opts.create_if_missing = true;
  // Small tables: keep RocksDB's threads and memory modest.
  opts.max_background_jobs = 2;
  opts.write_buffer_size = 16 << 20;
  opts.keep_log_file_num = 2;
  opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  if (scratch)
    opts.compression = rocksdb::kNoCompression;
  // Bloom filters, in tables and in the memtable: looking up a key that is
  // not there (the common case when checking before an insert) then reads
  // no table index.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  opts.memtable_prefix_bloom_size_ratio = 0.05;
  opts.memtable_whole_key_filtering = true;
  rocksdb::DB* db = nullptr;
  check(rocksdb::DB::Open(opts, path, &db), "cannot open the RocksDB store",
        path);
  impl_->db.reset(db);
}

rocks_db::~rocks_db() = default;

void rocks_db::write(const batch& b, bool sync) {
  if (b.empty())
    return;
  // In key order (the order of one key's operations kept): the memtable
  // then inserts each key next to the previous one instead of searching
  // its skip list from the top, several times faster for random keys.
  std::vector<std::size_t> order(b.ops_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t x, std::size_t y) {
                     return b.ops_[x].key < b.ops_[y].key;
                   });
  rocksdb::WriteBatch wb;
  for (auto i : order) {
    auto& o = b.ops_[i];
    if (o.value)
      wb.Put(o.key, *o.value);
    else
      wb.Delete(o.key);
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  wo.disableWAL = scratch_ && !sync;
  check(impl_->db->Write(wo, &wb), "cannot write to", path_);
}

void rocks_db::put(const std::string& key, std::string_view value, bool sync) {
  // Straight to RocksDB: no copy of the value into a batch first.
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  wo.disableWAL = scratch_ && !sync;
  check(impl_->db->Put(wo, key, rocksdb::Slice{value.data(), value.size()}),
        "cannot write to", path_);
}

void rocks_db::erase(const std::string& key, bool sync) {
  batch b;
  b.erase(key);
  write(b, sync);
}

std::optional<std::string> rocks_db::get(const std::string& key) const {
  std::string value;
  auto s = impl_->db->Get(rocksdb::ReadOptions{}, key, &value);
  if (s.IsNotFound())
    return std::nullopt;
  check(s, "cannot read from", path_);
  return value;
}

void rocks_db::scan(
  std::string_view prefix,
  const std::function<bool(std::string_view, std::string_view)>& f) const {
  std::unique_ptr<rocksdb::Iterator> it{
    impl_->db->NewIterator(rocksdb::ReadOptions{})};
  for (it->Seek(rocksdb::Slice{prefix.data(), prefix.size()}); it->Valid();
       it->Next()) {
    auto k = it->key();
    std::string_view key{k.data(), k.size()};
    if (key.substr(0, prefix.size()) != prefix)
      break;
    auto v = it->value();
    if (!f(key, std::string_view{v.data(), v.size()}))
      break;
  }
  check(it->status(), "cannot scan", path_);
}

std::size_t rocks_db::count(std::string_view prefix) const {
  std::size_t n = 0;
  scan(prefix, [&](std::string_view, std::string_view) {
    ++n;
    return true;
  });
  return n;
}

void rocks_db::destroy(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

} // namespace lumen::detail

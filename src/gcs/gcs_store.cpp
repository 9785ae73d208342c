// The GCS's durable tables on rocks_db.
#include "gcs/gcs_store.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>

#include "lumen/error.hpp"

namespace lumen::detail {

namespace {

constexpr std::string_view node_prefix = "node/";
constexpr std::string_view actor_prefix = "actor/";
constexpr std::string_view group_prefix = "pg/";
constexpr std::string_view kv_prefix = "kv/";

std::string as_string(const byte_buffer& buf) {
  return std::string(buf.data(), buf.size());
}

/// Splits a key-value row's key part (after "kv/") into namespace and key.
bool split_kv(std::string_view rest, std::string& ns, std::string& key) {
  if (rest.size() < 4)
    return false;
  unsigned int n = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    auto c = rest[i];
    unsigned int digit;
    if (c >= '0' && c <= '9')
      digit = static_cast<unsigned int>(c - '0');
    else if (c >= 'a' && c <= 'f')
      digit = static_cast<unsigned int>(c - 'a' + 10);
    else
      return false;
    n = n * 16 + digit;
  }
  if (rest.size() < 4 + n + 1) // a key is never empty
    return false;
  ns.assign(rest.substr(4, n));
  key.assign(rest.substr(4 + n));
  return true;
}

} // namespace

gcs_store::gcs_store(std::shared_ptr<rocks_db> db) : db_(std::move(db)) {
  if (db_)
    lineage_ = std::make_shared<lineage_log>(db_);
}

gcs_store::gcs_store(gcs_store&&) noexcept = default;

gcs_store& gcs_store::operator=(gcs_store&&) noexcept = default;

gcs_store::~gcs_store() = default;

std::string gcs_store::path() const {
  return db_ ? db_->path() : std::string{};
}

std::string gcs_store::node_key(const std::string& id) {
  return std::string{node_prefix} + id;
}

std::string gcs_store::actor_key(const std::string& id) {
  return std::string{actor_prefix} + id;
}

std::string gcs_store::group_key(const std::string& id) {
  return std::string{group_prefix} + id;
}

std::string gcs_store::kv_key(const std::string& ns, const std::string& key) {
  if (ns.size() > 0xffff)
    throw error("kv namespace too long for the GCS store");
  char len[5];
  std::snprintf(len, sizeof(len), "%04x", static_cast<unsigned int>(ns.size()));
  return std::string{kv_prefix} + len + ns + key;
}

std::string gcs_store::lineage_prefix() {
  return std::string{lineage_log::prefix};
}

void gcs_store::load_row(std::string_view k, std::string_view v,
                         gcs_snapshot& into) {
  auto id_after = [&](std::string_view prefix) {
    return std::string{k.substr(prefix.size())};
  };
  try {
    if (k.starts_with(node_prefix)) {
      into.nodes.push_back(
        decode_stored_node(id_after(node_prefix), v.data(), v.size()));
    } else if (k.starts_with(actor_prefix)) {
      into.actors.push_back(
        decode_stored_actor(id_after(actor_prefix), v.data(), v.size()));
    } else if (k.starts_with(group_prefix)) {
      into.groups.push_back(
        decode_stored_group(id_after(group_prefix), v.data(), v.size()));
    } else if (k.starts_with(kv_prefix)) {
      gcs_snapshot::kv_row row;
      if (!split_kv(k.substr(kv_prefix.size()), row.ns, row.key))
        throw error("malformed key-value key");
      row.value.assign(v);
      into.kv.push_back(std::move(row));
    }
  } catch (const std::exception& e) {
    into.skipped.push_back(std::string{k} + ": " + e.what());
  }
}

gcs_snapshot gcs_store::load() {
  gcs_snapshot result;
  if (!db_) {
    result.lineage_rows = lineage_mem_.size();
    return result;
  }
  lineage_->load(result.skipped);
  result.lineage_rows = lineage_->size();
  if (!tables_)
    return result;
  for (auto prefix : {node_prefix, actor_prefix, group_prefix, kv_prefix})
    db_->scan(prefix, [&](std::string_view k, std::string_view v) {
      load_row(k, v, result);
      return true;
    });
  std::stable_sort(result.nodes.begin(), result.nodes.end(),
                   [](const stored_node& x, const stored_node& y) {
                     return x.order < y.order;
                   });
  return result;
}

void gcs_store::put_node(const stored_node& x) {
  if (db_ && tables_)
    db_->put(node_key(x.rec.id), as_string(encode_stored_node(x)), false);
}

void gcs_store::put_actor(const stored_actor& x) {
  if (db_ && tables_)
    db_->put(actor_key(x.id), as_string(encode_stored_actor(x)), true);
}

void gcs_store::erase_actor(const std::string& id) {
  if (db_ && tables_)
    db_->erase(actor_key(id), true);
}

void gcs_store::put_group(const stored_group& x) {
  if (db_ && tables_)
    db_->put(group_key(x.id), as_string(encode_stored_group(x)), true);
}

void gcs_store::erase_group(const std::string& id) {
  if (db_ && tables_)
    db_->erase(group_key(id), true);
}

void gcs_store::put_kv(const std::string& ns, const std::string& key,
                       const std::string& value) {
  if (db_ && tables_)
    db_->put(kv_key(ns, key), value, true);
}

void gcs_store::erase_kv(const std::string& ns, const std::string& key) {
  if (db_ && tables_)
    db_->erase(kv_key(ns, key), true);
}

void gcs_store::commit_lineage(const std::vector<std::string>& ids,
                               const std::vector<std::string>& specs) {
  if (ids.size() != specs.size())
    throw error("lineage commit: " + std::to_string(ids.size()) +
                " task ids but " + std::to_string(specs.size()) + " specs");
  for (auto& id : ids)
    if (id.empty())
      throw error("lineage commit: an empty task id");
  if (!db_) {
    for (std::size_t i = 0; i < ids.size(); ++i)
      lineage_mem_[ids[i]] = specs[i];
    return;
  }
  lineage_->commit(ids, specs, sync_lineage_);
}

std::size_t gcs_store::commit_lineage_batch(std::string batch) {
  if (!db_) {
    auto rows = split_lineage_batch(batch);
    if (!rows)
      throw error("lineage commit: a malformed batch");
    for (auto& [row, offset] : *rows)
      lineage_mem_[std::string{row.id}] = std::string{row.spec};
    return rows->size();
  }
  return lineage_->commit(batch, sync_lineage_);
}

std::vector<char> gcs_store::get_lineage(const std::string& id) const {
  if (!db_) {
    auto i = lineage_mem_.find(id);
    if (i == lineage_mem_.end())
      return {};
    return std::vector<char>(i->second.begin(), i->second.end());
  }
  auto v = lineage_->find(id);
  if (!v)
    return {};
  return std::vector<char>(v->begin(), v->end());
}

std::uint64_t gcs_store::lineage_count() const {
  return db_ ? lineage_->size() : lineage_mem_.size();
}

std::size_t gcs_store::erase_lineage(const std::vector<std::string>& ids) {
  if (db_)
    return lineage_->erase(ids);
  std::size_t n = 0;
  for (auto& id : ids)
    n += lineage_mem_.erase(id);
  return n;
}

std::uint64_t gcs_store::lineage_bytes() const {
  if (db_)
    return lineage_->bytes();
  std::uint64_t n = 0;
  for (auto& [id, spec] : lineage_mem_)
    n += id.size() + spec.size() + 8;
  return n;
}

} // namespace lumen::detail

// The GCS's key-value table.
#include "gcs/kv_table.hpp"

#include <utility>

#include "lumen/error.hpp"

namespace lumen::detail {

namespace {

void check_size(const char* what, const std::string& x, std::size_t limit,
                const char* limit_text) {
  if (x.size() > limit)
    throw error(std::string{"kv table: "} + what + " of " +
                std::to_string(x.size()) + " bytes exceeds the " + limit_text +
                " limit (" + std::to_string(limit) + " bytes)");
}

void check_ns(const std::string& ns) {
  check_size("namespace", ns, kv_max_namespace_size, "256-byte namespace");
}

void check_key(const std::string& key) {
  if (key.empty())
    throw error("kv table: key must not be empty");
  check_size("key", key, kv_max_key_size, "1 KiB key");
}

} // namespace

bool kv_table::put(const std::string& ns, const std::string& key,
                   std::string value, bool overwrite) {
  check_ns(ns);
  check_key(key);
  check_size("value", value, kv_max_value_size, "64 MiB value");
  auto& s = spaces_[ns];
  auto [i, added] = s.try_emplace(key);
  if (added)
    ++size_;
  else if (!overwrite)
    return false;
  i->second = std::move(value);
  return true;
}

void kv_table::check(const std::string& ns, const std::string& key,
                     const std::string& value) {
  check_ns(ns);
  check_key(key);
  check_size("value", value, kv_max_value_size, "64 MiB value");
}

std::optional<std::string> kv_table::get(const std::string& ns,
                                         const std::string& key) const {
  check_ns(ns);
  check_key(key);
  if (auto* s = find_space(ns)) {
    auto i = s->find(key);
    if (i != s->end())
      return i->second;
  }
  return std::nullopt;
}

bool kv_table::del(const std::string& ns, const std::string& key) {
  check_ns(ns);
  check_key(key);
  auto i = spaces_.find(ns);
  if (i == spaces_.end() || i->second.erase(key) == 0)
    return false;
  --size_;
  if (i->second.empty())
    spaces_.erase(i);
  return true;
}

std::vector<std::string> kv_table::keys(const std::string& ns,
                                        const std::string& prefix) const {
  check_ns(ns);
  check_size("prefix", prefix, kv_max_key_size, "1 KiB key");
  std::vector<std::string> result;
  if (auto* s = find_space(ns))
    for (auto i = s->lower_bound(prefix);
         i != s->end() && i->first.compare(0, prefix.size(), prefix) == 0; ++i)
      result.push_back(i->first);
  return result;
}

bool kv_table::exists(const std::string& ns, const std::string& key) const {
  check_ns(ns);
  check_key(key);
  auto* s = find_space(ns);
  return s != nullptr && s->count(key) > 0;
}

const kv_table::space* kv_table::find_space(const std::string& ns) const {
  auto i = spaces_.find(ns);
  return i == spaces_.end() ? nullptr : &i->second;
}

} // namespace lumen::detail

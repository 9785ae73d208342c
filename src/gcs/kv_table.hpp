// The GCS's key-value table: string values under string keys, grouped in
// namespaces. Plain logic behind the gcs actor (Ray's internal KV).
//
// Namespaces are independent key spaces; the empty namespace is the
// default one. Keys are non-empty byte strings. Limits: a namespace of at
// most 256 bytes, a key of at most 1 KiB, a value of at most 64 MiB; a
// call that breaks one throws lumen::error naming the limit and changes
// nothing.
//
// Thread safety: none; owned by the gcs actor.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lumen::detail {

/// Longest namespace, in bytes.
inline constexpr std::size_t kv_max_namespace_size = 256;

/// Longest key (and key prefix), in bytes.
inline constexpr std::size_t kv_max_key_size = 1024;

/// Largest value, in bytes.
inline constexpr std::size_t kv_max_value_size = 64 * 1024 * 1024;

class kv_table {
 public:
  /// Stores `value` under `key` in `ns` unless the key exists and
  /// `overwrite` is false. Returns whether the value was written.
  bool put(const std::string& ns, const std::string& key, std::string value,
           bool overwrite);

  /// The value under `key` in `ns`, if any.
  std::optional<std::string> get(const std::string& ns,
                                 const std::string& key) const;

  /// Removes `key` from `ns`; returns whether it existed.
  bool del(const std::string& ns, const std::string& key);

  /// The keys in `ns` that start with `prefix` (all keys for an empty
  /// prefix), sorted bytewise.
  std::vector<std::string> keys(const std::string& ns,
                                const std::string& prefix) const;

  /// Throws lumen::error, as `put` would, when `ns`, `key` or `value`
  /// breaks a limit.
  static void check(const std::string& ns, const std::string& key,
                    const std::string& value);

  /// Whether `key` exists in `ns`.
  bool exists(const std::string& ns, const std::string& key) const;

  /// Number of keys in all namespaces.
  std::size_t size() const noexcept {
    return size_;
  }

 private:
  using space = std::map<std::string, std::string>;

  const space* find_space(const std::string& ns) const;

  std::map<std::string, space> spaces_;
  std::size_t size_ = 0;
};

} // namespace lumen::detail

// The cluster's key-value table, kept by the GCS on the head node (by the
// embedded GCS in a one-node cluster): small pieces of shared state such
// as configuration, addresses or progress markers, visible to every
// driver, task and actor.
//
//   lumen::kv::put("model/version", "7");
//   auto v = lumen::kv::get("model/version");   // std::optional
//
// Keys live in namespaces ("" by default). Limits: keys up to 1 KiB,
// values up to 64 MiB, namespaces up to 256 bytes; beyond them (and for an
// empty key) the calls throw lumen::error.
//
// Thread safety: all functions may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace lumen::kv {

/// Stores `value` under `key`; with `overwrite` false an existing key is
/// kept. Returns whether the value was written.
bool put(const std::string& key, std::string value, bool overwrite = true,
         const std::string& ns = "");

/// The value under `key`, if any.
std::optional<std::string> get(const std::string& key,
                               const std::string& ns = "");

/// Removes `key`; returns whether it existed.
bool del(const std::string& key, const std::string& ns = "");

/// The keys starting with `prefix`, sorted.
std::vector<std::string> keys(const std::string& prefix = "",
                              const std::string& ns = "");

} // namespace lumen::kv

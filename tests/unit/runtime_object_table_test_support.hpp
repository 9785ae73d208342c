// Helpers shared by runtime_object_table_test.cpp and
// runtime_object_table_wait_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lumen/detail/object_data.hpp"
#include "lumen/ids.hpp"

namespace object_table_test {

using lumen::object_id;
using lumen::task_id;
using lumen::detail::object_data;
using lumen::detail::object_ptr;
using lumen::detail::ref_ptr;

inline object_id test_id(std::uint64_t n, std::uint32_t index = 1) {
  return object_id{task_id{0x5eed0000u, n}, index};
}

/// Distinct ids with one and the same std::hash, so that they share a
/// shard whatever the number of shards.
inline object_id same_hash_id(std::uint64_t n) {
  task_id t;
  t.lo = n;
  t.hi = 0xC0FFEEull ^ (n * 0x9E3779B97F4A7C15ull);
  return object_id{t, 1};
}

inline object_ptr bytes_object(std::size_t n, std::vector<ref_ptr> refs = {}) {
  auto data = std::make_shared<object_data>();
  std::string fill(n, 'x');
  data->bytes.append(fill.data(), fill.size());
  data->refs = std::move(refs);
  return data;
}

} // namespace object_table_test

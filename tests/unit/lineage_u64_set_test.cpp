// The lineage log's tombstone set (src/lineage/u64_set.hpp): membership
// through growth, duplicates, clear and swap, against std::set.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <set>

#include "lineage/u64_set.hpp"

using lumen::detail::u64_set;

TEST_CASE("u64_set: holds what std::set holds, through growth",
          "[lineage][unit]") {
  u64_set s;
  std::set<std::uint64_t> ref;
  std::mt19937_64 rng{42};
  CHECK_FALSE(s.contains(1));
  for (int i = 0; i < 100'000; ++i) {
    // Small values collide in the low bits the set probes by.
    auto h = (i % 3 == 0) ? static_cast<std::uint64_t>(i % 5000 + 1) << 20
                          : rng() | 1;
    s.insert(h);
    ref.insert(h);
  }
  CHECK(s.size() == ref.size());
  for (auto h : ref)
    REQUIRE(s.contains(h));
  std::size_t false_hits = 0;
  for (int i = 0; i < 10'000; ++i) {
    auto h = rng() | 1;
    if (ref.count(h) == 0 && s.contains(h))
      ++false_hits;
  }
  CHECK(false_hits == 0);
}

TEST_CASE("u64_set: clear empties it and swap exchanges contents",
          "[lineage][unit]") {
  u64_set a, b;
  for (std::uint64_t h = 1; h <= 50'000; ++h)
    a.insert(h * 7919);
  b.insert(5);
  a.swap(b);
  CHECK(a.size() == 1);
  CHECK(a.contains(5));
  CHECK(b.size() == 50'000);
  CHECK(b.contains(7919 * 123));
  b.clear();
  CHECK(b.size() == 0);
  CHECK_FALSE(b.contains(7919 * 123));
  b.insert(7919 * 123);
  CHECK(b.contains(7919 * 123));
  CHECK(b.size() == 1);
}

// Unit tests of task and object ids (include/lumen/ids.hpp,
// src/api/ids.cpp): deterministic derivation, distinctness, nil, and
// the printed forms.
#include <catch2/catch.hpp>

#include <cctype>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <unordered_set>

#include "lumen/ids.hpp"

using lumen::object_id;
using lumen::task_id;

namespace {

bool is_lower_hex(const std::string& s) {
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) ||
        std::isupper(static_cast<unsigned char>(c)))
      return false;
  return true;
}

} // namespace

TEST_CASE("ids: derive is deterministic", "[runtime][ids]") {
  task_id parent{0x0123456789abcdefull, 0xfedcba9876543210ull};
  for (std::uint64_t n : {0ull, 1ull, 2ull, 1000ull, ~0ull}) {
    auto a = task_id::derive(parent, n);
    auto b = task_id::derive(parent, n);
    CHECK(a == b);
    CHECK(a.to_string() == b.to_string());
    CHECK(a != parent);
  }
  // No hidden state: other derivations in between change nothing.
  auto first = task_id::derive(task_id{}, 1);
  for (std::uint64_t n = 0; n < 100; ++n)
    (void)task_id::derive(parent, n);
  (void)task_id::random();
  CHECK(task_id::derive(task_id{}, 1) == first);
}

TEST_CASE("ids: derive gives distinct ids for distinct counters and parents",
          "[runtime][ids]") {
  std::set<task_id> seen;
  std::size_t made = 0;
  const task_id parents[] = {
    task_id{},     task_id{0, 1},         task_id{1, 0},
    task_id{1, 1}, task_id{~0ull, ~0ull}, task_id{0x9E3779B97F4A7C15ull, 42}};
  for (auto& p : parents)
    for (std::uint64_t n = 0; n < 2000; ++n) {
      seen.insert(task_id::derive(p, n));
      ++made;
    }
  CHECK(seen.size() == made);
  // And children of children do not collide with their ancestors' children.
  auto child = task_id::derive(parents[0], 1);
  for (std::uint64_t n = 0; n < 2000; ++n)
    CHECK(seen.count(task_id::derive(child, n)) == 0);
}

TEST_CASE("ids: derived and random ids are never nil", "[runtime][ids]") {
  CHECK(task_id{}.nil());
  for (std::uint64_t n = 0; n < 1000; ++n) {
    CHECK_FALSE(task_id::derive(task_id{}, n).nil());
    CHECK_FALSE(task_id::derive(task_id{~0ull, 0}, n).nil());
  }
  auto a = task_id::random();
  auto b = task_id::random();
  CHECK_FALSE(a.nil());
  CHECK_FALSE(b.nil());
  CHECK(a != b);
}

TEST_CASE("ids: task_id::to_string prints 32 lowercase hex digits",
          "[runtime][ids]") {
  CHECK(task_id{}.to_string() == std::string(32, '0'));
  CHECK(task_id{0x1, 0xabc}.to_string() == "00000000000000010000000000000abc");
  CHECK(task_id{0xDEADBEEFull, 0}.to_string() ==
        "00000000deadbeef0000000000000000");
  CHECK(task_id{~0ull, ~0ull}.to_string() == std::string(32, 'f'));
  auto random = task_id::random().to_string();
  CHECK(random.size() == 32);
  CHECK(is_lower_hex(random));
}

TEST_CASE("ids: object_id::to_string marks put objects", "[runtime][ids]") {
  task_id t{0x1, 0x2};
  auto hex = t.to_string();
  CHECK(object_id{t, 1}.to_string() == hex + ".1");
  CHECK(object_id{t, 0}.to_string() == hex + ".0");
  CHECK(object_id{t, 4294967295u & ~object_id::put_flag}.to_string() ==
        hex + ".2147483647");
  object_id put{t, object_id::put_flag | 5};
  CHECK(put.is_put());
  CHECK(put.to_string() == hex + ".p5");
  CHECK(object_id{t, object_id::put_flag}.to_string() == hex + ".p0");
  CHECK_FALSE(object_id{t, 5}.is_put());
}

TEST_CASE("ids: nil, comparison and hashing", "[runtime][ids]") {
  CHECK(object_id{}.nil());
  CHECK_FALSE((object_id{task_id{}, 1}.nil()));
  CHECK_FALSE((object_id{task_id{0, 1}, 0}.nil()));

  task_id a{1, 2};
  task_id b{1, 3};
  task_id c{2, 0};
  CHECK(a < b);
  CHECK(b < c);
  CHECK_FALSE(b < a);
  CHECK_FALSE(a < a);
  CHECK(a != b);
  CHECK((object_id{a, 1} < object_id{a, 2}));
  CHECK((object_id{a, 9} < object_id{b, 0}));
  CHECK((object_id{a, 1} == object_id{a, 1}));
  CHECK((object_id{a, 1} != object_id{a, 2}));

  std::hash<object_id> h;
  CHECK(h(object_id{a, 1}) == h(object_id{task_id{1, 2}, 1}));
  std::unordered_set<std::size_t> hashes;
  for (std::uint64_t n = 0; n < 1000; ++n)
    hashes.insert(h(object_id{task_id::derive(a, n), 1}));
  CHECK(hashes.size() == 1000);
}

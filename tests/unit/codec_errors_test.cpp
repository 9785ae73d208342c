// Error handling of lumen::codec: wrong types, truncated, oversized and
// corrupt input. The test types are in codec_test_types.hpp.

#include "lumen/codec.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "codec_test_types.hpp"

using namespace lumen;
using namespace lumen::detail;
using Catch::Matchers::Contains;
using namespace codec_test;

// -- helpers ------------------------------------------------------------------

namespace {

/// A copy of `obj` with only its first `n` bytes.
object_data truncated(const object_data& obj, std::size_t n) {
  object_data result;
  result.bytes.append(obj.bytes.data(), n);
  return result;
}

/// An object of fingerprint `T` followed by the given raw 64-bit words.
template <class T>
object_data with_words(std::initializer_list<std::uint64_t> words) {
  object_data result;
  writer w{result};
  w.write_pod(type_hash<T>());
  for (auto x : words)
    w.write_pod(x);
  return result;
}

} // namespace

// -- errors -------------------------------------------------------------------

TEST_CASE("a wrong type names both types") {
  auto obj = to_object(point{1, 2, "p"});
  try {
    from_object<int>(obj);
    FAIL("no exception");
  } catch (const type_mismatch_error& e) {
    CHECK_THAT(e.what(), Contains(std::string{type_name<int>()}));
    CHECK_THAT(e.what(), Contains(std::string{type_name<point>()}));
  }
  auto unknown = with_words<int>({});
  std::uint64_t odd = 0x0123456789abcdefull;
  std::memcpy(unknown.bytes.data(), &odd, sizeof(odd));
  try {
    from_object<int>(unknown);
    FAIL("no exception");
  } catch (const type_mismatch_error& e) {
    CHECK_THAT(e.what(), Contains("unknown type"));
    CHECK_THAT(e.what(), Contains("0123456789abcdef"));
  }
}

TEST_CASE("error objects throw the error they carry") {
  object_data obj;
  obj.error = std::make_shared<error_info>(
    error_info{error_kind::task_failed, "std::runtime_error", "boom", "f"});
  CHECK_THROWS_AS(from_object<int>(obj), task_error);
}

TEST_CASE("every truncation of a value throws decode_error") {
  auto obj = to_object(make_big_value());
  REQUIRE(obj.bytes.size() > 100);
  for (std::size_t n = 0; n < obj.bytes.size(); ++n) {
    INFO("cut at " << n << " of " << obj.bytes.size());
    CHECK_THROWS_AS(from_object<big_value>(truncated(obj, n)), decode_error);
  }
}

TEST_CASE("trailing bytes throw decode_error") {
  auto obj = to_object(std::string{"abc"});
  obj.bytes.append("z", 1);
  CHECK_THROWS_WITH(from_object<std::string>(obj), Contains("trailing"));
  CHECK_THROWS_AS(from_object<std::string>(obj), decode_error);
}

TEST_CASE("huge length fields throw decode_error without allocating") {
  constexpr std::uint64_t huge = std::uint64_t{1} << 60;
  CHECK_THROWS_AS(
    from_object<std::vector<int>>(with_words<std::vector<int>>({huge, 0})),
    decode_error);
  CHECK_THROWS_AS(from_object<std::string>(with_words<std::string>({huge})),
                  decode_error);
  using strings = std::vector<std::string>;
  CHECK_THROWS_AS(from_object<strings>(with_words<strings>({huge, 0, 0})),
                  decode_error);
  using int_map = std::map<int, int>;
  CHECK_THROWS_AS(from_object<int_map>(with_words<int_map>({huge, 0})),
                  decode_error);
  using tuples = std::vector<std::tuple<>>;
  CHECK_THROWS_AS(from_object<tuples>(with_words<tuples>({huge})),
                  decode_error);
  using empties = std::vector<shapes::empty>;
  CHECK_THROWS_AS(from_object<empties>(with_words<empties>({huge})),
                  decode_error);
}

TEST_CASE("counts of large elements do not reserve huge amounts") {
  // Without a cap, this would reserve 2^20 * 64 KiB = 64 GiB up front.
  object_data obj;
  writer w{obj};
  w.write_pod(type_hash<std::vector<fat>>());
  w.write_size(std::size_t{1} << 20);
  std::memset(w.grow(std::size_t{1} << 20), 0, std::size_t{1} << 20);
  CHECK_THROWS_AS(from_object<std::vector<fat>>(obj), decode_error);
  std::vector<fat> two(2);
  two[1].data[7] = 'x';
  CHECK(round_trip(two)[1].data[7] == 'x');
}

TEST_CASE("nesting is limited on both sides") {
  // A chain of trees, each holding one child: value, count 1, value, ...
  auto chain = [](std::size_t depth) {
    object_data obj;
    writer w{obj};
    w.write_pod(type_hash<shapes::tree>());
    for (std::size_t i = 1; i < depth; ++i) {
      w.write_pod(0);
      w.write_size(1);
    }
    w.write_pod(0);
    w.write_size(0);
    return obj;
  };
  CHECK_NOTHROW(from_object<shapes::tree>(chain(max_nesting_depth)));
  CHECK_THROWS_WITH(from_object<shapes::tree>(chain(max_nesting_depth + 1)),
                    Contains("nested deeper"));
  shapes::tree deep;
  auto* leaf = &deep;
  for (std::size_t i = 0; i < max_nesting_depth; ++i)
    leaf = &leaf->children.emplace_back();
  CHECK_THROWS_AS(to_object(deep), lumen::error);
}

TEST_CASE("bad bool bytes throw decode_error") {
  auto obj = to_object(true);
  obj.bytes.data()[8] = 2;
  CHECK_THROWS_AS(from_object<bool>(obj), decode_error);
  auto opt = to_object(std::optional<int>{1});
  opt.bytes.data()[8] = 7;
  CHECK_THROWS_AS(from_object<std::optional<int>>(opt), decode_error);
}

TEST_CASE("bad variant indexes throw decode_error") {
  using var = std::variant<int, std::string>;
  auto obj = to_object(var{1});
  for (std::uint32_t index : {2u, 0xffffffffu}) {
    std::memcpy(obj.bytes.data() + 8, &index, sizeof(index));
    CHECK_THROWS_WITH(from_object<var>(obj), Contains("variant index"));
  }
}

TEST_CASE("duplicate keys throw decode_error") {
  // A set<int> of two elements, both 4.
  object_data obj;
  writer w{obj};
  w.write_pod(type_hash<std::set<int>>());
  w.write_size(2);
  w.write_pod(4);
  w.write_pod(4);
  CHECK_THROWS_WITH(from_object<std::set<int>>(obj), Contains("duplicate"));
}

TEST_CASE("corrupt input either decodes or throws decode_error") {
  auto good = to_object(make_big_value());
  std::mt19937 rng{42};
  std::uniform_int_distribution<std::size_t> pos{8, good.bytes.size() - 1};
  std::uniform_int_distribution<int> byte{0, 255};
  int errors = 0;
  for (int i = 0; i < 2000; ++i) {
    object_data bad{good};
    for (int j = 0; j <= i % 3; ++j)
      bad.bytes.data()[pos(rng)] = static_cast<char>(byte(rng));
    try {
      from_object<big_value>(bad);
    } catch (const decode_error&) {
      ++errors;
    }
  }
  CHECK(errors > 0);
}

// Round trips and format of lumen::codec; its error handling is in
// codec_errors_test.cpp.

#include "lumen/codec.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "codec_test_types.hpp"

using namespace lumen;
using namespace lumen::detail;
using Catch::Matchers::Contains;
using namespace codec_test;

// -- traits -------------------------------------------------------------------

TEST_CASE("has_codec_v follows element types") {
  STATIC_REQUIRE(has_codec_v<int>);
  STATIC_REQUIRE(has_codec_v<point>);
  STATIC_REQUIRE(has_codec_v<shapes::color>);
  STATIC_REQUIRE(has_codec_v<std::vector<point>>);
  STATIC_REQUIRE(has_codec_v<nested_map>);
  STATIC_REQUIRE(has_codec_v<shapes::tree>);
  STATIC_REQUIRE_FALSE(has_codec_v<no_codec>);
  STATIC_REQUIRE_FALSE(has_codec_v<int*>);
  STATIC_REQUIRE_FALSE(has_codec_v<std::vector<no_codec>>);
  STATIC_REQUIRE_FALSE(has_codec_v<std::map<int, no_codec>>);
  STATIC_REQUIRE_FALSE(has_codec_v<std::optional<no_codec>>);
  STATIC_REQUIRE_FALSE(has_codec_v<std::tuple<int, no_codec>>);
  STATIC_REQUIRE_FALSE(has_codec_v<std::variant<int, no_codec>>);
  STATIC_REQUIRE_FALSE(has_codec_v<std::pair<std::vector<no_codec>, int>>);
}

// -- scalars ------------------------------------------------------------------

TEMPLATE_TEST_CASE("arithmetic values round-trip at their native size",
                   "[codec]", char, signed char, unsigned char, wchar_t,
                   char16_t, char32_t, short, unsigned short, int, unsigned,
                   long, unsigned long, long long, unsigned long long, float,
                   double, long double) {
  using limits = std::numeric_limits<TestType>;
  for (auto x : {limits::lowest(), limits::max(), limits::min(),
                 static_cast<TestType>(0), static_cast<TestType>(42)}) {
    auto obj = to_object(x);
    CHECK(obj.bytes.size() == 8 + sizeof(TestType));
    CHECK(from_object<TestType>(obj) == x);
  }
}

TEST_CASE("bool encodes as one byte 0 or 1") {
  auto t = to_object(true);
  auto f = to_object(false);
  REQUIRE(t.bytes.size() == 9);
  CHECK(t.bytes.data()[8] == 1);
  CHECK(f.bytes.data()[8] == 0);
  CHECK(from_object<bool>(t));
  CHECK_FALSE(from_object<bool>(f));
}

TEST_CASE("special floating point values survive") {
  CHECK(std::isnan(round_trip(std::numeric_limits<double>::quiet_NaN())));
  CHECK(std::isinf(round_trip(-std::numeric_limits<float>::infinity())));
  CHECK(std::signbit(round_trip(-0.0)));
}

TEST_CASE("enums encode as their underlying type") {
  enum plain_enum { one = 1, two = 2 };
  enum class wide : std::int64_t { low = -(1ll << 40), high = 1ll << 40 };
  CHECK(round_trip(shapes::color::green) == shapes::color::green);
  CHECK(to_object(shapes::color::green).bytes.size() == 9);
  CHECK(round_trip(two) == two);
  CHECK(round_trip(wide::low) == wide::low);
  CHECK(to_object(wide::high).bytes.size() == 16);
  CHECK(round_trip(std::byte{0xab}) == std::byte{0xab});
}

// -- strings and sequences ----------------------------------------------------

TEST_CASE("strings round-trip, including NUL bytes and wide characters") {
  CHECK(round_trip(std::string{}).empty());
  CHECK(to_object(std::string{}).bytes.size() == 16);
  std::string with_nul("a\0b", 3);
  CHECK(round_trip(with_nul) == with_nul);
  CHECK(to_object(with_nul).bytes.size() == 8 + 8 + 3);
  std::string big(1 << 20, 'x');
  big[12345] = 'y';
  CHECK(round_trip(big) == big);
  CHECK(round_trip(std::u16string{u"h\u00e9llo"}) == u"h\u00e9llo");
  CHECK(round_trip(std::wstring{L"wide"}) == L"wide");
}

TEST_CASE("vectors round-trip") {
  CHECK(round_trip(std::vector<int>{}).empty());
  CHECK(round_trip(std::vector<int>{1, -2, 3}) == std::vector<int>{1, -2, 3});
  std::vector<double> big(100000);
  std::iota(big.begin(), big.end(), 0.25);
  CHECK(round_trip(big) == big);
  std::vector<bool> bits{true, false, true, true, false};
  CHECK(round_trip(bits) == bits);
  CHECK(to_object(bits).bytes.size() == 8 + 8 + bits.size());
  std::vector<std::string> words{"a", "", "ccc"};
  CHECK(round_trip(words) == words);
  std::vector<std::vector<int>> rows{{1}, {}, {2, 3}};
  CHECK(round_trip(rows) == rows);
  std::vector<std::byte> blob{std::byte{1}, std::byte{0xff}};
  CHECK(round_trip(blob) == blob);
  std::vector<shapes::color> colors{shapes::color::blue, shapes::color::red};
  CHECK(round_trip(colors) == colors);
}

TEST_CASE("arrays round-trip without a length field") {
  std::array<int, 4> ints{1, 2, 3, 4};
  CHECK(round_trip(ints) == ints);
  CHECK(to_object(ints).bytes.size() == 8 + 16);
  std::array<std::string, 3> strings{"a", "bb", ""};
  CHECK(round_trip(strings) == strings);
  std::array<bool, 3> bools{true, false, true};
  CHECK(round_trip(bools) == bools);
  CHECK(to_object(std::array<int, 0>{}).bytes.size() == 8);
  CHECK(round_trip(std::array<int, 0>{}).empty());
}

// -- associative containers ---------------------------------------------------

TEST_CASE("maps and sets round-trip") {
  std::map<int, std::string> m{{1, "one"}, {-5, "minus five"}};
  CHECK(round_trip(m) == m);
  std::unordered_map<std::string, std::vector<int>> um{{"a", {1}}, {"b", {}}};
  CHECK(round_trip(um) == um);
  std::set<std::string> s{"x", "y", ""};
  CHECK(round_trip(s) == s);
  std::unordered_set<long> us{1, 2, 3, 1L << 40};
  CHECK(round_trip(us) == us);
  CHECK(round_trip(std::map<int, int>{}).empty());
  CHECK(to_object(std::map<int, int>{{1, 2}}).bytes.size() == 8 + 8 + 4 + 4);
}

// -- optional, pair, tuple, variant -------------------------------------------

TEST_CASE("optional, pair and tuple round-trip") {
  CHECK(round_trip(std::optional<int>{}) == std::nullopt);
  CHECK(round_trip(std::optional<int>{7}) == 7);
  CHECK(to_object(std::optional<int>{7}).bytes.size() == 8 + 1 + 4);
  CHECK(to_object(std::optional<int>{}).bytes.size() == 8 + 1);
  std::optional<std::optional<int>> inner_empty{std::optional<int>{}};
  CHECK(round_trip(inner_empty) == inner_empty);
  std::pair<std::string, double> p{"pi", 3.14};
  CHECK(round_trip(p) == p);
  std::tuple<int, std::string, std::vector<char>, bool> t{
    1, "two", {'3'}, true};
  CHECK(round_trip(t) == t);
  CHECK(round_trip(std::tuple<>{}) == std::tuple<>{});
  CHECK(to_object(std::tuple<>{}).bytes.size() == 8);
}

TEST_CASE("variants keep their alternative") {
  using var = std::variant<int, std::string, std::vector<double>>;
  for (const var& x : {var{5}, var{std::string{"ab"}}, var{std::vector{1.0}}}) {
    auto y = round_trip(x);
    CHECK(y.index() == x.index());
    CHECK(y == x);
  }
  CHECK(to_object(var{std::string{"ab"}}).bytes.size() == 8 + 4 + 8 + 2);
  using same = std::variant<int, int>;
  CHECK(round_trip(same{std::in_place_index<1>, 3}).index() == 1);
  using with_none = std::variant<std::monostate, int>;
  CHECK(round_trip(with_none{}).index() == 0);
  CHECK(std::get<1>(round_trip(with_none{9})) == 9);
}

TEST_CASE("durations and time points round-trip") {
  using namespace std::chrono;
  CHECK(round_trip(milliseconds{1500}) == milliseconds{1500});
  CHECK(round_trip(duration<double>{0.25}) == duration<double>{0.25});
  CHECK(to_object(seconds{3}).bytes.size() == 8 + sizeof(seconds::rep));
  auto now = system_clock::now();
  CHECK(round_trip(now) == now);
}

// -- nested values ------------------------------------------------------------

TEST_CASE("nested standard containers round-trip") {
  auto m = make_nested_map();
  CHECK(round_trip(m) == m);
  std::vector<std::map<int, std::set<std::string>>> v{
    {{1, {"a", "b"}}}, {}, {{2, {}}, {3, {""}}}};
  CHECK(round_trip(v) == v);
  std::optional<std::vector<std::variant<int, std::pair<char, float>>>> o{
    {{1}, {std::pair{'c', 2.5f}}}};
  CHECK(round_trip(o) == o);
  auto big = make_big_value();
  CHECK(round_trip(big) == big);
}

// -- structs ------------------------------------------------------------------

TEST_CASE("structs with inspect round-trip with or without annotations") {
  point p{1.5, -2, "p"};
  CHECK(round_trip(p) == p);
  CHECK(to_object(p).bytes.size() == 8 + 8 + 8 + 8 + 1);
  shapes::plain q{3, shapes::color::green, {"t1", "t2"}};
  CHECK(round_trip(q) == q);
  CHECK(to_object(q).bytes.size() == 8 + 4 + 1 + 8 + (8 + 2) * 2);
}

TEST_CASE("structs nest in structs and containers") {
  auto d = make_drawing();
  CHECK(round_trip(d) == d);
  std::vector<point> points{{1, 2, "a"}, {3, 4, "b"}};
  CHECK(round_trip(points) == points);
  std::unordered_map<int, std::vector<shapes::plain>> by_id{
    {1, {{1, shapes::color::red, {}}}}, {2, {}}};
  CHECK(round_trip(by_id) == by_id);
  shapes::tree t{1, {{2, {}}, {3, {{4, {}}}}}};
  CHECK(round_trip(t) == t);
}

TEST_CASE("values that encode to nothing take a filler byte in containers") {
  CHECK(to_object(shapes::empty{}).bytes.size() == 8);
  std::vector<shapes::empty> many(5);
  CHECK(round_trip(many).size() == 5);
  CHECK(to_object(many).bytes.size() == 8 + 8 + 5);
  std::vector<std::tuple<>> tuples(3);
  CHECK(round_trip(tuples).size() == 3);
  std::vector<shapes::hollow> hollows(2);
  CHECK(round_trip(hollows).size() == 2);
  std::map<std::tuple<>, std::monostate> unit{{{}, {}}};
  CHECK(round_trip(unit) == unit);
  CHECK(to_object(unit).bytes.size() == 8 + 8 + 1);
  // Structs that do write bytes take no filler.
  CHECK(to_object(std::vector<point>{{}}).bytes.size() == 8 + 8 + 24);
  auto obj = to_object(many);
  obj.bytes.data()[18] = 1;
  CHECK_THROWS_WITH(from_object<std::vector<shapes::empty>>(obj),
                    Contains("filler"));
}

TEST_CASE("save callbacks run before encoding, load callbacks after") {
  cached_sum x{{1, 2, 3}, 0, false};
  auto obj = to_object(x);
  CHECK(x.sum == 6);
  auto y = from_object<cached_sum>(obj);
  CHECK(y.values == x.values);
  CHECK(y.sum == 6);
  CHECK(y.loaded);
}

TEST_CASE("callbacks that report an error make the operation throw") {
  failing_callbacks ok{5, false, false};
  CHECK(round_trip(ok).value == 5);
  failing_callbacks bad_load{5, true, false};
  auto obj = to_object(bad_load);
  CHECK_THROWS_AS(from_object<failing_callbacks>(obj), decode_error);
  failing_callbacks bad_save{5, false, true};
  CHECK_THROWS_AS(to_object(bad_save), lumen::error);
}

// -- format -------------------------------------------------------------------

TEST_CASE("arrays of doubles start at an 8-aligned offset") {
  std::vector<double> xs{1.25, -2.5, 3.75};
  // fingerprint 8, char 1, length 8: 17, padded to 24.
  auto obj = to_object(std::pair<char, std::vector<double>>{'c', xs});
  REQUIRE(obj.bytes.size() == 24 + xs.size() * sizeof(double));
  const char* data = obj.bytes.data();
  CHECK(data[8] == 'c');
  std::uint64_t n;
  std::memcpy(&n, data + 9, sizeof(n));
  CHECK(n == xs.size());
  for (int i = 17; i < 24; ++i)
    CHECK(data[i] == 0);
  CHECK(std::memcmp(data + 24, xs.data(), xs.size() * sizeof(double)) == 0);
  auto back = from_object<std::pair<char, std::vector<double>>>(obj);
  CHECK(back.second == xs);
  // Alone: fingerprint 8 and length 8 already leave it aligned.
  CHECK(to_object(xs).bytes.size() == 16 + 3 * sizeof(double));
}

TEST_CASE("bulk arrays decode from a misaligned buffer") {
  std::vector<double> xs{1, 2, 3};
  object_data obj;
  writer w{obj};
  encode_value(w, xs);
  std::vector<char> shifted(obj.bytes.size() + 1);
  std::memcpy(shifted.data() + 1, obj.bytes.data(), obj.bytes.size());
  reader r{shifted.data() + 1, obj.bytes.size()};
  CHECK(decode_value<std::vector<double>>(r) == xs);
  CHECK(r.at_end());
}

TEST_CASE("void objects carry only the fingerprint") {
  auto obj = void_object();
  CHECK(obj.bytes.size() == 8);
  CHECK_NOTHROW(from_object<void>(obj));
  CHECK_THROWS_AS(from_object<int>(obj), type_mismatch_error);
  CHECK_THROWS_AS(from_object<void>(to_object(1)), type_mismatch_error);
  obj.bytes.append("x", 1);
  CHECK_THROWS_AS(from_object<void>(obj), decode_error);
}

TEST_CASE("the type registry keeps the first name per fingerprint") {
  remember_type_name(0x1234, "first");
  remember_type_name(0x1234, "second");
  CHECK(known_type_name(0x1234) == "first");
  CHECK(known_type_name(0x4321).empty());
  to_object(point{});
  CHECK(known_type_name(type_hash<point>()) == type_name<point>());
}

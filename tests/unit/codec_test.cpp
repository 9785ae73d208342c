// Round trips, format and error handling of lumen::codec.

#include "lumen/codec.hpp"

#include <caf/meta/hex_formatted.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/omittable_if_none.hpp>
#include <caf/meta/save_callback.hpp>
#include <caf/meta/type_name.hpp>

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
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

using namespace lumen;
using namespace lumen::detail;
using Catch::Matchers::Contains;

// -- test types ---------------------------------------------------------------

// A namespace of their own keeps these types from clashing (ODR) with types
// of other test files linked into the same executable.
namespace codec_test {

/// Annotated with a CAF type name; inspect is a free function template.
struct point {
  double x = 0;
  double y = 0;
  std::string label;

  friend bool operator==(const point& a, const point& b) {
    return a.x == b.x && a.y == b.y && a.label == b.label;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(caf::meta::type_name("point"), p.x, p.y, p.label);
}

namespace shapes {

enum class color : std::uint8_t { red, green, blue };

/// No annotations; inspect is a hidden friend.
struct plain {
  int id = 0;
  color tint = color::red;
  std::vector<std::string> tags;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, plain& x) {
    return f(x.id, x.tint, x.tags);
  }

  friend bool operator==(const plain& a, const plain& b) {
    return a.id == b.id && a.tint == b.tint && a.tags == b.tags;
  }
};

/// Structs inside structs and containers, and other annotations.
struct drawing {
  point origin;
  std::vector<point> path;
  std::optional<plain> meta;
  std::map<std::string, point> anchors;
  std::uint32_t flags = 0;

  friend bool operator==(const drawing& a, const drawing& b) {
    return a.origin == b.origin && a.path == b.path && a.meta == b.meta &&
           a.anchors == b.anchors && a.flags == b.flags;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drawing& x) {
  return f(caf::meta::type_name("drawing"), x.origin, x.path,
           caf::meta::omittable_if_none(), x.meta, x.anchors,
           caf::meta::hex_formatted(), x.flags);
}

/// A recursive type.
struct tree {
  int value = 0;
  std::vector<tree> children;

  friend bool operator==(const tree& a, const tree& b) {
    return a.value == b.value && a.children == b.children;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tree& x) {
  return f(x.value, x.children);
}

/// No fields: encodes to nothing.
struct empty {
  friend bool operator==(const empty&, const empty&) {
    return true;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, empty&) {
  return f(caf::meta::type_name("empty"));
}

/// Not an empty class, yet its only field encodes to nothing.
struct hollow {
  std::tuple<> nothing;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hollow& x) {
  return f(x.nothing);
}

} // namespace shapes

/// `sum` is derived: a save callback computes it (listed last, yet it runs
/// before encoding) and a load callback checks it.
struct cached_sum {
  std::vector<int> values;
  int sum = 0;
  bool loaded = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cached_sum& x) {
  auto load = [&x] {
    x.loaded = x.sum == std::accumulate(x.values.begin(), x.values.end(), 0);
  };
  auto save = [&x] {
    x.sum = std::accumulate(x.values.begin(), x.values.end(), 0);
  };
  return f(x.values, caf::meta::load_callback(load), x.sum,
           caf::meta::save_callback(save));
}

/// Mimics `caf::error`: converts to `true` when it holds an error.
struct fake_error {
  bool failed = false;

  explicit operator bool() const noexcept {
    return failed;
  }
};

/// Its callbacks report errors the way CAF's do.
struct failing_callbacks {
  int value = 0;
  bool fail_on_load = false;
  bool fail_on_save = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, failing_callbacks& x) {
  auto load = [&x] {
    return fake_error{x.fail_on_load};
  };
  auto save = [&x] {
    return fake_error{x.fail_on_save};
  };
  return f(x.value, x.fail_on_load, caf::meta::load_callback(load),
           caf::meta::save_callback(save));
}

/// Far larger in memory than its smallest encoding.
struct fat {
  std::array<char, 1 << 16> data{};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fat& x) {
  return f(x.data);
}

/// Has neither inspect nor codec.
struct no_codec {
  int value = 0;
};

} // namespace codec_test

using namespace codec_test;

// -- helpers ------------------------------------------------------------------

namespace {

template <class T>
T round_trip(const T& x) {
  return from_object<T>(to_object(x));
}

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

using nested_map =
  std::map<std::string, std::vector<std::optional<std::pair<int, double>>>>;

nested_map make_nested_map() {
  return {{"a", {std::pair{1, 1.5}, std::nullopt, std::pair{-3, 2.25}}},
          {"", {}},
          {"long key with spaces", {std::nullopt}}};
}

shapes::drawing make_drawing() {
  shapes::drawing d;
  d.origin = {1.5, -2.5, "origin"};
  d.path = {{0, 0, "a"}, {1, 1, ""}, {2, 4, "c"}};
  d.meta = shapes::plain{7, shapes::color::blue, {"x", "yz"}};
  d.anchors = {{"left", {-1, 0, "l"}}, {"right", {1, 0, "r"}}};
  d.flags = 0xdeadbeef;
  return d;
}

/// A value that exercises most codecs at once.
using big_value =
  std::tuple<nested_map, shapes::drawing,
             std::variant<int, std::string, std::vector<double>>,
             std::vector<double>, bool, std::set<std::string>>;

big_value make_big_value() {
  return {make_nested_map(),
          make_drawing(),
          std::vector<double>{0.5, 1.5},
          std::vector<double>{1, 2, 3, 4},
          true,
          std::set<std::string>{"p", "q"}};
}

} // namespace

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

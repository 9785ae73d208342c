// Integration tests: every codec-supported type goes through put/get and
// through tasks as argument and result (issue 2, "Serialization").

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <caf/meta/type_name.hpp>

#include <catch2/catch.hpp>

#include "lumen/lumen.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using lumen_it::patience;

namespace lumen_it_types {

enum class se_color : std::uint8_t { red, green, blue };

/// A user struct with a CAF-style inspect overload, and nothing else.
struct se_point {
  double x = 0;
  double y = 0;
  std::string label;

  friend bool operator==(const se_point& a, const se_point& b) {
    return a.x == b.x && a.y == b.y && a.label == b.label;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, se_point& p) {
  return f(caf::meta::type_name("se_point"), p.x, p.y, p.label);
}

/// Structs, containers, enums, optionals and a ref inside a struct.
struct se_shape {
  std::string name;
  std::vector<se_point> corners;
  std::map<std::string, se_point> anchors;
  std::optional<se_color> color;
  lumen::object_ref<std::string> note;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, se_shape& s) {
  return f(caf::meta::type_name("se_shape"), s.name, s.corners, s.anchors,
           s.color, s.note);
}

/// A stateless allocator that counts its allocations.
inline std::atomic<int> se_allocations{0};

template <class T>
struct se_counting_alloc {
  using value_type = T;

  se_counting_alloc() = default;

  template <class U>
  se_counting_alloc(const se_counting_alloc<U>&) noexcept {}

  T* allocate(std::size_t n) {
    ++se_allocations;
    return std::allocator<T>{}.allocate(n);
  }

  void deallocate(T* p, std::size_t n) noexcept {
    std::allocator<T>{}.deallocate(p, n);
  }

  friend bool operator==(const se_counting_alloc&, const se_counting_alloc&) {
    return true;
  }

  friend bool operator!=(const se_counting_alloc&, const se_counting_alloc&) {
    return false;
  }
};

} // namespace lumen_it_types

using lumen_it_types::se_color;
using lumen_it_types::se_point;
using lumen_it_types::se_shape;

namespace {

/// Passes its argument through a task unchanged.
template <class T>
T se_identity(T x) {
  return x;
}

using se_vec_int = std::vector<int>;
using se_vec_str = std::vector<std::string>;
using se_map = std::map<std::string, std::vector<int>>;
using se_umap = std::unordered_map<int, std::string>;
using se_opt = std::optional<std::string>;
using se_pair = std::pair<int, std::string>;
using se_tuple = std::tuple<int, double, std::string, bool>;
using se_variant = std::variant<std::monostate, int, std::string>;

std::string se_describe(se_point p) {
  return p.label + "@" + std::to_string(static_cast<int>(p.x)) + "," +
         std::to_string(static_cast<int>(p.y));
}

se_point se_make_point(double x, double y, std::string label) {
  return se_point{x, y, std::move(label)};
}

std::string se_shape_note(se_shape s) {
  return lumen::get(s.note, patience) + "/" + s.name;
}

} // namespace

LUMEN_REMOTE(se_identity<int>, se_identity<double>, se_identity<bool>,
             se_identity<std::string>, se_identity<se_vec_int>,
             se_identity<se_vec_str>, se_identity<se_map>, se_identity<se_umap>,
             se_identity<se_opt>, se_identity<se_pair>, se_identity<se_tuple>,
             se_identity<se_variant>, se_identity<se_point>,
             se_identity<se_color>);
LUMEN_REMOTE(se_describe, se_make_point, se_shape_note);

namespace {

/// put/get round trip, then through a task, if `through_task`.
template <class T>
void check_put_get(const T& value) {
  auto ref = lumen::put(value);
  static_assert(std::is_same_v<decltype(ref), lumen::object_ref<T>>);
  CHECK(lumen::get(ref, patience) == value);
}

template <class T>
void check_task(const T& value) {
  // As a value argument, and as a ref argument.
  CHECK(lumen::get(lumen::task(se_identity<T>).remote(value), patience) ==
        value);
  CHECK(lumen::get(lumen::task(se_identity<T>).remote(lumen::put(value)),
                   patience) == value);
}

} // namespace

TEST_CASE("serialization: arithmetic types", "[serialization]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  check_put_get(true);
  check_put_get(false);
  check_put_get('x');
  check_put_get(static_cast<signed char>(-5));
  check_put_get(static_cast<unsigned char>(250));
  check_put_get(std::int8_t{-128});
  check_put_get(std::int16_t{-32768});
  check_put_get(std::uint16_t{65535});
  check_put_get(std::numeric_limits<std::int32_t>::min());
  check_put_get(std::numeric_limits<std::uint32_t>::max());
  check_put_get(std::numeric_limits<std::int64_t>::min());
  check_put_get(std::numeric_limits<std::uint64_t>::max());
  check_put_get(3.25f);
  check_put_get(-0.0);
  check_put_get(std::numeric_limits<double>::infinity());
  check_put_get(std::numeric_limits<double>::denorm_min());
  check_put_get(1e308);
  auto nan = lumen::get(lumen::put(std::numeric_limits<double>::quiet_NaN()));
  CHECK(std::isnan(nan));
  check_task(-17);
  check_task(2.5);
  check_task(true);
  // Same width, different types: a mismatch, not a reinterpretation.
  CHECK_THROWS_AS(lumen::get(lumen::put(1u).as<int>(), patience),
                  lumen::type_mismatch_error);
  CHECK_THROWS_AS(lumen::get(lumen::put(1.0f).as<std::int32_t>(), patience),
                  lumen::type_mismatch_error);
}

TEST_CASE("serialization: strings", "[serialization]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  check_put_get(std::string{});
  check_put_get(std::string{"hello, world"});
  check_put_get(std::string("with\0nul\0bytes", 14));
  check_put_get(std::string(100000, 'z'));
  check_put_get(std::u32string{U"\u00e9t\u00e9"});
  check_task(std::string{});
  check_task(std::string{"lumen"});
  check_task(std::string(70000, 'q'));
}

TEST_CASE("serialization: vectors", "[serialization]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  check_put_get(std::vector<int>{});
  check_put_get(std::vector<int>{1, -2, 3});
  check_put_get(std::vector<double>(100000, 0.5));
  check_put_get(std::vector<bool>{true, false, true});
  check_put_get(std::vector<std::string>{"a", "", "ccc"});
  check_put_get(std::vector<std::vector<int>>{{1}, {}, {2, 3}});
  check_put_get(std::vector<std::uint8_t>(4097, 7));
  check_task(se_vec_int{});
  check_task(se_vec_int{5, 6, 7});
  check_task(se_vec_str{"x", "yy"});
  CHECK_THROWS_AS(
    lumen::get(lumen::put(std::vector<int>{1}).as<std::vector<long>>(),
               patience),
    lumen::type_mismatch_error);
}

TEST_CASE("serialization: maps and sets and arrays", "[serialization]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  check_put_get(std::map<std::string, int>{});
  check_put_get(std::map<std::string, int>{{"a", 1}, {"b", 2}});
  check_put_get(std::map<int, std::vector<std::string>>{{1, {"x"}}, {2, {}}});
  check_put_get(std::unordered_map<std::string, double>{{"pi", 3.14}});
  check_put_get(std::unordered_map<int, int>{{1, 10}, {2, 20}, {3, 30}});
  check_put_get(std::set<std::string>{"b", "a"});
  check_put_get(std::unordered_set<int>{4, 5, 6});
  check_put_get(std::array<int, 3>{1, 2, 3});
  check_task(se_map{{"k", {1, 2}}, {"l", {}}});
  check_task(se_umap{{1, "one"}, {2, "two"}});
}

TEST_CASE("serialization: optional and pair and tuple and variant",
          "[serialization]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  check_put_get(std::optional<int>{});
  check_put_get(std::optional<int>{0});
  check_put_get(std::optional<std::string>{"set"});
  check_put_get(std::optional<std::vector<int>>{std::vector<int>{}});
  check_put_get(std::pair<int, std::string>{1, "one"});
  check_put_get(std::pair<std::string, std::pair<int, bool>>{"n", {2, true}});
  check_put_get(std::tuple<int, double, std::string>{1, 2.5, "three"});
  check_put_get(std::tuple<>{});
  check_put_get(se_variant{});
  check_put_get(se_variant{std::string{"alt"}});
  check_task(se_opt{});
  check_task(se_opt{"x"});
  check_task(se_pair{7, "seven"});
  check_task(se_tuple{1, -1.5, "t", false});
  check_task(se_variant{42});
}

TEST_CASE("serialization: enums and chrono types", "[serialization]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  check_put_get(se_color::blue);
  check_task(se_color::green);
  check_put_get(std::chrono::milliseconds(1234));
  check_put_get(std::chrono::duration<double>(0.25));
  check_put_get(std::chrono::system_clock::time_point{} + 5h);
}

TEST_CASE("serialization: a user struct with an inspect overload",
          "[serialization]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  se_point p{1.5, -2, "corner"};
  check_put_get(p);
  check_put_get(std::vector<se_point>{p, se_point{}, p});
  check_put_get(std::map<std::string, se_point>{{"p", p}});
  check_task(p);
  CHECK(lumen::get(lumen::task(se_describe).remote(p), patience) ==
        "corner@1,-2");
  auto made = lumen::task(se_make_point).remote(3, 4, "made");
  CHECK(lumen::get(made, patience) == se_point{3, 4, "made"});
  // A task's struct result feeds another task.
  CHECK(lumen::get(lumen::task(se_describe).remote(made), patience) ==
        "made@3,4");
  CHECK_THROWS_AS(lumen::get(made.as<std::string>(), patience),
                  lumen::type_mismatch_error);
}

TEST_CASE("serialization: a struct holding containers and a nested ref",
          "[serialization][nested]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto baseline = lumen_it::object_count();
  {
    se_shape s;
    s.name = "square";
    s.corners = {{0, 0, "a"}, {1, 0, "b"}, {1, 1, "c"}, {0, 1, "d"}};
    s.anchors = {{"center", {0.5, 0.5, "o"}}};
    s.color = se_color::red;
    s.note = lumen::put(std::string{"note"});
    auto ref = lumen::put(s);
    s.note = {}; // only the stored struct holds the note now
    auto back = lumen::get(ref, patience);
    CHECK(back.name == "square");
    CHECK(back.corners.size() == 4);
    CHECK(back.corners[2] == se_point{1, 1, "c"});
    CHECK(back.anchors.at("center").label == "o");
    CHECK(back.color == se_color::red);
    REQUIRE(back.note.valid());
    CHECK(lumen::get(back.note, patience) == "note");
    CHECK(lumen::get(lumen::task(se_shape_note).remote(ref), patience) ==
          "note/square");
    CHECK(lumen::get(lumen::task(se_shape_note).remote(back), patience) ==
          "note/square");
  }
  CHECK(lumen_it::await_object_count(baseline) == baseline);
}

TEST_CASE("serialization: a vector of arithmetic values is copied once",
          "[serialization]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  using counted =
    std::vector<double, lumen_it_types::se_counting_alloc<double>>;
  constexpr std::size_t n = 1 << 20;
  counted big(n, 1.25);
  auto before = lumen_it::snapshot().object_bytes;
  lumen_it_types::se_allocations = 0;
  auto ref = lumen::put(big);
  // put copies the elements into the object, not into another vector.
  CHECK(lumen_it_types::se_allocations == 0);
  // The object holds the array once: 8 MiB plus a small header.
  auto used = lumen_it::snapshot().object_bytes - before;
  CHECK(used >= n * sizeof(double));
  CHECK(used <= n * sizeof(double) + 64);
  lumen_it_types::se_allocations = 0;
  auto back = lumen::get(ref, patience);
  // get builds the result in one allocation and returns it without a copy.
  CHECK(lumen_it_types::se_allocations == 1);
  CHECK(back.size() == n);
  CHECK(back == big);
}

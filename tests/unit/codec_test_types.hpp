// Test types and helpers shared by codec_test.cpp and codec_errors_test.cpp.
#pragma once

#include "lumen/codec.hpp"

#include <caf/meta/hex_formatted.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/omittable_if_none.hpp>
#include <caf/meta/save_callback.hpp>
#include <caf/meta/type_name.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

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

// -- helpers ------------------------------------------------------------------

template <class T>
T round_trip(const T& x) {
  return lumen::detail::from_object<T>(lumen::detail::to_object(x));
}

using nested_map =
  std::map<std::string, std::vector<std::optional<std::pair<int, double>>>>;

inline nested_map make_nested_map() {
  return {{"a", {std::pair{1, 1.5}, std::nullopt, std::pair{-3, 2.25}}},
          {"", {}},
          {"long key with spaces", {std::nullopt}}};
}

inline shapes::drawing make_drawing() {
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

inline big_value make_big_value() {
  return {make_nested_map(),
          make_drawing(),
          std::vector<double>{0.5, 1.5},
          std::vector<double>{1, 2, 3, 4},
          true,
          std::set<std::string>{"p", "q"}};
}

} // namespace codec_test

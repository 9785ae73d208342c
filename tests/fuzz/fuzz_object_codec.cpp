// Fuzz target: object payloads (lumen::codec<T>, include/lumen/detail/
// codec_*.hpp), as `get` decodes them after they came from another node or
// back from a spill file.
//
// First byte picks the type; the harness puts that type's fingerprint in
// front of the rest, so that inputs reach the value decoders. A decoder
// must either throw lumen::decode_error or return a value whose encoding
// decodes again to an equal value (ordered types: the same encoding).
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
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

#include "fuzz_support.hpp"
#include "lumen/codec.hpp"
#include "lumen/error.hpp"

using namespace lumen;
using namespace lumen::detail;

namespace fuzz_types {

enum class color : std::uint8_t { red, green, blue };

struct point {
  double x = 0;
  double y = 0;
  std::string label;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(caf::meta::type_name("point"), p.x, p.y, p.label);
}

/// Recursive: decoding must stop at the nesting limit, not the stack's.
struct tree {
  std::int32_t value = 0;
  color tint = color::red;
  std::vector<tree> children;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, tree& t) {
    return f(t.value, t.tint, t.children);
  }
};

} // namespace fuzz_types

namespace {

using fuzz_types::color;
using fuzz_types::point;
using fuzz_types::tree;

/// Decodes `value` as a T; if that works, checks that it encodes stably.
template <class T>
void roundtrip(const char* value, std::size_t n) {
  object_data obj;
  auto hash = type_hash<T>();
  obj.bytes.append(&hash, sizeof(hash));
  obj.bytes.append(value, n);
  T decoded;
  try {
    decoded = from_object<T>(obj);
  } catch (const decode_error&) {
    return;
  }
  auto once = to_object(decoded);
  auto again = from_object<T>(once);
  fuzz::require(fuzz::same_bytes(once.bytes, to_object(again).bytes),
                "a decoded value encodes the same way twice");
}

/// For unordered containers, whose encoding follows their iteration order:
/// the value must come back equal.
template <class T>
void roundtrip_equal(const char* value, std::size_t n) {
  object_data obj;
  auto hash = type_hash<T>();
  obj.bytes.append(&hash, sizeof(hash));
  obj.bytes.append(value, n);
  T decoded;
  try {
    decoded = from_object<T>(obj);
  } catch (const decode_error&) {
    return;
  }
  fuzz::require(from_object<T>(to_object(decoded)) == decoded,
                "a decoded value comes back equal");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0)
    return 0;
  auto* p = reinterpret_cast<const char*>(data + 1);
  auto n = size - 1;
  using clock = std::chrono::system_clock;
  switch (data[0] % 20) {
  case 0:
    roundtrip<std::int32_t>(p, n);
    break;
  case 1:
    roundtrip<double>(p, n);
    break;
  case 2:
    roundtrip<bool>(p, n);
    break;
  case 3:
    roundtrip<std::string>(p, n);
    break;
  case 4:
    roundtrip<std::vector<std::int64_t>>(p, n);
    break;
  case 5:
    roundtrip<std::vector<std::string>>(p, n);
    break;
  case 6:
    roundtrip<std::map<std::string, std::vector<double>>>(p, n);
    break;
  case 7:
    roundtrip<std::tuple<int, std::string, std::optional<float>>>(p, n);
    break;
  case 8:
    roundtrip<std::variant<int, std::string, std::vector<char>>>(p, n);
    break;
  case 9:
    roundtrip<std::set<int>>(p, n);
    break;
  case 10:
    roundtrip_equal<std::unordered_map<int, std::string>>(p, n);
    break;
  case 11:
    roundtrip<std::array<std::int16_t, 3>>(p, n);
    break;
  case 12:
    roundtrip<point>(p, n);
    break;
  case 13:
    roundtrip<tree>(p, n);
    break;
  case 14:
    roundtrip<std::pair<std::chrono::milliseconds, clock::time_point>>(p, n);
    break;
  case 15:
    roundtrip<std::pair<std::string, std::vector<bool>>>(p, n);
    break;
  case 16:
    roundtrip<std::vector<color>>(p, n);
    break;
  case 17:
    roundtrip<std::optional<std::vector<std::map<int, int>>>>(p, n);
    break;
  case 18:
    roundtrip_equal<std::unordered_set<std::string>>(p, n);
    break;
  default:
    roundtrip<std::vector<point>>(p, n);
    break;
  }
  return 0;
}

// The process-wide registry of type names by fingerprint, used to name the
// stored type in a type mismatch.

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "lumen/codec.hpp"

namespace lumen::detail {

namespace {

struct type_registry {
  std::mutex mtx;
  std::unordered_map<std::uint64_t, std::string> names;
};

type_registry& registry() {
  // Never destroyed: objects may be encoded by static destructors of other
  // translation units, after a static registry would be gone.
  static auto* instance = new type_registry;
  return *instance;
}

} // namespace

void remember_type_name(std::uint64_t hash, std::string_view name) {
  auto& r = registry();
  std::lock_guard<std::mutex> guard{r.mtx};
  r.names.try_emplace(hash, name);
}

std::string known_type_name(std::uint64_t hash) {
  auto& r = registry();
  std::lock_guard<std::mutex> guard{r.mtx};
  if (auto i = r.names.find(hash); i != r.names.end())
    return i->second;
  return {};
}

} // namespace lumen::detail

// Placement groups and the key-value table: the API side.
#include "lumen/kv.hpp"
#include "lumen/placement_group.hpp"

namespace lumen {

placement_group
create_placement_group(std::vector<std::map<std::string, double>> bundles,
                       pg_strategy strategy, const std::string& name) {
  auto n = bundles.size();
  auto id = detail::runtime().create_placement_group(
    bundles, static_cast<std::uint8_t>(strategy), name);
  return placement_group{std::move(id), n};
}

void remove_placement_group(const placement_group& pg) {
  if (!pg.valid())
    throw error("lumen::remove_placement_group: invalid placement group");
  detail::runtime().remove_placement_group(pg.id());
}

namespace detail {

void check_bundle_index(const placement_group& pg, int index) {
  if (!pg.valid())
    throw error("placement_group: invalid (default-constructed) group");
  if (index < -1 ||
      (index >= 0 && static_cast<std::size_t>(index) >= pg.bundle_count()))
    throw error("placement_group: bundle index " + std::to_string(index) +
                " outside a group of " + std::to_string(pg.bundle_count()) +
                " bundles");
}

} // namespace detail

namespace kv {

bool put(const std::string& key, std::string value, bool overwrite,
         const std::string& ns) {
  return detail::runtime().kv_put(ns, key, std::move(value), overwrite);
}

std::optional<std::string> get(const std::string& key, const std::string& ns) {
  return detail::runtime().kv_get(ns, key);
}

bool del(const std::string& key, const std::string& ns) {
  return detail::runtime().kv_del(ns, key);
}

std::vector<std::string> keys(const std::string& prefix,
                              const std::string& ns) {
  return detail::runtime().kv_keys(ns, prefix);
}

} // namespace kv

} // namespace lumen

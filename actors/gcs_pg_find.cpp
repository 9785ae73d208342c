// The GCS's look-up of one placement group, by id or by name, for
// lumen::get_placement_group and placement_group::state. A name arrives
// with its namespace already in it (node/embedded_runtime_context.cpp);
// names are unique among live groups (on_pg_create refuses a second).
#include "actors/gcs_state.hpp"

namespace lumen::detail_gcs {

caf::result<std::string, std::uint64_t, std::uint8_t>
on_pg_find(self_ptr self, const std::string& id, const std::string& name) {
  auto& st = self->state;
  auto answer = [](const std::string& gid, const group& g) {
    return caf::result<std::string, std::uint64_t, std::uint8_t>{
      gid, static_cast<std::uint64_t>(g.bundles.size()),
      static_cast<std::uint8_t>(g.placed ? 2 : 1)};
  };
  if (!id.empty()) {
    if (auto i = st.groups.find(id); i != st.groups.end())
      return answer(i->first, i->second);
  } else if (!name.empty()) {
    for (auto& [gid, g] : st.groups)
      if (g.name == name)
        return answer(gid, g);
  }
  return {std::string{}, std::uint64_t{0}, std::uint8_t{0}};
}

} // namespace lumen::detail_gcs

// Message types nodes send each other beyond CAF's built-in ones.
#include "actors/messages.hpp"

#include <map>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>

namespace lumen::detail {

void register_wire_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<std::map<std::string, double>>("lumen.resources");
  cfg.add_message_type<std::vector<std::map<std::string, double>>>(
    "lumen.bundles");
}

} // namespace lumen::detail

// object_store: statistics over the node's object table.
#include "actors/object_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace lumen {

namespace {

object_store_actor::behavior_type
object_store(object_store_actor::pointer, detail::object_table* table) {
  return {
    [table](stats_atom) { return table->get_stats(); },
  };
}

} // namespace

object_store_actor make_object_store(caf::actor_system& sys,
                                     detail::object_table* table) {
  return sys.spawn(object_store, table);
}

} // namespace lumen

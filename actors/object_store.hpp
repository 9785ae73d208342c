// object_store: this node's store of objects.
//
// Owns the policy around the node's object_table: capacity and statistics
// now; spilling to disk and serving transfers to other nodes as they come.
// Local `put`, `get` and `wait` go to the table directly, without a
// message, so that a ready object costs a lock and no context switch.
//
// Messages:
// - (stats) -> object_table::stats: objects, pending, bytes and capacity.
#pragma once

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"

namespace lumen {

using object_store_actor = caf::typed_actor<
  caf::replies_to<stats_atom>::with<detail::object_table::stats>>;

/// Spawns the object store around `table`, which must outlive it.
object_store_actor make_object_store(caf::actor_system& sys,
                                     detail::object_table* table);

} // namespace lumen

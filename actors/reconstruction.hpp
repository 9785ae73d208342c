// reconstruction: rebuilds this node's lost objects from their lineage.
//
// An object owned here that is still referenced, but whose every copy was
// on nodes that died, is lost. This actor runs its task again (the spec
// from this node's lineage stash, else from the GCS), first rebuilding the
// task's own lost arguments the same way (recursively), or fails the
// object with object_lost when it cannot be rebuilt: a `put` object, no
// lineage, no spec found, or its task rebuilt `max_retries` times already.
// The runtime spawns it beside the scheduler (linked to it) and hands it to
// the object store and the cluster link.
//
// Messages it takes:
// - (lost, id bytes) -> void: from the object_store: the object was lost;
//   rebuild it (or fail it).
// - (rebuilt, id) -> void: the task that rebuilds `id` ended on this node
//   (from the scheduler, only while rebuilds are pending), or its result
//   came from a peer (from the cluster link, for every result); an id not
//   being rebuilt is ignored.
// - (join, gcs) -> void: from the cluster link once the node joined: the
//   GCS to read lineage from.
//
// Messages it sends to the scheduler (in this order, one actor to
// another, so the scheduler sees them in it):
// - (rebuilding, bool): whether rebuilds are pending now (sent when that
//   changes), so that it reports (rebuilt, id) only then.
// - (lost, id): the object is not held elsewhere any more: a task taking
//   it waits for it here.
// - (resubmit, task): run this task again for its lost return; its spec is
//   recorded already (no write-ahead commit).
// It asks the GCS (linget, task id) -> spec bytes, and stores an error
// object in the table for an object it cannot rebuild.
//
// While any rebuild is pending it holds every object being rebuilt (so
// that its value finds its entry) and every value rebuilt meanwhile (a
// task rebuilt later may take it as an argument).
#pragma once

#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"
#include "lumen/config.hpp"

namespace lumen {

namespace detail {
class lineage_stash;
} // namespace detail

using rebuilt_atom = caf::atom_constant<caf::atom("rebuilt")>;
using rebuilding_atom = caf::atom_constant<caf::atom("rebuilding")>;
using resubmit_atom = caf::atom_constant<caf::atom("resubmit")>;

using reconstruction_actor =
  caf::typed_actor<caf::reacts_to<lost_atom, std::vector<char>>,
                   caf::reacts_to<rebuilt_atom, object_id>,
                   caf::reacts_to<join_atom, caf::actor>>;

/// Spawns the reconstruction actor of the node whose scheduler is
/// `scheduler` (a scheduler_actor). `table` and `stash` (null when
/// `mode` is off) must outlive it.
reconstruction_actor make_reconstruction(caf::actor_system& sys,
                                         detail::object_table* table,
                                         lineage_mode mode,
                                         detail::lineage_stash* stash,
                                         caf::actor scheduler);

} // namespace lumen

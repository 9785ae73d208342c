// Lineage collection on a node: the glue between the object table, the
// owner's lineage pins and the lineage stash actor (lineage_pins.hpp).
//
// A task submitted here gets its return's entry from `owned_return`,
// which marks it as owned and pins the lineage of its ref arguments. When
// such an entry goes (its last reference here dropped), the table's
// owned-release hook tells the pins, and the stash actor deletes what
// they collect from the GCS.
//
// Thread safety: as the object table and the pins.
#pragma once

#include <atomic>
#include <memory>

#include <caf/fwd.hpp>

#include "lumen/detail/object_data.hpp"

namespace lumen::detail {

class lineage_pins;
class object_table;
struct task_spec;

/// Hooks `table`'s owned releases to `pins`, waking `stash_actor` (held
/// weakly) when they collect something; `on` false stops the hook (at
/// shutdown). Call once, before the table is shared.
void watch_owned_releases(object_table& table,
                          std::shared_ptr<lineage_pins> pins,
                          const caf::actor& stash_actor,
                          std::shared_ptr<std::atomic<bool>> on);

/// Creates the pending entry of `task`'s return, owned here, and pins the
/// lineage of the tasks whose objects `task` takes as arguments.
ref_ptr owned_return(object_table& table, lineage_pins& pins,
                     const task_spec& task);

} // namespace lumen::detail

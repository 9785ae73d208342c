// Atoms and message types shared by the system actors of one node.
//
// Types that only travel inside one process are shared pointers to
// immutable runtime structs; CAF is told they never leave the process.
// Messages between nodes use Cap'n Proto bytes instead (src/wire).
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "lumen/ids.hpp"
#include "runtime/object_table.hpp"
#include "runtime/task_spec.hpp"

namespace lumen {

using submit_atom = caf::atom_constant<caf::atom("submit")>;
using deps_atom = caf::atom_constant<caf::atom("deps")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using blocked_atom = caf::atom_constant<caf::atom("blocked")>;
using unblocked_atom = caf::atom_constant<caf::atom("unblocked")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using finished_atom = caf::atom_constant<caf::atom("finished")>;

} // namespace lumen

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::task_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::task_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::object_table::stats)

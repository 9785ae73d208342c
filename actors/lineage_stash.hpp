// lineage_stash: moves this node's stashed lineage to the GCS and, while
// the GCS does not take it, to disk; deletes collected lineage.
//
// The runtime (at submit) and the cluster link (for tasks from peers)
// append each task's spec to the node's detail::lineage_stash
// (src/lineage/stash.hpp) without a message, and send (tick) when the
// stash had nothing queued. The actor then pumps every 5 ms while rows
// wait. A pump first drops the rows of the tasks the owner's lineage_pins
// collected (lineage collection: most objects are freed before their row
// goes), then takes the queued rows in, commits the rows that came before
// the previous pump (a row waits 5 to 10 ms: lineage_stash::ripen), and
// deletes from the GCS the collected lineage it may hold, once the stash
// has committed every row it held when that was collected. One batch is
// in flight at a time (lincommit), or, when the GCS runs in this process
// (make_gcs handed out its log), the actor writes the batches into that
// log itself, from the stash's own buffer. A failed batch is sent again a
// second later. Every 20 ms, rows still uncommitted after a whole period
// are written to RocksDB without sync.
//
// The actor's thread runs `stash_nice_offset` nice levels below the rest
// of the process: its work is never urgent, so on a busy machine it takes
// the time the others leave idle; when every core is busy it still gets
// about a tenth of a normal thread's share, enough to keep up.
//
// Messages it takes:
// - (tick) -> void: rows came, or objects were freed: pump soon.
// - (lineage_pump), (flush_timer) -> void: its own timers.
// - (join, gcs) -> void: the GCS to commit to (again, after the head came
//   back); rows kept meanwhile are sent then.
// - (stats) -> (uncommitted rows, rows committed so far).
// Messages it sends: (lincommit, rows) and (lindel, ids) to the GCS.
#pragma once

#include <cstdint>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"

namespace lumen {

/// How many nice levels the stash's thread runs below the process (up to
/// 19, the lowest priority).
inline constexpr int stash_nice_offset = 10;

namespace detail {
class lineage_stash;
class lineage_pins;
struct local_lineage_log;
} // namespace detail

using lineage_stash_actor = caf::typed_actor<
  caf::reacts_to<tick_atom>, caf::reacts_to<lineage_pump_atom>,
  caf::reacts_to<flush_timer_atom>, caf::reacts_to<join_atom, caf::actor>,
  caf::replies_to<stats_atom>::with<std::uint64_t, std::uint64_t>>;

/// Spawns the actor for `stash`, which must outlive it, detached (a
/// thread of its own, off the scheduler); `gcs` may be null until (join).
/// Whoever spawns it ends it (send_exit, then wait for it): the actor
/// system's destructor waits for a detached actor still alive.
/// With `local` (its log set), the stash commits there, on its own
/// thread, instead of sending batches to `gcs`: the GCS runs in this
/// process (make_gcs). With `pins` (which must outlive it), it deletes
/// the lineage they collect.
lineage_stash_actor
make_lineage_stash(caf::actor_system& sys, detail::lineage_stash* stash,
                   caf::actor gcs,
                   const detail::local_lineage_log* local = nullptr,
                   detail::lineage_pins* pins = nullptr);

} // namespace lumen

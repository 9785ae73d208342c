// lineage_stash: moves this node's stashed lineage to disk and to the GCS.
//
// The runtime (at submit) and the cluster link (for tasks from peers)
// append each task's spec to the node's
// detail::lineage_stash (src/lineage/stash.hpp) without a message
// and sends (tick) when the stash had nothing queued. On (tick) this actor
// sends the queued rows to the GCS in one batch (lineage_commit) and, once
// the GCS answers, drops them from the stash. Rows appended while a batch
// is in flight form the next batch, so batches grow with the load and an
// idle node sends nothing. A failed batch is sent again one second later.
// When the GCS runs in this process (make_gcs handed out its log), the
// actor commits the batches to that log itself instead, each written from
// the stash's own buffer: no copy into a message, no hop to the gcs actor.
// Every 20 ms while rows wait, rows older than one period and still
// uncommitted are written to RocksDB without sync (so a row the GCS
// commits within 20-40 ms never touches the local disk).
//
// The actor's thread runs `stash_nice_offset` nice levels below the rest
// of the process: its work is never urgent, so on a busy machine it takes
// the time the scheduler, the drivers and the tasks leave idle rather
// than a core they wait for; when every core is busy it still gets about
// a tenth of a normal thread's share, enough to keep up (README, "The
// stash yields its core").
//
// Messages:
// - (tick) -> void: commit what is queued.
// - (flush_timer) -> void: internal flush timer.
// - (join, gcs) -> void: the GCS to commit to (again, after the head came
//   back); rows kept meanwhile are sent then.
// - (stats) -> (uncommitted rows, rows committed so far).
//
// Lineage collection: on each pump it also takes the tasks the owner's
// lineage_pins collected and deletes their lineage from the GCS (lindel,
// or the local log's erase) once the stash has committed every row it
// held when they were collected (so a row is never deleted before it is
// committed here). Whoever frees the last object wakes it with (tick).
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

// actor_host: one CAF actor per user actor instance.
//
// Reserves the actor's resources and dedicated worker threads with the
// scheduler, runs the factory on a worker, then takes method calls in
// arrival order (CAF keeps each sender's order), waits for each call's ref
// arguments in that order, and runs calls on its workers: with
// max_concurrency 1 they queue on one worker and run one at a time; with n
// up to n run at once. Each worker stores the call's result in the object
// table itself. Kills, restarts (the factory runs again and later calls
// reach the fresh instance), exit_actor and the last handle going away all
// end here. User code, destructors included, runs only on the workers.
//
// Messages:
// - (call, actor_call_ptr) -> void: run a method call.
// - (deps) -> void: an awaited argument became ready.
// - (start) -> void: a host spawned with `held` may place its actor now.
// - (created, generation, instance) -> void: the factory finished.
// - (finished, generation, worker, exited, call id) -> void: a call
//   finished (or was skipped after the host withdrew it).
// - (retry, actor_call_ptr) -> void: a call lost to a restart, to rerun.
// - (kill, no_restart) -> void: kill, or restart if allowed.
// - (orphan) -> void: no handle is left in this process.
// - (attach, host) -> void: the host of a borrowed handle on another node
//   (which sends this when it starts): monitored, it keeps a non-detached
//   actor alive until it ends (its process dropped its last handle) or
//   its node goes.
// - (rcall, reply_to, owner, TaskSpec frames) -> void: calls
//   from another node, a batch of TaskSpecs (src/wire/frames.hpp); their
//   results go to reply_to as batches of ObjectPayloads.
// - (result, ObjectPayload frames) -> void: on a host whose actor lives on
//   another node, results of calls it forwarded.
// - (flush) -> void: send the calls and results gathered since the last
//   flush (scheduling/batch_outbox.hpp); the host sends it to itself.
// - (cancel, call id hi, lo, force) -> void: cancel that call if it is
//   here (actor_host_cancel.cpp): queued, it is dropped and fails with
//   task_cancelled_error; running, lumen::cancelled() turns true in it and
//   its result becomes that error (at once with `force`); forwarded, the
//   cancel follows it.
// - (rstream, call id hi, lo, consumer) -> void: sent ahead of a generator
//   method's call from another node: its items go to `consumer`, the
//   caller's first host (it follows the call if it is relayed on).
// - (stream, items, producer) / (streamack, ack) / (streamflsh, channel)
//   -> void: a generator call's items, on the caller's first host; acks
//   and flushes, on the host running it (scheduling/stream_channel.hpp).
//
// In a cluster the scheduler may place the actor on another node
// (`where`): the host then stays on the creating node as the actor's
// forwarder, has the real host spawned there, and forwards calls, kills and
// the end of the last handle to it; results come back to it. If the remote
// host's node dies, calls in flight and later ones fail with
// actor_died_error.
#pragma once

#include <memory>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"
#include "actors/object_store.hpp"
#include "actors/scheduler.hpp"
#include "scheduling/actor_directory.hpp"
#include "scheduling/stream_channel.hpp"

namespace lumen {

namespace detail {

/// What the factory produced: the instance or the error that stopped it.
struct creation_result {
  std::shared_ptr<void> instance;
  object_ptr error;
};

} // namespace detail

using actor_host_actor = caf::typed_actor<
  caf::reacts_to<call_atom, detail::actor_call_ptr>, caf::reacts_to<deps_atom>,
  caf::reacts_to<start_atom>,
  caf::reacts_to<created_atom, std::uint64_t, detail::creation_result>,
  caf::reacts_to<finished_atom, std::uint64_t, std::size_t, bool, task_id>,
  caf::reacts_to<retry_atom, detail::actor_call_ptr>,
  caf::reacts_to<kill_atom, bool>, caf::reacts_to<orphan_atom>,
  caf::reacts_to<attach_atom, caf::actor>,
  caf::reacts_to<rcall_atom, caf::actor, caf::actor, std::vector<char>>,
  caf::reacts_to<result_atom, std::vector<char>>, caf::reacts_to<flush_atom>,
  caf::reacts_to<cancel_atom, std::uint64_t, std::uint64_t, bool>,
  caf::reacts_to<rstream_atom, std::uint64_t, std::uint64_t, caf::actor>,
  caf::reacts_to<stream_atom, std::vector<char>, caf::actor>,
  caf::reacts_to<stream_ack_atom, std::vector<char>>,
  caf::reacts_to<stream_flush_atom, detail::stream_channel_ptr>>;

/// What a host needs; the pointers outlive it.
struct actor_host_args {
  detail::actor_spec_ptr spec;
  detail::object_table* table = nullptr;
  /// Null for a host spawned for an actor owned by another node.
  detail::actor_directory* directory = nullptr;
  scheduler_actor scheduler;
  object_store_actor store;
  /// Set for a host spawned for another node: stays here, never forwards.
  bool pinned = false;
  /// For a pinned host: the owner's forwarder; its end orphans the actor.
  caf::actor forwarder;
  /// For a pinned host: the actor replaces an instance that died with its
  /// node (the forwarder placed it again), so it runs as restarted.
  bool restarted = false;
  /// The GCS, told when an actor owned here ends (null: do not tell).
  caf::actor gcs;
  /// Set for a borrower: a handle to an actor owned by another process,
  /// this being the owner's host; calls and kills go there, and dropping
  /// the last local handle does not end the actor.
  caf::actor borrowed;
  /// Set when the host must wait for (start) before it places the actor:
  /// its creator registers it first, so that an actor that dies at once
  /// is never registered after its death.
  bool held = false;
};

/// Spawns the host and returns the link the directory keeps for it. With
/// `args.held`, `link->start()` lets it place the actor.
std::shared_ptr<detail::actor_link> spawn_actor_host(caf::actor_system& sys,
                                                     actor_host_args args);

/// Spawns the host of an actor owned by another node.
actor_host_actor spawn_pinned_actor_host(caf::actor_system& sys,
                                         actor_host_args args);

} // namespace lumen

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::creation_result)

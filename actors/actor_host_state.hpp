// actor_host's state and what its files share; private to them:
// actor_host.cpp assembles the behavior and runs the actor's life
// (placement, kill, restart, death); actor_host_calls.cpp runs the factory
// and the calls on the actor's workers; actor_host_remote.cpp is the
// forwarder of an actor living on another node, and the directory's link.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actor_host.hpp"
#include "lumen/detail/registry.hpp"
#include "objects/object_table.hpp"
#include "scheduling/batch_outbox.hpp"
#include "scheduling/context_info.hpp"
#include "scheduling/worker_pool.hpp"

namespace lumen::detail_actor_host {

using detail::actor_call_ptr;
using detail::error_kind;
using detail::make_error_object;
using detail::object_ptr;

enum class phase { placing, creating, alive, dead };

struct host_state {
  actor_host_args a;
  phase ph = phase::placing;
  detail::placement_ptr placement;
  /// The workers calls and the factory run on.
  std::vector<detail::worker_pool::worker*> workers;
  /// Jobs handed to each worker (current or retiring) and not finished.
  std::map<detail::worker_pool::worker*, std::size_t> inflight;
  /// Former workers, given back once their last job finished.
  std::set<detail::worker_pool::worker*> retiring;
  /// Calls handed to a worker and not finished, by call id.
  std::map<task_id, actor_call_ptr> posted;
  bool placed = false;
  std::shared_ptr<void> instance;
  /// Bumped by every restart and by death; calls queued on a worker under
  /// an older generation do not run.
  std::shared_ptr<std::atomic<std::uint64_t>> generation =
    std::make_shared<std::atomic<std::uint64_t>>(0);
  /// Set by the worker whose call ran exit_actor(), before anything else
  /// can run: later calls fail at once.
  std::shared_ptr<std::atomic<bool>> exited =
    std::make_shared<std::atomic<bool>>(false);
  int restarts_left = 0;
  bool restarted = false;
  bool create_posted = false;
  /// Calls in arrival order, not yet handed to a worker.
  std::deque<actor_call_ptr> queue;
  /// Retried calls go before new ones, in their original order.
  std::size_t front_retries = 0;
  /// A when_ready callback is outstanding.
  bool waiting = false;
  object_ptr death;
  bool orphaned = false;
  /// Hosts of borrowed handles on other nodes (attach): while any lives,
  /// an orphaned actor lives on.
  std::set<caf::actor_addr> borrowers;
  /// Set when the process shuts down (the exit handler runs).
  bool shutting_down = false;
  std::uint64_t next_seq = 0;
  /// Forwarder mode: the actor lives on another node, behind `remote`.
  bool forwarding = false;
  std::string remote_node;
  caf::actor remote_manager;
  caf::actor remote;
  /// Forwarded calls whose results have not come back.
  std::map<task_id, actor_call_ptr> remote_pending;
  /// Where the items of generator calls still to come from other nodes go
  /// (rstream), until their call arrives.
  std::map<task_id, caf::actor> stream_to;
  /// Forwarder mode: calls encoded for `remote` and not sent yet (they are
  /// in remote_pending already); the next flush sends them as one batch.
  std::shared_ptr<detail::batch_outbox<caf::actor>> calls;
  /// Results of calls from other nodes, by the host they go back to;
  /// workers add, the next flush sends (see make_outboxes).
  std::shared_ptr<detail::batch_outbox<caf::actor>> results;
  /// Failed attempts to place the actor again after its node died.
  int relocations = 0;
  /// Nodes the actor died with: the view may still list one as alive for
  /// a moment, but its scheduler is gone (see start_forward).
  std::set<std::string> lost_nodes;
  /// An async actor (a class with a lumen::async method): one worker runs
  /// its coroutines; up to max_concurrency calls are in flight on it.
  bool async_actor = false;
  const char* name = "lumen.actor_host";
};

using self_ptr = actor_host_actor::stateful_pointer<host_state>;
using worker_ptr = detail::worker_pool::worker*;

inline std::uint64_t current_gen(self_ptr self) {
  return self->state.generation->load();
}

// -- life of the actor (actor_host.cpp) ---------------------------------------

/// The host's behavior (see actor_host.hpp).
actor_host_actor::behavior_type actor_host(self_ptr self, actor_host_args args);

void maybe_quit(self_ptr self);

void die(self_ptr self, object_ptr reason);

/// Ends an orphaned actor once every call sent to it has run.
void end_if_orphaned(self_ptr self);

// -- the factory and calls on workers (actor_host_calls.cpp) ------------------

/// Whether every ref argument is ready; if not, asks to be told when the
/// first missing one is.
bool args_ready(self_ptr self, const std::vector<detail::task_arg>& args);

/// Runs the factory on a worker once the workers are there and the
/// factory's arguments are ready.
void start_create(self_ptr self);

/// Hands ready calls to workers, in order.
void pump(self_ptr self);

/// Takes a call (from this node or another) in arrival order: answers it
/// at once if the actor is dead, else queues it and pumps.
void accept_call(self_ptr self, detail::actor_call_ptr call);

/// Runs a plain method call on this thread (the worker's).
void run_call(const actor_call_ptr& call, const detail::actor_spec& spec,
              std::vector<object_ptr>& args, void* instance, bool restarted,
              object_ptr& result, bool& exited);

// -- coroutine calls of async actors (actor_host_async.cpp) -------------------

/// What a coroutine call needs to run and to report its end.
struct async_call_args {
  actor_call_ptr call;
  std::vector<object_ptr> args;
  std::shared_ptr<void> instance;
  std::shared_ptr<std::atomic<bool>> exited;
  std::uint64_t gen = 0;
  actor_host_actor host;
  worker_ptr worker = nullptr;
  detail::object_table* table = nullptr;
  bool restarted = false;
  /// The actor's spec, for lumen::context() inside the coroutine.
  detail::actor_spec_ptr spec;
};

/// What lumen::context() reports inside the actor's factory and methods
/// (its fields point into `spec`, which must outlive it).
detail::context_info context_of(const detail::actor_spec& spec);

/// Starts a coroutine method on this thread (the actor's worker): it
/// resumes on the same worker, and once it ends its result is stored and
/// the host told (finished), as for a plain call.
void start_async_call(async_call_args a, const detail::function_entry& fn);

/// How many calls an async actor may have in flight.
std::size_t async_limit(self_ptr self);

// -- forwarder to another node (actor_host_remote.cpp) ------------------------

/// Forwarder mode: sends ready calls to the remote host, in order.
void forward_calls(self_ptr self);

/// Forwarder mode: has the actor spawned on `node` once the factory's
/// arguments are ready.
void start_forward(self_ptr self);

/// Forwarder mode: the node hosting the actor died; the actor is created
/// again where the scheduler says (counting against max_restarts), and
/// the calls it had not answered are sent again while their
/// max_task_retries allow.
void relocate(self_ptr self);

/// Asks the scheduler where the actor goes and creates it there
/// (actor_host.cpp).
void place(self_ptr self);

/// Requeues a call ahead of new ones, after other retried calls.
void requeue_front(self_ptr self, const actor_call_ptr& call);

/// Makes the outboxes of calls and results; the results' closes when the
/// host ends, so that results of calls still running leave anyway.
void make_outboxes(self_ptr self);

/// The handlers of (rcall ...), (result ...) and (flush); see
/// actor_host.hpp.
void on_rcall(self_ptr self, caf::actor reply_to, caf::actor owner,
              const std::vector<char>& bytes);

void on_result(self_ptr self, const std::vector<char>& bytes);

void on_flush(self_ptr self);

/// The handler of (cancel, ...) (actor_host_cancel.cpp).
void on_cancel(self_ptr self, const task_id& id, bool force);

} // namespace lumen::detail_actor_host

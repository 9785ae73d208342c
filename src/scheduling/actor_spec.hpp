// The runtime's description of an actor and of one call to it.
//
// Thread safety: immutable once sent; shared by pointer.
#pragma once

#include <atomic>

#include <caf/actor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lumen/detail/runtime_api.hpp"
#include "lumen/ids.hpp"
#include "objects/object_table.hpp"
#include "scheduling/pending_calls.hpp"

namespace lumen::detail {

/// How an actor is made and kept.
struct actor_spec {
  /// The actor's id: the id of its creation, derived like a task's.
  task_id id;
  /// Registered factory name, e.g. "Counter::create".
  std::string factory;
  /// Fingerprint of the class the factory makes.
  std::uint64_t class_hash = 0;
  /// Factory arguments.
  std::vector<task_arg> args;
  actor_options options;
};

using actor_spec_ptr = std::shared_ptr<const actor_spec>;

class stream_channel;

/// One method call.
struct actor_call {
  task_id id;
  /// Registered method name, e.g. "Counter::add".
  std::string method;
  std::uint64_t class_hash = 0;
  std::vector<task_arg> args;
  object_id return_id;
  /// Retries left when a restart loses the call (-1: without limit).
  int retries_left = 0;
  /// Arrival order at the host, for putting withdrawn calls back in order.
  std::uint64_t seq = 0;
  /// Set on a call from another node: where its result goes instead of
  /// this node's object table.
  std::function<void(object_ptr)> deliver;
  /// Set on a generator method's call made on this node: where its items
  /// go (stream_channel.hpp).
  std::shared_ptr<stream_channel> stream;
  /// A generator method's call (made here or relayed from another node),
  /// and its max_unconsumed.
  bool streaming = false;
  std::uint32_t max_unconsumed = 0;
  /// For a streaming call from another node: the actor on the caller's
  /// node its items go to (the caller's first host). Null for a call made
  /// here.
  caf::actor stream_to;
  /// Who runs or drops the call once it is on a worker's queue:
  /// claim_queued until the worker takes it (claim_taken) or the host
  /// withdraws it at a kill or restart (claim_withdrawn).
  std::atomic<int> claim{0};
  /// Its cancel state while it runs (cancel_state.hpp): what
  /// lumen::cancelled() reads in the method.
  std::atomic<std::uint8_t> cancel{0};
  /// The name shown in errors and logs (per-call option); empty: `method`.
  std::string name;
  /// Set when the caller's process counts the call against the actor's
  /// max_pending_calls; answer() uncounts it, once.
  std::shared_ptr<pending_calls> pending;
  mutable std::atomic<bool> uncounted{false};

  /// The name errors show.
  const std::string& shown_name() const noexcept {
    return name.empty() ? method : name;
  }
};

inline constexpr int claim_queued = 0;
inline constexpr int claim_taken = 1;
inline constexpr int claim_withdrawn = 2;

/// Stores a call's result where it belongs.
inline void answer(const actor_call& call, object_ptr result,
                   object_table& table) {
  if (call.pending && !call.uncounted.exchange(true))
    call.pending->leave();
  if (call.deliver)
    call.deliver(std::move(result));
  else
    table.fulfill(call.return_id, std::move(result));
}

using actor_call_ptr = std::shared_ptr<actor_call>;

/// Where a host sends what happens to its actor, implemented by the actor
/// directory: the host tells it when the actor is gone for good.
class actor_link {
 public:
  virtual ~actor_link();

  /// Delivers a call to the actor's host.
  virtual void call(actor_call_ptr c) = 0;

  /// Asks the host to kill the actor (restarting it if allowed and
  /// `no_restart` is false).
  virtual void kill(bool no_restart) = 0;

  /// The last handle is gone: the host kills a non-detached actor and
  /// stops once it is dead.
  virtual void orphan() = 0;

  /// Lets a host spawned held place and create its actor.
  virtual void start() = 0;

  /// Forgets the host (at shutdown); later calls are dropped.
  virtual void close() = 0;

  /// The host's CAF handle, type-erased (null once closed).
  virtual caf::actor host() = 0;
};

} // namespace lumen::detail

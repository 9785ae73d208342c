// lumen::cancel in the node (see cancel_target.hpp).
#include <atomic>
#include <mutex>

#include <caf/send.hpp>

#include "lumen/cancel.hpp"
#include "lumen/detail/runtime_api.hpp"
#include "lumen/detail/stream_api.hpp"
#include "node/cancel_target.hpp"

namespace lumen::detail {

namespace {

std::mutex target_mtx;
std::shared_ptr<cancel_target> current_target;

std::shared_ptr<cancel_target> target() {
  std::lock_guard guard{target_mtx};
  return current_target;
}

} // namespace

void install_cancel_target(std::shared_ptr<cancel_target> t) {
  std::lock_guard guard{target_mtx};
  current_target = std::move(t);
}

void cancel_ref(const ref_ptr& ref, bool force, bool recursive) {
  auto t = target();
  if (!t) {
    runtime(); // throws not_initialized_error when nothing runs
    throw error("lumen::cancel: this runtime cannot cancel tasks");
  }
  if (t->table->ready(ref.get()))
    return; // finished: nothing changes
  auto& id = ref.id();
  if (force) // fails at once; the late result loses (first value wins)
    t->table->fulfill(id, cancelled_error(id.task.to_string()));
  // A generator's stream read here ends now, and its producer stops at
  // its next co_yield (it may not look at lumen::cancelled()).
  stream_stop(id.task);
  if (t->inbox->add(cancel_request{id.task, force, recursive}))
    caf::anon_send(t->scheduler, cancel_atom::value, t->inbox);
  // An actor call's return entry names its actor; the actor's host finds
  // the call and, for an actor on another node, sends the cancel there.
  if (auto slot = t->table->actor_slot(ref.get()))
    if (auto link = t->directory->link_at(slot))
      if (auto host = link->host())
        caf::anon_send(host, cancel_atom::value, id.task.hi, id.task.lo, force);
}

} // namespace lumen::detail

// actor_host: cancelling one call (see actor_host.hpp and
// lumen/cancel.hpp). A host that does not have the call (it finished, or
// the slot its caller named was reused) ignores the cancel.
#include <algorithm>

#include <caf/send.hpp>

#include "actors/actor_host_state.hpp"
#include "log/log.hpp"
#include "scheduling/cancel_state.hpp"

namespace lumen::detail_actor_host {

void on_cancel(self_ptr self, const task_id& id, bool force) {
  auto& st = self->state;
  auto& table = *st.a.table;
  // Not handed out yet: dropped.
  auto q = std::find_if(st.queue.begin(), st.queue.end(),
                        [&id](const actor_call_ptr& c) {
                          return c->id == id;
                        });
  if (q != st.queue.end()) {
    auto call = *q;
    if (static_cast<std::size_t>(q - st.queue.begin()) < st.front_retries)
      --st.front_retries;
    st.queue.erase(q);
    detail::log_debug("actor call '", call->method, "' was cancelled");
    detail::answer(*call, detail::cancelled_error(call->method), table);
    pump(self);
    return;
  }
  // On a worker: withdrawn if it has not started, else flagged.
  if (auto p = st.posted.find(id); p != st.posted.end()) {
    auto& call = p->second;
    call->cancel.store(detail::cancel_requested);
    int queued = detail::claim_queued;
    if (call->claim.compare_exchange_strong(queued, detail::claim_withdrawn) ||
        force)
      detail::answer(*call, detail::cancelled_error(call->method), table);
    return;
  }
  // Sent on to the actor's node: the cancel follows (after the calls not
  // sent yet, so that it does not overtake its call).
  if (auto r = st.remote_pending.find(id);
      r != st.remote_pending.end() && st.remote) {
    if (force)
      detail::answer(*r->second, detail::cancelled_error(r->second->method),
                     table);
    on_flush(self);
    caf::anon_send(st.remote, cancel_atom::value, id.hi, id.lo, force);
  }
}

} // namespace lumen::detail_actor_host

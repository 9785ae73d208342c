// cluster_link: cancels across nodes. A cancel the scheduler could not
// apply here goes to the node the task was sent to (its link hands it to
// its scheduler); one for a task waiting for an unreachable peer ends it
// here.
#include <algorithm>
#include <utility>

#include <caf/send.hpp>

#include "actors/cluster_link_state.hpp"
#include "log/log.hpp"
#include "scheduling/cancel_state.hpp"
#include "scheduling/fail_task.hpp"

namespace lumen::detail_cluster_link {

void on_cancel(self_ptr self, const task_id& id, bool force, bool recursive) {
  auto& st = self->state;
  if (auto i = st.sent.find(id); i != st.sent.end()) {
    auto p = st.peers.find(i->second.node);
    if (p != st.peers.end() && p->second.link) {
      detail::log_debug("cancel of task '", i->second.task->options.name,
                        "' goes to node ", i->second.node);
      self->send(p->second.link, cancel_atom::value, id.hi, id.lo, force,
                 recursive);
    }
    return;
  }
  auto& v = st.unreachable;
  auto i = std::find_if(v.begin(), v.end(), [&id](const detail::task_ptr& t) {
    return t->id == id;
  });
  if (i == v.end())
    return; // finished, or never known here: nothing to do
  auto task = std::move(*i);
  v.erase(i);
  if (task->deliver)
    task->deliver(detail::cancelled_error(task->options.name));
  else
    st.table->fulfill(task->return_id,
                      detail::cancelled_error(task->options.name));
}

void on_peer_cancel(self_ptr self, const task_id& id, bool force,
                    bool recursive) {
  self->send(self->state.scheduler, cancel_atom::value, id, force, recursive);
}

} // namespace lumen::detail_cluster_link

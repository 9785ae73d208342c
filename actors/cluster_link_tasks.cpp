// cluster_link: tasks and actors across nodes. Tasks the scheduler placed
// on a peer go out (with the lineage they depend on), come back as results,
// and run again if their node dies; tasks and actors peers send here are
// handed to the scheduler and to a pinned actor host.
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/actor_host.hpp"
#include "actors/cluster_link_state.hpp"
#include "lineage/stash.hpp"
#include "log/log.hpp"
#include "lumen/error.hpp"
#include "scheduling/fail_task.hpp"
#include "scheduling/remote_task.hpp"
#include "wire/task_spec_codec.hpp"

namespace lumen::detail_cluster_link {

namespace {

/// The uncommitted specs `task` depends on, to send along with it. The
/// peer commits copies of them and of `task`'s own row: the stash is
/// told, so that their lineage is deleted from the GCS once collected
/// even if the rows here never go there.
std::vector<std::string> lineage_for_peer(self_ptr self,
                                          const detail::task_ptr& task) {
  auto& st = self->state;
  if (st.lineage.stash == nullptr || st.lineage.mode != lineage_mode::stash)
    return {};
  std::vector<task_id> ids;
  auto specs =
    st.lineage.stash->uncommitted_ancestors(detail::task_deps(*task), &ids);
  ids.push_back(task->id);
  st.lineage.stash->shared(ids);
  return specs;
}

/// Appends a task that arrived from a peer, and the lineage it carries, to
/// this node's stash.
void stash_received(self_ptr self, const detail::task_ptr& task) {
  auto& st = self->state;
  if (st.lineage.stash == nullptr)
    return;
  bool wake = false;
  try {
    for (auto& spec : task->lineage) {
      // With its own dependencies, for forwarding it further.
      auto [id, deps] = detail::spec_deps(spec);
      wake |= st.lineage.stash->append(id, spec, std::move(deps));
    }
    wake |= detail::stash_task(*st.lineage.stash, *task);
  } catch (const std::exception& e) {
    detail::log_warn("lineage from another node not stashed: ", e.what());
  }
  task->lineage.clear();
  if (wake && st.lineage.stash_actor)
    caf::anon_send(st.lineage.stash_actor, tick_atom::value);
}

} // namespace

void fail_task(self_ptr self, const detail::task_ptr& task,
               detail::object_ptr err) {
  detail::fail_task(*self->state.table, task, std::move(err));
}

void send_to_peer(self_ptr self, detail::task_ptr task, const std::string& id) {
  auto& st = self->state;
  auto i = st.peers.find(id);
  if (i == st.peers.end() || !i->second.link) {
    if (i != st.peers.end() && i->second.rec.alive)
      st.unreachable.push_back(std::move(task)); // until the next view
    else
      self->send(st.scheduler, bounced_atom::value, std::move(task));
    return;
  }
  std::vector<char> bytes;
  detail::ref_traffic traffic;
  try {
    bytes = detail::encode_for_peer(*task, *st.table, detail::inline_limit,
                                    lineage_for_peer(self, task), &traffic);
  } catch (const std::exception& e) {
    fail_task(self, task,
              detail::make_error_object(detail::error_kind::runtime_error,
                                        e.what(), {}, task->options.name));
    return;
  }
  // Its refs' owners count that node as a borrower.
  if (!traffic.empty())
    self->send(st.store, lend_atom::value,
               caf::actor_cast<caf::actor>(i->second.link), std::move(traffic));
  self->send(i->second.link, spillback_atom::value,
             caf::actor_cast<caf::actor>(self), std::move(bytes));
  detail::log_debug("task '", task->options.name, "' goes to node ", id);
  auto key = task->id;
  st.sent.emplace(key, sent_task{std::move(task), id});
}

void resend_lost(self_ptr self) {
  auto& st = self->state;
  std::vector<detail::task_ptr> lost;
  for (auto i = st.sent.begin(); i != st.sent.end();) {
    auto j = st.peers.find(i->second.node);
    if (j == st.peers.end() || !j->second.rec.alive) {
      lost.push_back(std::move(i->second.task));
      i = st.sent.erase(i);
    } else {
      ++i;
    }
  }
  for (auto& t : lost) {
    auto retries = t->options.max_retries;
    if (retries >= 0 && static_cast<int>(t->attempt) >= retries) {
      fail_task(self, t,
                detail::make_error_object(
                  detail::error_kind::runtime_error,
                  "task '" + t->options.name +
                    "' was lost with its node and has no retries left",
                  {}, t->options.name));
      continue;
    }
    ++t->attempt;
    detail::log_warn("task '", t->options.name,
                     "' was lost with the node it ran on; it runs again "
                     "(attempt ",
                     t->attempt + 1, ")");
    self->send(st.scheduler, retry_atom::value, std::move(t));
  }
}

void on_spillback(self_ptr self, caf::actor owner,
                  const std::vector<char>& bytes) {
  auto& st = self->state;
  detail::task_ptr task;
  std::vector<object_id> to_fetch;
  detail::ref_traffic traffic;
  try {
    task = detail::decode_from_peer(bytes, *st.table, to_fetch, &traffic);
  } catch (const std::exception& e) {
    detail::log_warn("dropped a task from another node: ", e.what());
    return;
  }
  if (!traffic.empty())
    self->send(st.store, lend_atom::value, caf::actor{}, std::move(traffic));
  detail::log_debug("took task '", task->options.name, "' from another node");
  stash_received(self, task);
  for (auto& id : to_fetch)
    self->send(st.store, fetch_atom::value, detail::id_bytes(id), owner);
  auto id = task->return_id;
  auto store = st.store;
  task->deliver = [owner, id, store,
                   table = st.table](detail::object_ptr result) {
    if (!result->error && result->bytes.size() > detail::inline_limit &&
        result->refs.empty()) {
      caf::anon_send(store, host_atom::value,
                     detail::hosted_object{id, std::move(result), owner});
      return;
    }
    detail::ref_traffic lent;
    auto bytes = detail::encode_result(id, result, table, &lent);
    // The caller's node borrows the refs in the result (refs this task
    // made too: they stay valid for the caller).
    if (!lent.empty())
      caf::anon_send(store, lend_atom::value, owner, std::move(lent));
    caf::anon_send(caf::actor_cast<cluster_link_actor>(owner),
                   result_atom::value, std::move(bytes));
  };
  if (task->options.streaming)
    task->stream =
      detail::open_remote_stream(task->id, task->options.max_unconsumed, owner,
                                 caf::actor_cast<caf::actor>(self));
  self->send(st.scheduler, spillback_atom::value, std::move(task));
}

void on_result(self_ptr self, const std::vector<char>& bytes) {
  auto& st = self->state;
  detail::received_result r;
  detail::ref_traffic traffic;
  try {
    r = detail::decode_result(bytes, *st.table, &traffic);
  } catch (const std::exception& e) {
    detail::log_warn("dropped a result from another node: ", e.what());
    return;
  }
  if (!traffic.empty())
    self->send(st.store, lend_atom::value, caf::actor{}, std::move(traffic));
  auto i = st.sent.find(r.id.task);
  if (i == st.sent.end())
    return; // a late answer for a task already sent elsewhere
  // The reconstruction actor ignores ids it does not rebuild.
  self->send(st.reconstruction, rebuilt_atom::value, r.id);
  auto sent = std::move(i->second);
  st.sent.erase(i);
  bool held_there = !r.value;
  if (r.value) {
    st.table->fulfill(r.id, std::move(r.value));
  } else {
    // The value stays where it was made: let the store know.
    self->send(st.store, located_atom::value, detail::id_bytes(r.id),
               r.location, r.size);
  }
  self->send(st.scheduler, result_atom::value, std::move(sent.node),
             std::move(sent.task), r.id, held_there);
}

caf::result<caf::actor> on_spawn(self_ptr self, caf::actor forwarder,
                                 caf::actor owner,
                                 const std::vector<char>& spec_bytes,
                                 const std::vector<char>& option_bytes) {
  auto& st = self->state;
  std::vector<object_id> to_fetch;
  detail::task_ptr call;
  detail::remote_actor_options opts;
  detail::ref_traffic traffic;
  try {
    call = detail::decode_from_peer(spec_bytes, *st.table, to_fetch, &traffic);
    opts =
      detail::decode_actor_options(option_bytes.data(), option_bytes.size());
  } catch (const std::exception& e) {
    detail::log_warn("refused an actor from another node: ", e.what());
    return caf::make_error(caf::sec::invalid_argument, e.what());
  }
  if (!traffic.empty())
    self->send(st.store, lend_atom::value, caf::actor{}, std::move(traffic));
  for (auto& id : to_fetch)
    self->send(st.store, fetch_atom::value, detail::id_bytes(id), owner);
  auto spec = std::make_shared<detail::actor_spec>();
  spec->id = call->id;
  spec->factory = call->function;
  spec->class_hash = opts.class_hash;
  spec->args = std::move(call->args);
  spec->options = std::move(opts.options);
  actor_host_args args;
  args.spec = std::move(spec);
  args.table = st.table;
  args.scheduler = st.scheduler;
  args.store = st.store;
  args.pinned = true;
  args.forwarder = std::move(forwarder);
  args.restarted = opts.restarted;
  if (args.spec->options.detached)
    args.gcs = st.gcs; // it registers itself, to outlive its owner
  return caf::actor_cast<caf::actor>(
    spawn_pinned_actor_host(self->system(), std::move(args)));
}

} // namespace lumen::detail_cluster_link

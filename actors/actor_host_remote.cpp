// actor_host as the forwarder of an actor that lives on another node
// (spawning it there, relaying calls and results), the host side of calls
// from other nodes, and the link the actor directory keeps to a host.
#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "actors/actor_host.hpp"
#include "actors/actor_host_state.hpp"
#include "log/log.hpp"
#include "scheduling/remote_task.hpp"
#include "wire/frames.hpp"

namespace lumen {

namespace detail_actor_host {

namespace {

/// Attempts to create a restarted actor before its creation fails.
constexpr int max_relocations = 40;

/// A batch of calls or results leaves once it holds this many bytes,
/// without waiting for the flush.
constexpr std::size_t max_batch_bytes = 1 << 20;

/// The wire form of a call (or of the factory call, for `spec`).
std::vector<char> wire_call(self_ptr self, const task_id& id,
                            const std::string& function,
                            const std::vector<detail::task_arg>& args,
                            const object_id& return_id,
                            const caf::actor& receiver, const std::string& name,
                            const detail::actor_call* call = nullptr) {
  detail::task_spec t;
  t.id = id;
  t.function = function;
  t.args = args;
  t.options.name = name;
  t.options.num_cpus = 0;
  if (call != nullptr && call->streaming) {
    t.options.streaming = true;
    t.options.max_unconsumed = call->max_unconsumed;
  }
  t.return_id = return_id;
  detail::ref_traffic traffic;
  auto bytes = detail::encode_for_peer(t, *self->state.a.table,
                                       detail::inline_limit, {}, &traffic);
  // Its refs' owners count the receiver's node as a borrower.
  if (!traffic.empty())
    caf::anon_send(self->state.a.store, lend_atom::value, receiver,
                   std::move(traffic));
  return bytes;
}

} // namespace

void forward_calls(self_ptr self) {
  auto& st = self->state;
  while (!st.queue.empty()) {
    auto call = st.queue.front();
    if (!args_ready(self, call->args))
      return;
    st.queue.pop_front();
    std::vector<char> bytes;
    try {
      bytes =
        wire_call(self, call->id, call->method, call->args, call->return_id,
                  st.remote, call->shown_name(), call.get());
    } catch (const std::exception& e) {
      detail::answer(*call,
                     make_error_object(error_kind::runtime_error, e.what(), {},
                                       call->shown_name()),
                     *st.a.table);
      continue;
    }
    // A generator's items go straight to the caller's first host (this
    // one, for a call made here); the call's batch comes after this.
    if (call->streaming)
      caf::anon_send(st.remote, rstream_atom::value, call->id.hi, call->id.lo,
                     call->stream_to ? call->stream_to
                                     : caf::actor_cast<caf::actor>(self));
    st.remote_pending.emplace(call->id, call);
    st.calls->add(st.remote, {bytes.data(), bytes.size()});
  }
  st.front_retries = 0;
  end_if_orphaned(self);
}

namespace {

/// Asks the scheduler again in a moment, a bounded number of times; true
/// if it will.
bool place_again_later(self_ptr self) {
  auto& st = self->state;
  if (!st.restarted || st.ph == phase::dead ||
      ++st.relocations > max_relocations)
    return false;
  self->delayed_send(self, std::chrono::milliseconds(250), start_atom::value);
  return true;
}

} // namespace

void start_forward(self_ptr self) {
  auto& st = self->state;
  if (!args_ready(self, st.a.spec->args))
    return;
  // A node the actor just died on may still look alive in this node's
  // view; a spawn request there would go unanswered until its timeout
  // (CAF drops messages to the proxies of a lost node).
  if (st.lost_nodes.count(st.remote_node) > 0) {
    if (!place_again_later(self))
      die(self, make_error_object(error_kind::actor_creation,
                                  "actor '" + st.a.spec->factory +
                                    "' could not be placed again: only "
                                    "nodes it died on were offered"));
    return;
  }
  std::vector<char> spec_bytes;
  try {
    spec_bytes = wire_call(self, st.a.spec->id, st.a.spec->factory,
                           st.a.spec->args, object_id{st.a.spec->id, 1},
                           caf::actor_cast<caf::actor>(st.remote_manager),
                           st.a.spec->factory);
  } catch (const std::exception& e) {
    die(self, make_error_object(error_kind::actor_creation, e.what()));
    return;
  }
  // A placement after the actor's node died (relocate) makes a restarted
  // instance there.
  auto opts = detail::encode_actor_options(
    {st.a.spec->class_hash, st.a.spec->options, st.restarted});
  self
    ->request(st.remote_manager, std::chrono::seconds(30), spawn_atom::value,
              caf::actor_cast<caf::actor>(self),
              caf::actor_cast<caf::actor>(st.a.scheduler), spec_bytes,
              std::vector<char>(opts.data(), opts.data() + opts.size()))
    .then(
      [self](caf::actor& remote) {
        auto& st = self->state;
        if (st.ph == phase::dead) {
          caf::anon_send(remote, kill_atom::value, true);
          caf::anon_send(remote, orphan_atom::value);
          return;
        }
        st.remote = remote;
        self->monitor(remote);
        st.ph = phase::alive;
        pump(self);
      },
      [self](caf::error& err) {
        auto& st = self->state;
        // After a node death the view may still offer the dead node for a
        // while: ask again, a bounded number of times.
        if (place_again_later(self))
          return;
        die(self, make_error_object(error_kind::actor_creation,
                                    "actor '" + st.a.spec->factory +
                                      "' could not be placed on node " +
                                      st.remote_node + ": " +
                                      self->system().render(err)));
      });
}

void relocate(self_ptr self) {
  auto& st = self->state;
  detail::log_warn("actor ", st.a.spec->id.to_string(), " (",
                   st.a.spec->factory,
                   ") restarts elsewhere: the node hosting "
                   "it (",
                   st.remote_node, ") is gone");
  if (st.restarts_left > 0)
    --st.restarts_left;
  st.restarted = true;
  st.relocations = 0;
  st.lost_nodes.insert(st.remote_node);
  self->demonitor(st.remote);
  st.remote = nullptr;
  // Unanswered calls go again, in their order, before newer ones.
  std::vector<actor_call_ptr> lost;
  for (auto& kv : st.remote_pending)
    lost.push_back(kv.second);
  st.remote_pending.clear();
  st.calls->clear(); // all in `lost`
  std::sort(lost.begin(), lost.end(),
            [](const actor_call_ptr& x, const actor_call_ptr& y) {
              return x->seq < y->seq;
            });
  st.front_retries = 0;
  for (auto& c : lost) {
    if (c->retries_left == 0) {
      detail::answer(*c,
                     make_error_object(error_kind::actor_died,
                                       "the node hosting the actor (" +
                                         st.remote_node +
                                         ") died before the call returned",
                                       {}, c->shown_name()),
                     *st.a.table);
      continue;
    }
    if (c->retries_left > 0)
      --c->retries_left;
    requeue_front(self, c);
  }
  st.ph = phase::placing;
  st.forwarding = false;
  st.remote_node.clear();
  st.remote_manager = nullptr;
  place(self);
}

void make_outboxes(self_ptr self) {
  auto& st = self->state;
  // Both post to the host; a worker may find it gone (it then sends).
  auto post = [addr = caf::actor_cast<caf::actor_addr>(self)] {
    auto h = caf::actor_cast<actor_host_actor>(addr);
    if (!h)
      return false;
    caf::anon_send(h, flush_atom::value);
    return true;
  };
  // Only this host's own thread adds calls and flushes them, while it is
  // alive: the raw pointer is safe.
  st.calls = std::make_shared<detail::batch_outbox<caf::actor>>(
    max_batch_bytes, post,
    [self](const caf::actor& to, std::vector<char> batch) {
      caf::anon_send(to, rcall_atom::value, caf::actor_cast<caf::actor>(self),
                     caf::actor_cast<caf::actor>(self->state.a.scheduler),
                     std::move(batch));
    });
  st.results = std::make_shared<detail::batch_outbox<caf::actor>>(
    max_batch_bytes, post, [](const caf::actor& to, std::vector<char> batch) {
      caf::anon_send(to, result_atom::value, std::move(batch));
    });
  self->attach_functor([results = st.results] {
    results->close();
  });
}

void on_rcall(self_ptr self, caf::actor reply_to, caf::actor owner,
              const std::vector<char>& bytes) {
  auto& st = self->state;
  std::vector<std::string_view> frames;
  try {
    frames = detail::split_frames(bytes, "actor calls from another node");
  } catch (const std::exception& e) {
    detail::log_warn("dropped actor calls from another node: ", e.what());
    return;
  }
  for (auto frame : frames) {
    std::vector<object_id> to_fetch;
    detail::task_ptr t;
    detail::ref_traffic traffic;
    try {
      t = detail::decode_from_peer(frame, *st.a.table, to_fetch, &traffic);
    } catch (const std::exception& e) {
      detail::log_warn("dropped an actor call from another node: ", e.what());
      continue;
    }
    if (!traffic.empty())
      self->send(st.a.store, lend_atom::value, caf::actor{},
                 std::move(traffic));
    for (auto& id : to_fetch)
      self->send(st.a.store, fetch_atom::value, detail::id_bytes(id), owner);
    auto call = std::make_shared<detail::actor_call>();
    call->id = t->id;
    call->method = t->function;
    if (t->options.name != t->function)
      call->name = t->options.name;
    call->class_hash = st.a.spec->class_hash;
    call->args = std::move(t->args);
    call->return_id = t->return_id;
    if (t->options.streaming) {
      call->streaming = true;
      call->max_unconsumed = t->options.max_unconsumed;
      // Told ahead of the call; the previous host if that was lost.
      auto to = st.stream_to.find(t->id);
      if (to != st.stream_to.end()) {
        call->stream_to = std::move(to->second);
        st.stream_to.erase(to);
      } else {
        call->stream_to = reply_to;
      }
    }
    call->deliver = [results = st.results, reply_to, id = t->return_id,
                     table = st.a.table, store = st.a.store](object_ptr r) {
      detail::ref_traffic lent;
      auto b = detail::encode_result(id, r, table, &lent);
      if (!lent.empty())
        caf::anon_send(store, lend_atom::value, reply_to, std::move(lent));
      results->add(reply_to, {b.data(), b.size()});
    };
    accept_call(self, std::move(call));
  }
}

void on_result(self_ptr self, const std::vector<char>& bytes) {
  auto& st = self->state;
  std::vector<std::string_view> frames;
  try {
    frames = detail::split_frames(bytes, "actor results");
  } catch (const std::exception& e) {
    detail::log_warn("dropped actor results: ", e.what());
    return;
  }
  for (auto frame : frames) {
    detail::received_result r;
    detail::ref_traffic traffic;
    try {
      r = detail::decode_result(frame, *st.a.table, &traffic);
    } catch (const std::exception& e) {
      detail::log_warn("dropped an actor result: ", e.what());
      continue;
    }
    if (!traffic.empty())
      self->send(st.a.store, lend_atom::value, caf::actor{},
                 std::move(traffic));
    auto i = st.remote_pending.find(r.id.task);
    if (i == st.remote_pending.end() || !r.value)
      continue;
    auto call = std::move(i->second);
    st.remote_pending.erase(i);
    // A call relayed for another node answers there; ours, here.
    detail::answer(*call, std::move(r.value), *st.a.table);
  }
  end_if_orphaned(self);
  maybe_quit(self);
}

void on_flush(self_ptr self) {
  auto& st = self->state;
  st.calls->flush();
  st.results->flush();
}

namespace {

/// The directory's way to the host.
class host_link : public detail::actor_link {
 public:
  /// `gcs` is told the actor's name is free when the last handle goes (in
  /// this thread's order, before anything its caller does next).
  host_link(actor_host_actor handle, caf::actor gcs, std::string id)
    : handle_(std::move(handle)), addr_(handle_.address()),
      gcs_(std::move(gcs)), id_(std::move(id)) {}

  void call(actor_call_ptr c) override {
    if (auto h = handle())
      caf::anon_send(h, call_atom::value, std::move(c));
  }

  void kill(bool no_restart) override {
    if (auto h = handle())
      caf::anon_send(h, kill_atom::value, no_restart);
  }

  void orphan() override {
    if (gcs_)
      caf::anon_send(gcs_, actor_dead_atom::value, id_, addr_);
    if (auto h = handle())
      caf::anon_send(h, orphan_atom::value);
  }

  void start() override {
    if (auto h = handle())
      caf::anon_send(h, start_atom::value);
  }

  caf::actor host() override {
    return caf::actor_cast<caf::actor>(handle());
  }

  void close() override {
    actor_host_actor h;
    {
      std::lock_guard guard{mtx_};
      h.swap(handle_);
    }
    if (h)
      caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  }

 private:
  actor_host_actor handle() {
    std::lock_guard guard{mtx_};
    return handle_;
  }

  std::mutex mtx_;
  actor_host_actor handle_;
  /// The host's address, kept after close(): the GCS ends the actor's
  /// row only if this is the host it knows (see gcs.hpp, actordead).
  caf::actor_addr addr_;
  caf::actor gcs_;
  std::string id_;
};

} // namespace

} // namespace detail_actor_host

std::shared_ptr<detail::actor_link> spawn_actor_host(caf::actor_system& sys,
                                                     actor_host_args args) {
  auto gcs = args.borrowed ? caf::actor{} : args.gcs;
  auto id = args.spec->id.to_string();
  return std::make_shared<detail_actor_host::host_link>(
    sys.spawn(detail_actor_host::actor_host, std::move(args)), std::move(gcs),
    std::move(id));
}

} // namespace lumen

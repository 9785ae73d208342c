// actor_host: placement, creation, ordered calls, kills and restarts.
// Calls on workers: actor_host_calls.cpp; forwarding to another node and
// the directory's link: actor_host_remote.cpp.
#include "actors/actor_host.hpp"

#include <algorithm>
#include <atomic>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actor_host_state.hpp"
#include "log/log.hpp"

namespace lumen {

namespace detail_actor_host {

namespace {

/// Destroys the instance on a worker: user destructors never run on a
/// scheduler thread.
void dispose(self_ptr self) {
  auto& st = self->state;
  if (!st.instance)
    return;
  if (st.workers.empty()) {
    st.instance.reset();
    return;
  }
  detail::worker_pool::post(st.workers.front(),
                            [inst = std::move(st.instance)](bool) mutable {
                              inst.reset();
                            });
}

std::size_t total_inflight(const host_state& st) {
  std::size_t n = 0;
  for (auto& kv : st.inflight)
    n += kv.second;
  return n;
}

/// Gives retiring workers whose jobs all finished back to the pool.
void return_idle_workers(self_ptr self) {
  auto& st = self->state;
  detail::worker_list back;
  for (auto i = st.retiring.begin(); i != st.retiring.end();) {
    if (st.inflight[*i] == 0) {
      back.workers.push_back(*i);
      st.inflight.erase(*i);
      i = st.retiring.erase(i);
    } else {
      ++i;
    }
  }
  if (!back.workers.empty())
    self->send(st.a.scheduler, release_atom::value, detail::placement_ptr{},
               std::move(back));
}

/// Retires the current workers (each goes back once idle).
void retire_workers(self_ptr self) {
  auto& st = self->state;
  for (auto* w : st.workers)
    st.retiring.insert(w);
  st.workers.clear();
  return_idle_workers(self);
}

/// Takes back calls handed to workers that have not started yet; returns
/// them in their original order.
std::vector<actor_call_ptr> withdraw_posted(self_ptr self) {
  auto& st = self->state;
  std::vector<actor_call_ptr> result;
  for (auto& kv : st.posted) {
    int expected = detail::claim_queued;
    if (kv.second->claim.compare_exchange_strong(expected,
                                                 detail::claim_withdrawn))
      result.push_back(kv.second);
  }
  std::sort(result.begin(), result.end(),
            [](const actor_call_ptr& x, const actor_call_ptr& y) {
              return x->seq < y->seq;
            });
  return result;
}

} // namespace

void maybe_quit(self_ptr self) {
  auto& st = self->state;
  if (st.ph != phase::dead || !st.orphaned || total_inflight(st) > 0 ||
      !st.remote_pending.empty())
    return;
  self->quit();
}

void die(self_ptr self, object_ptr reason) {
  auto& st = self->state;
  if (st.ph == phase::dead)
    return;
  // The name goes first: whoever sees a call fail may take it at once
  // (the GCS gets this before any later request that caller makes).
  if (st.a.directory != nullptr)
    st.a.directory->dead(st.a.spec->id);
  // A detached actor on another node outlives its owner's shutdown.
  bool survives = st.shutting_down && st.remote && st.a.spec->options.detached;
  // The GCS knows a detached actor on another node by its host there (see
  // gcs.hpp, actordead), which this host ends below.
  if (st.a.gcs && !st.a.borrowed && !survives &&
      (!st.a.pinned || st.a.spec->options.detached))
    caf::anon_send(st.a.gcs, actor_dead_atom::value, st.a.spec->id.to_string(),
                   st.remote && st.a.spec->options.detached
                     ? st.remote.address()
                     : self->address());
  if (!st.shutting_down)
    detail::log_info(
      "actor ", st.a.spec->id.to_string(), " (", st.a.spec->factory,
      ") ended: ", reason && reason->error ? reason->error->message : "");
  st.ph = phase::dead;
  st.generation->fetch_add(1);
  st.death = reason;
  for (auto& c : withdraw_posted(self))
    detail::answer(*c, reason, *st.a.table);
  for (auto& c : st.queue)
    detail::answer(*c, reason, *st.a.table);
  st.queue.clear();
  dispose(self);
  if (st.placed) {
    self->send(st.a.scheduler, release_atom::value, st.placement,
               detail::worker_list{});
    st.placed = false;
  }
  st.calls->flush();
  if (st.remote && !st.a.borrowed && !survives) {
    // The remote host ends too; it answers calls still on their way.
    caf::anon_send(st.remote, kill_atom::value, true);
    caf::anon_send(st.remote, orphan_atom::value);
  }
  // A detached actor ended here (killed through a handle found by name, or
  // exited): its creator's forwarder ends too, so that the creator stops
  // finding it by name; it then orphans this host. Not at shutdown: the
  // forwarder places the actor again when this node goes.
  if (st.a.pinned && st.a.spec->options.detached && st.a.forwarder &&
      !st.shutting_down)
    self->send(caf::actor_cast<actor_host_actor>(st.a.forwarder),
               kill_atom::value, true);

  retire_workers(self);
  maybe_quit(self);
}

void end_if_orphaned(self_ptr self) {
  auto& st = self->state;
  if (st.orphaned && st.ph != phase::dead && st.borrowers.empty() &&
      st.queue.empty() && st.posted.empty() && st.remote_pending.empty())
    die(self, make_error_object(error_kind::actor_died,
                                "the actor ended: no handle to it is left"));
}

void requeue_front(self_ptr self, const actor_call_ptr& call) {
  auto& st = self->state;
  auto pos = st.queue.begin() + static_cast<std::ptrdiff_t>(
                                  std::min(st.front_retries, st.queue.size()));
  st.queue.insert(pos, call);
  ++st.front_retries;
}

namespace {

/// Asks the scheduler for `n` workers; `fresh` ones for a restart.
void request_workers(self_ptr self, detail::placement_ptr what) {
  self->request(self->state.a.scheduler, caf::infinite, place_atom::value, what)
    .then([self, what](detail::worker_list& wl) {
      auto& st = self->state;
      if (st.ph == phase::dead) {
        self->send(st.a.scheduler, release_atom::value,
                   what->workers_only ? detail::placement_ptr{} : what, wl);
        return;
      }
      st.workers = std::move(wl.workers);
      for (auto* w : st.workers)
        st.inflight.emplace(w, 0);
      st.placed = true;
      st.ph = phase::creating;
      start_create(self);
    });
}

void restart(self_ptr self) {
  auto& st = self->state;
  detail::log_warn("actor ", st.a.spec->id.to_string(), " (",
                   st.a.spec->factory,
                   ") restarts: lumen::kill asked for a restart");
  st.generation->fetch_add(1);
  if (st.restarts_left > 0)
    --st.restarts_left;
  st.restarted = true;
  st.create_posted = false;
  // Calls not started yet run on the fresh instance while retries allow.
  auto withdrawn = withdraw_posted(self);
  st.front_retries = 0;
  for (auto& c : withdrawn) {
    if (c->retries_left == 0) {
      detail::answer(
        *c,
        make_error_object(error_kind::actor_died,
                          "the actor was restarted before the call ran", {},
                          c->shown_name()),
        *st.a.table);
      continue;
    }
    if (c->retries_left > 0)
      --c->retries_left;
    c->claim.store(detail::claim_queued);
    requeue_front(self, c);
  }
  dispose(self);
  if (!st.placed) {
    st.ph = phase::placing; // placement still pending: create once placed
    return;
  }
  st.ph = phase::creating;
  if (total_inflight(st) == 0) {
    start_create(self);
    return;
  }
  // A call still runs (perhaps for good): fresh workers for the new
  // instance; the old ones go back once idle.
  auto fresh = std::make_shared<detail::placement>(*st.placement);
  fresh->hold = {};
  fresh->needs_cpu_node = false;
  fresh->workers_only = true;
  retire_workers(self);
  request_workers(self, fresh);
}

} // namespace

/// Asks the scheduler where the actor goes: here, or (in a cluster)
/// another node, this host then being its forwarder.
void place(self_ptr self) {
  auto& st = self->state;
  self->request(st.a.scheduler, caf::infinite, where_atom::value, st.placement)
    .then(
      [self](std::string& node, caf::actor& manager) {
        auto& st = self->state;
        if (st.ph == phase::dead)
          return;
        if (node.empty()) {
          request_workers(self, st.placement);
          return;
        }
        st.forwarding = true;
        st.remote_node = std::move(node);
        st.remote_manager = std::move(manager);
        start_forward(self);
      },
      [self](caf::error& err) {
        die(self, make_error_object(
                    error_kind::actor_creation,
                    "actor '" + self->state.a.spec->factory +
                      "' cannot be placed: " + self->system().render(err)));
      });
}

actor_host_actor::behavior_type actor_host(self_ptr self,
                                           actor_host_args args) {
  auto& st = self->state;
  st.a = std::move(args);
  st.restarts_left = st.a.spec->options.max_restarts;
  make_outboxes(self);
  auto p = std::make_shared<detail::placement>();
  p->owner = st.a.spec->id;
  p->name = st.a.spec->factory;
  auto& opts = st.a.spec->options;
  p->hold = detail::resource_set::from_doubles(opts.resources);
  if (opts.num_cpus)
    p->hold.set(detail::cpu_resource, *opts.num_cpus);
  else
    p->needs_cpu_node = true;
  // An async actor runs all its calls on one worker (actor_host_async.cpp).
  st.async_actor = detail::is_async_class(st.a.spec->class_hash);
  p->workers = st.async_actor
                 ? 1
                 : static_cast<std::size_t>(std::max(1, opts.max_concurrency));
  p->strategy = opts.strategy;
  p->affinity_node = opts.affinity_node;
  p->affinity_soft = opts.affinity_soft;
  st.placement = p;
  if (st.a.borrowed) {
    st.forwarding = true;
    st.remote = st.a.borrowed;
    st.remote_node = "the actor's owner";
    self->monitor(st.remote);
    // The owner's host keeps the actor while this host lives.
    self->send(caf::actor_cast<actor_host_actor>(st.remote), attach_atom::value,
               caf::actor_cast<caf::actor>(self));
    st.ph = phase::alive;
  } else if (st.a.pinned) {
    st.restarted = st.a.restarted;
    if (st.a.forwarder)
      self->monitor(st.a.forwarder);
    // A detached actor is found through this host, not its owner's
    // forwarder, so that it outlives the owner.
    if (opts.detached && st.a.gcs)
      caf::anon_send(st.a.gcs, actor_add_atom::value, st.a.spec->id.to_string(),
                     opts.name, opts.ns, st.a.spec->class_hash,
                     caf::actor_cast<caf::actor>(self), true);
    request_workers(self, st.placement);
  } else if (!st.a.held) {
    place(self);
  }
  // The scheduler ends at shutdown, after the directory told every host
  // it reaches to end: a host no handle reaches any more (orphaned, waiting
  // for answers that may never come) ends with it, or the actor system
  // would wait for it forever.
  if (st.a.scheduler)
    self->monitor(st.a.scheduler);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.a.scheduler && msg.source == st.a.scheduler.address()) {
      st.shutting_down = true;
      die(self,
          make_error_object(error_kind::actor_died, "lumen was shut down"));
      self->quit(msg.reason);
      return;
    }
    if (st.remote && msg.source == st.remote.address()) {
      if (st.restarts_left != 0 && !st.a.borrowed && st.ph != phase::dead) {
        // Re-created elsewhere while max_restarts allows.
        relocate(self);
        return;
      }
      auto err = make_error_object(error_kind::actor_died,
                                   "the node hosting the actor (" +
                                     st.remote_node + ") is gone");
      for (auto& kv : st.remote_pending)
        detail::answer(*kv.second, err, *st.a.table);
      st.remote_pending.clear();
      st.calls->clear();
      st.remote = nullptr;
      die(self, err);
    } else if (st.borrowers.erase(msg.source) > 0) {
      // A borrowed handle's host ended (its process dropped the handle)
      // or its node went.
      end_if_orphaned(self);
      maybe_quit(self);
    } else if (st.a.forwarder && msg.source == st.a.forwarder.address()) {
      // The owner's node is gone. A detached actor lives on (the GCS
      // knows this host); any other, or one killed already, can no longer
      // be reached.
      if (st.a.spec->options.detached && st.ph != phase::dead)
        return;
      st.orphaned = true;
      end_if_orphaned(self);
      maybe_quit(self);
    }
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // Shutdown: end without running anything more. A detached actor on
    // another node outlives this process.
    self->state.shutting_down = true;
    die(self, make_error_object(error_kind::actor_died, "lumen was shut down"));
    self->quit(msg.reason);
  });
  return {
    [self](call_atom, actor_call_ptr call) {
      accept_call(self, std::move(call));
    },
    [self](start_atom) {
      auto& st = self->state;
      if (st.ph != phase::placing)
        return;
      if (st.a.held) {
        st.a.held = false;
        place(self);
      } else if (st.restarted) {
        // Placing again after a failed attempt (see relocate).
        st.forwarding = false;
        st.remote_node.clear();
        st.remote_manager = nullptr;
        place(self);
      }
    },
    [self](deps_atom) {
      auto& st = self->state;
      st.waiting = false;
      if (st.forwarding && !st.remote && st.ph != phase::dead)
        start_forward(self);
      else if (st.ph == phase::creating)
        start_create(self);
      else
        pump(self);
    },
    [self](created_atom, std::uint64_t gen, detail::creation_result& r) {
      auto& st = self->state;
      if (gen != current_gen(self) || st.ph != phase::creating) {
        if (r.instance && !st.workers.empty())
          detail::worker_pool::post(
            st.workers.front(), [inst = std::move(r.instance)](bool) mutable {
              inst.reset();
            });
        return;
      }
      st.create_posted = false;
      if (r.error) {
        die(self, r.error);
        return;
      }
      st.instance = std::move(r.instance);
      st.ph = phase::alive;
      pump(self);
    },
    [self](finished_atom, std::uint64_t, std::size_t worker, bool exited,
           task_id call) {
      auto& st = self->state;
      auto* w = reinterpret_cast<worker_ptr>(worker);
      if (auto i = st.inflight.find(w); i != st.inflight.end() && i->second)
        --i->second;
      st.posted.erase(call);
      if (exited)
        die(self,
            make_error_object(error_kind::actor_died, "the actor exited via "
                                                      "lumen::exit_actor()"));
      return_idle_workers(self);
      pump(self);
      end_if_orphaned(self);
      maybe_quit(self);
    },
    [self](retry_atom, actor_call_ptr call) {
      auto& st = self->state;
      if (call->retries_left > 0)
        --call->retries_left;
      if (st.ph == phase::dead) {
        detail::answer(*call, st.death, *st.a.table);
        return;
      }
      requeue_front(self, call);
      pump(self);
    },
    [self](kill_atom, bool no_restart) {
      auto& st = self->state;
      if (st.ph == phase::dead)
        return;
      if (st.a.borrowed && st.remote) {
        // A handle from another process (get_actor, or passed on): the
        // kill goes to the actor's own host, so that the one instance
        // ends (or restarts) for every driver. Calls made before it reach
        // it first; later ones are answered there.
        st.calls->flush();
        caf::anon_send(st.remote, kill_atom::value, no_restart);
        return;
      }
      if (st.forwarding && st.remote &&
          caf::actor_cast<caf::actor_addr>(self->current_sender()) ==
            st.remote.address()) {
        // From the host: the actor ended there (see die).
        die(self,
            make_error_object(error_kind::actor_died,
                              "the actor ended on node " + st.remote_node +
                                " (killed, or it exited)"));
        return;
      }
      if (st.forwarding && st.remote && !no_restart && st.restarts_left != 0) {
        if (st.restarts_left > 0)
          --st.restarts_left;
        detail::log_warn("actor ", st.a.spec->id.to_string(), " (",
                         st.a.spec->factory, ") restarts on node ",
                         st.remote_node, ": lumen::kill asked for a restart");
        st.calls->flush(); // calls made before the kill reach it first
        caf::anon_send(st.remote, kill_atom::value, false); // restarts there
        return;
      }
      if (!no_restart && st.restarts_left != 0 && !st.exited->load()) {
        restart(self);
        return;
      }
      die(self, make_error_object(error_kind::actor_died,
                                  "the actor was killed by lumen::kill"));
    },
    [self](attach_atom, caf::actor borrower) {
      auto& st = self->state;
      if (!borrower || st.ph == phase::dead)
        return; // its calls fail as any call to a dead actor
      if (st.borrowers.insert(borrower.address()).second)
        self->monitor(borrower);
    },
    [self](orphan_atom) {
      self->state.orphaned = true;
      end_if_orphaned(self);
      maybe_quit(self);
    },
    [self](rcall_atom, caf::actor reply_to, caf::actor owner,
           const std::vector<char>& bytes) {
      on_rcall(self, std::move(reply_to), std::move(owner), bytes);
    },
    [self](result_atom, const std::vector<char>& bytes) {
      on_result(self, bytes);
    },
    [self](flush_atom) {
      on_flush(self);
    },
    [self](cancel_atom, std::uint64_t hi, std::uint64_t lo, bool force) {
      on_cancel(self, task_id{hi, lo}, force);
    },
    // Generator calls across nodes (scheduling/stream_channel.hpp).
    [self](rstream_atom, std::uint64_t hi, std::uint64_t lo,
           caf::actor consumer) {
      self->state.stream_to[task_id{hi, lo}] = std::move(consumer);
    },
    [self](stream_atom, const std::vector<char>& batch,
           const caf::actor& from) {
      detail::on_stream_items(batch, *self->state.a.table, from);
    },
    [self](stream_ack_atom, const std::vector<char>& ack) {
      detail::on_stream_ack(ack);
    },
    [self](stream_flush_atom, const detail::stream_channel_ptr& channel) {
      if (channel)
        channel->flush();
    },
  };
}

} // namespace detail_actor_host

actor_host_actor spawn_pinned_actor_host(caf::actor_system& sys,
                                         actor_host_args args) {
  args.pinned = true;
  return sys.spawn(detail_actor_host::actor_host, std::move(args));
}

} // namespace lumen

// actor_host: placement, creation, ordered calls, kills and restarts.
#include "actors/actor_host.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "cluster/remote_task.hpp"
#include "lumen/detail/registry.hpp"
#include "runtime/execution_context.hpp"
#include "runtime/task_errors.hpp"

namespace lumen {

namespace {

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
  std::uint64_t next_seq = 0;
  /// Forwarder mode: the actor lives on another node, behind `remote`.
  bool forwarding = false;
  std::string remote_node;
  caf::actor remote_manager;
  caf::actor remote;
  /// Forwarded calls whose results have not come back.
  std::map<task_id, actor_call_ptr> remote_pending;
  const char* name = "lumen.actor_host";
};

using self_ptr = actor_host_actor::stateful_pointer<host_state>;
using worker_ptr = detail::worker_pool::worker*;

std::uint64_t current_gen(self_ptr self) {
  return self->state.generation->load();
}

/// Whether every ref argument is ready; if not, asks to be told when the
/// first missing one is.
bool args_ready(self_ptr self, const std::vector<detail::task_arg>& args) {
  auto& st = self->state;
  for (auto& arg : args) {
    if (arg.ref && !st.a.table->try_get(arg.ref.get())) {
      if (!st.waiting) {
        st.waiting = true;
        // A value this node owns but another node holds comes here.
        if (st.a.store)
          self->send(st.a.store, fetch_atom::value,
                     detail::id_bytes(arg.ref.id()), caf::actor{});
        actor_host_actor handle{self};
        st.a.table->when_ready(arg.ref.get(), [handle] {
          caf::anon_send(handle, deps_atom::value);
        });
      }
      return false;
    }
  }
  return true;
}

/// The argument objects; `failed` gets the first error object among them.
std::vector<object_ptr> collect(self_ptr self,
                                const std::vector<detail::task_arg>& args,
                                object_ptr& failed) {
  std::vector<object_ptr> result;
  result.reserve(args.size());
  for (auto& arg : args) {
    auto obj =
      arg.ref ? self->state.a.table->try_get(arg.ref.get()) : arg.value;
    if (obj->error && !failed)
      failed = obj;
    result.push_back(std::move(obj));
  }
  return result;
}

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
    self->send(st.a.node_manager, release_atom::value, detail::placement_ptr{},
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

void maybe_quit(self_ptr self) {
  auto& st = self->state;
  if (st.ph != phase::dead || !st.orphaned || total_inflight(st) > 0 ||
      !st.remote_pending.empty())
    return;
  self->quit();
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

void die(self_ptr self, object_ptr reason) {
  auto& st = self->state;
  if (st.ph == phase::dead)
    return;
  // The name goes first: whoever sees a call fail may take it at once
  // (the GCS gets this before any later request that caller makes).
  if (st.a.directory != nullptr)
    st.a.directory->dead(st.a.spec->id);
  if (st.a.gcs && !st.a.borrowed && !st.a.pinned)
    caf::anon_send(st.a.gcs, actor_dead_atom::value, st.a.spec->id.to_string());
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
    self->send(st.a.node_manager, release_atom::value, st.placement,
               detail::worker_list{});
    st.placed = false;
  }
  if (st.remote && !st.a.borrowed) {
    // The remote host ends too; it answers calls still on their way.
    caf::anon_send(st.remote, kill_atom::value, true);
    caf::anon_send(st.remote, orphan_atom::value);
  }

  retire_workers(self);
  maybe_quit(self);
}

/// Ends an orphaned actor once every call sent to it has run.
void end_if_orphaned(self_ptr self) {
  auto& st = self->state;
  if (st.orphaned && st.ph != phase::dead && st.queue.empty() &&
      st.posted.empty() && st.remote_pending.empty())
    die(self, make_error_object(error_kind::actor_died,
                                "the actor ended: no handle to it is left"));
}

void start_create(self_ptr self) {
  auto& st = self->state;
  if (st.ph != phase::creating || st.create_posted || st.workers.empty() ||
      !args_ready(self, st.a.spec->args))
    return;
  object_ptr failed;
  auto args = collect(self, st.a.spec->args, failed);
  if (failed) {
    die(self, make_error_object(error_kind::actor_creation,
                                "an argument of actor factory '" +
                                  st.a.spec->factory +
                                  "' failed: " + failed->error->message));
    return;
  }
  st.create_posted = true;
  actor_host_actor handle{self};
  detail::worker_pool::post(
    st.workers.front(),
    [spec = st.a.spec, args = std::move(args), handle, gen = current_gen(self),
     restarted = st.restarted](bool cancelled) mutable {
      detail::creation_result r;
      auto* fn = detail::find_function(spec->factory);
      if (cancelled) {
        r.error =
          make_error_object(error_kind::actor_creation, "lumen was shut down");
      } else if (!fn || fn->kind != detail::function_kind::actor_factory) {
        r.error = make_error_object(error_kind::actor_creation,
                                    "actor factory '" + spec->factory +
                                      "' is not registered on this node");
      } else {
        detail::execution_context ctx;
        ctx.task = spec->id;
        ctx.child_depth = 1;
        ctx.in_actor = true;
        ctx.actor_restarted = restarted;
        detail::context_scope scope{&ctx};
        try {
          r.instance = fn->create(args);
        } catch (...) {
          auto err = detail::error_from_current_exception(spec->factory);
          r.error = make_error_object(error_kind::actor_creation,
                                      "actor factory '" + spec->factory +
                                        "' threw " + err->error->type_name +
                                        ": " + err->error->message);
        }
      }
      args.clear();
      caf::anon_send(handle, created_atom::value, gen, std::move(r));
    });
}

void run_call(const actor_call_ptr& call, std::vector<object_ptr>& args,
              void* instance, bool restarted, object_ptr& result,
              bool& exited) {
  auto* fn = detail::find_function(call->method);
  if (!fn || fn->kind != detail::function_kind::actor_method) {
    result = make_error_object(error_kind::function_not_found,
                               "actor method '" + call->method +
                                 "' is not registered on this node",
                               {}, call->method);
    return;
  }
  if (fn->class_hash != call->class_hash) {
    result = make_error_object(error_kind::type_mismatch,
                               "method '" + call->method +
                                 "' belongs to another class",
                               {}, call->method);
    return;
  }
  detail::execution_context ctx;
  ctx.task = call->id;
  ctx.child_depth = 1;
  ctx.in_actor = true;
  ctx.actor_restarted = restarted;
  detail::context_scope scope{&ctx};
  try {
    result = std::make_shared<detail::object_data>(fn->method(instance, args));
  } catch (const detail::actor_exit_signal&) {
    exited = true;
    result = make_error_object(error_kind::actor_died,
                               "the actor exited via lumen::exit_actor()", {},
                               call->method);
  } catch (...) {
    result = detail::error_from_current_exception(call->method);
  }
}

/// The job that runs one call on a worker.
auto call_job(self_ptr self, actor_call_ptr call, std::vector<object_ptr> args,
              worker_ptr w) {
  auto& st = self->state;
  return [call = std::move(call), args = std::move(args), inst = st.instance,
          genp = st.generation, exitedp = st.exited, gen = current_gen(self),
          handle = actor_host_actor{self}, w, table = st.a.table,
          restarted = st.restarted](bool cancelled) mutable {
    auto finish = [&](bool exited) {
      caf::anon_send(handle, finished_atom::value, gen,
                     reinterpret_cast<std::size_t>(w), exited, call->id);
    };
    int expected = detail::claim_queued;
    if (!call->claim.compare_exchange_strong(expected, detail::claim_taken)) {
      finish(false); // withdrawn by the host, which answered it
      return;
    }
    object_ptr result;
    bool exited = false;
    bool retry = false;
    if (cancelled) {
      result = make_error_object(error_kind::actor_died, "lumen was shut down");
    } else if (exitedp->load()) {
      result = make_error_object(error_kind::actor_died,
                                 "the actor exited via lumen::exit_actor()", {},
                                 call->method);
    } else if (genp->load() != gen) {
      if (call->retries_left != 0)
        retry = true;
      else
        result = make_error_object(
          error_kind::actor_died,
          "the actor was killed or restarted before the call ran", {},
          call->method);
    } else {
      run_call(call, args, inst.get(), restarted, result, exited);
      if (exited)
        exitedp->store(true); // before anyone can see the result
    }
    args.clear();
    inst.reset();
    if (retry) {
      call->claim.store(detail::claim_queued);
      caf::anon_send(handle, retry_atom::value, call);
    } else {
      detail::answer(*call, std::move(result), *table);
    }
    finish(exited);
  };
}

void pump(self_ptr self);

/// The wire form of a call (or of the factory call, for `spec`).
std::vector<char> wire_call(self_ptr self, const task_id& id,
                            const std::string& function,
                            const std::vector<detail::task_arg>& args,
                            const object_id& return_id) {
  detail::task_spec t;
  t.id = id;
  t.function = function;
  t.args = args;
  t.options.name = function;
  t.options.num_cpus = 0;
  t.return_id = return_id;
  return detail::encode_for_peer(t, *self->state.a.table, detail::inline_limit);
}

/// Forwarder mode: sends ready calls to the remote host, in order.
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
        wire_call(self, call->id, call->method, call->args, call->return_id);
    } catch (const std::exception& e) {
      detail::answer(*call,
                     make_error_object(error_kind::runtime_error, e.what(), {},
                                       call->method),
                     *st.a.table);
      continue;
    }
    st.remote_pending.emplace(call->id, call);
    caf::anon_send(
      st.remote, rcall_atom::value, caf::actor_cast<caf::actor>(self),
      caf::actor_cast<caf::actor>(st.a.node_manager), std::move(bytes));
  }
  st.front_retries = 0;
  end_if_orphaned(self);
}

/// Forwarder mode: has the actor spawned on `node` once the factory's
/// arguments are ready.
void start_forward(self_ptr self) {
  auto& st = self->state;
  if (!args_ready(self, st.a.spec->args))
    return;
  std::vector<char> spec_bytes;
  try {
    spec_bytes = wire_call(self, st.a.spec->id, st.a.spec->factory,
                           st.a.spec->args, object_id{st.a.spec->id, 1});
  } catch (const std::exception& e) {
    die(self, make_error_object(error_kind::actor_creation, e.what()));
    return;
  }
  auto opts =
    detail::encode_actor_options({st.a.spec->class_hash, st.a.spec->options});
  self
    ->request(st.remote_manager, std::chrono::seconds(30), spawn_atom::value,
              caf::actor_cast<caf::actor>(self),
              caf::actor_cast<caf::actor>(st.a.node_manager), spec_bytes,
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
        die(self, make_error_object(error_kind::actor_creation,
                                    "actor '" + self->state.a.spec->factory +
                                      "' could not be placed on node " +
                                      self->state.remote_node + ": " +
                                      self->system().render(err)));
      });
}

/// Hands ready calls to workers, in order.
void pump(self_ptr self) {
  auto& st = self->state;
  if (st.ph == phase::alive && st.exited->load()) {
    die(self, make_error_object(error_kind::actor_died,
                                "the actor exited via lumen::exit_actor()"));
    return;
  }
  if (st.ph != phase::alive)
    return;
  if (st.forwarding) {
    forward_calls(self);
    return;
  }
  while (!st.queue.empty()) {
    auto call = st.queue.front();
    if (!args_ready(self, call->args))
      return;
    object_ptr failed;
    auto args = collect(self, call->args, failed);
    if (failed) {
      detail::answer(*call, failed, *st.a.table);
      st.queue.pop_front();
      if (st.front_retries > 0)
        --st.front_retries;
      continue;
    }
    auto* w = st.workers.front();
    if (st.workers.size() > 1) {
      // max_concurrency > 1: an idle worker, or wait for one.
      w = nullptr;
      for (auto* x : st.workers)
        if (st.inflight[x] == 0) {
          w = x;
          break;
        }
      if (w == nullptr)
        return;
    }
    st.queue.pop_front();
    if (st.front_retries > 0)
      --st.front_retries;
    ++st.inflight[w];
    st.posted.emplace(call->id, call);
    detail::worker_pool::post(w, call_job(self, call, std::move(args), w));
  }
  end_if_orphaned(self);
}

void requeue_front(self_ptr self, const actor_call_ptr& call) {
  auto& st = self->state;
  auto pos = st.queue.begin() + static_cast<std::ptrdiff_t>(
                                  std::min(st.front_retries, st.queue.size()));
  st.queue.insert(pos, call);
  ++st.front_retries;
}

/// Asks the node manager for `n` workers; `fresh` ones for a restart.
void request_workers(self_ptr self, detail::placement_ptr what) {
  self
    ->request(self->state.a.node_manager, caf::infinite, place_atom::value,
              what)
    .then([self, what](detail::worker_list& wl) {
      auto& st = self->state;
      if (st.ph == phase::dead) {
        self->send(st.a.node_manager, release_atom::value,
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
                          c->method),
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

actor_host_actor::behavior_type actor_host(self_ptr self,
                                           actor_host_args args) {
  auto& st = self->state;
  st.a = std::move(args);
  st.restarts_left = st.a.spec->options.max_restarts;
  auto p = std::make_shared<detail::placement>();
  p->owner = st.a.spec->id;
  p->name = st.a.spec->factory;
  auto& opts = st.a.spec->options;
  p->hold = detail::resource_set::from_doubles(opts.resources);
  if (opts.num_cpus)
    p->hold.set(detail::cpu_resource, *opts.num_cpus);
  else
    p->needs_cpu_node = true;
  p->workers = static_cast<std::size_t>(std::max(1, opts.max_concurrency));
  p->strategy = opts.strategy;
  p->affinity_node = opts.affinity_node;
  p->affinity_soft = opts.affinity_soft;
  st.placement = p;
  if (st.a.borrowed) {
    st.forwarding = true;
    st.remote = st.a.borrowed;
    st.remote_node = "the actor's owner";
    self->monitor(st.remote);
    st.ph = phase::alive;
  } else if (st.a.pinned) {
    if (st.a.forwarder)
      self->monitor(st.a.forwarder);
    request_workers(self, st.placement);
  } else {
    // In a cluster the node manager may send the actor elsewhere.
    self
      ->request(st.a.node_manager, caf::infinite, where_atom::value,
                st.placement)
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
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.remote && msg.source == st.remote.address()) {
      auto err = make_error_object(error_kind::actor_died,
                                   "the node hosting the actor (" +
                                     st.remote_node + ") is gone");
      for (auto& kv : st.remote_pending)
        detail::answer(*kv.second, err, *st.a.table);
      st.remote_pending.clear();
      st.remote = nullptr;
      die(self, err);
    } else if (st.a.forwarder && msg.source == st.a.forwarder.address()) {
      // The owner's node is gone: no handle can reach this actor.
      st.orphaned = true;
      end_if_orphaned(self);
      maybe_quit(self);
    }
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // Shutdown: end without running anything more.
    die(self, make_error_object(error_kind::actor_died, "lumen was shut down"));
    self->quit(msg.reason);
  });
  return {
    [self](call_atom, actor_call_ptr call) {
      auto& st = self->state;
      call->retries_left = st.a.spec->options.max_task_retries;
      call->seq = st.next_seq++;
      if (st.ph == phase::dead) {
        detail::answer(*call, st.death, *st.a.table);
        return;
      }
      st.queue.push_back(std::move(call));
      pump(self);
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
      if (st.forwarding && st.remote && !no_restart && st.restarts_left != 0) {
        if (st.restarts_left > 0)
          --st.restarts_left;
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
    [self](orphan_atom) {
      self->state.orphaned = true;
      end_if_orphaned(self);
      maybe_quit(self);
    },
    [self](rcall_atom, caf::actor reply_to, caf::actor owner,
           const std::vector<char>& bytes) {
      auto& st = self->state;
      std::vector<object_id> to_fetch;
      detail::task_ptr t;
      try {
        t = detail::decode_from_peer(bytes, *st.a.table, to_fetch);
      } catch (const std::exception& e) {
        std::cerr << "lumen: dropped an actor call from another node: "
                  << e.what() << '\n';
        return;
      }
      for (auto& id : to_fetch)
        self->send(st.a.store, fetch_atom::value, detail::id_bytes(id), owner);
      auto call = std::make_shared<detail::actor_call>();
      call->id = t->id;
      call->method = t->function;
      call->class_hash = st.a.spec->class_hash;
      call->args = std::move(t->args);
      call->return_id = t->return_id;
      call->deliver = [reply_to, id = t->return_id](object_ptr r) {
        caf::anon_send(reply_to, result_atom::value,
                       detail::encode_result(id, r));
      };
      call->retries_left = st.a.spec->options.max_task_retries;
      call->seq = st.next_seq++;
      if (st.ph == phase::dead) {
        detail::answer(*call, st.death, *st.a.table);
        return;
      }
      st.queue.push_back(std::move(call));
      pump(self);
    },
    [self](result_atom, const std::vector<char>& bytes) {
      auto& st = self->state;
      detail::received_result r;
      try {
        r = detail::decode_result(bytes, *st.a.table);
      } catch (const std::exception& e) {
        std::cerr << "lumen: dropped an actor result: " << e.what() << '\n';
        return;
      }
      auto i = st.remote_pending.find(r.id.task);
      if (i == st.remote_pending.end() || !r.value)
        return;
      auto call = std::move(i->second);
      st.remote_pending.erase(i);
      // A call relayed for another node answers there; ours, here.
      detail::answer(*call, std::move(r.value), *st.a.table);
      end_if_orphaned(self);
      maybe_quit(self);
    },
  };
}

/// The directory's way to the host.
class host_link : public detail::actor_link {
 public:
  /// `gcs` is told the actor's name is free when the last handle goes (in
  /// this thread's order, before anything its caller does next).
  host_link(actor_host_actor handle, caf::actor gcs, std::string id)
    : handle_(std::move(handle)), gcs_(std::move(gcs)), id_(std::move(id)) {}

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
      caf::anon_send(gcs_, actor_dead_atom::value, id_);
    if (auto h = handle())
      caf::anon_send(h, orphan_atom::value);
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
  caf::actor gcs_;
  std::string id_;
};

} // namespace

std::shared_ptr<detail::actor_link> spawn_actor_host(caf::actor_system& sys,
                                                     actor_host_args args) {
  auto gcs = args.borrowed ? caf::actor{} : args.gcs;
  auto id = args.spec->id.to_string();
  return std::make_shared<host_link>(sys.spawn(actor_host, std::move(args)),
                                     std::move(gcs), std::move(id));
}

actor_host_actor spawn_pinned_actor_host(caf::actor_system& sys,
                                         actor_host_args args) {
  args.pinned = true;
  return sys.spawn(actor_host, std::move(args));
}

} // namespace lumen

// actor_host on its workers: the factory's and the calls' arguments, the
// jobs that run them, and the order calls are handed out in.
#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/send.hpp>

#include "actors/actor_host.hpp"
#include "actors/actor_host_state.hpp"
#include "lumen/detail/registry.hpp"
#include "scheduling/cancel_state.hpp"
#include "scheduling/context_info.hpp"
#include "scheduling/execution_context.hpp"
#include "scheduling/stream_channel.hpp"
#include "scheduling/task_errors.hpp"

namespace lumen::detail_actor_host {

namespace {

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

} // namespace

detail::context_info context_of(const detail::actor_spec& spec) {
  detail::context_info info;
  info.actor = spec.id;
  info.ns = &spec.options.ns;
  info.resources = &spec.options.resources;
  info.num_cpus = spec.options.num_cpus.value_or(0);
  info.capture_pg = &spec.options.capture_pg;
  return info;
}

void run_call(const actor_call_ptr& call, const detail::actor_spec& spec,
              std::vector<object_ptr>& args, void* instance, bool restarted,
              object_ptr& result, bool& exited) {
  auto* fn = detail::find_function(call->method);
  if (!fn || fn->kind != detail::function_kind::actor_method) {
    result = make_error_object(error_kind::function_not_found,
                               "actor method '" + call->method +
                                 "' is not registered on this node",
                               {}, call->shown_name());
    return;
  }
  if (fn->class_hash != call->class_hash) {
    result = make_error_object(error_kind::type_mismatch,
                               "method '" + call->method +
                                 "' belongs to another class",
                               {}, call->shown_name());
    return;
  }
  detail::execution_context ctx;
  ctx.task = call->id;
  ctx.child_depth = 1;
  ctx.in_actor = true;
  ctx.actor_restarted = restarted;
  ctx.cancel = &call->cancel;
  ctx.stream = call->stream.get();
  auto info = context_of(spec);
  ctx.info = &info;
  detail::context_scope scope{&ctx};
  try {
    result = std::make_shared<detail::object_data>(fn->method(instance, args));
  } catch (const detail::actor_exit_signal&) {
    exited = true;
    result = make_error_object(error_kind::actor_died,
                               "the actor exited via lumen::exit_actor()", {},
                               call->shown_name());
  } catch (...) {
    result = detail::error_from_current_exception(call->shown_name());
  }
}

namespace {

/// The job that runs one call on a worker.
auto call_job(self_ptr self, actor_call_ptr call, std::vector<object_ptr> args,
              worker_ptr w) {
  auto& st = self->state;
  return [call = std::move(call), args = std::move(args), inst = st.instance,
          genp = st.generation, exitedp = st.exited, gen = current_gen(self),
          handle = actor_host_actor{self}, w, table = st.a.table,
          restarted = st.restarted, async_actor = st.async_actor,
          spec = st.a.spec](bool cancelled) mutable {
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
                                 call->shown_name());
    } else if (genp->load() != gen) {
      if (call->retries_left != 0)
        retry = true;
      else
        result = make_error_object(
          error_kind::actor_died,
          "the actor was killed or restarted before the call ran", {},
          call->shown_name());
    } else if (auto* fn =
                 async_actor ? detail::find_function(call->method) : nullptr;
               fn != nullptr && fn->async_method != nullptr &&
               fn->class_hash == call->class_hash) {
      // A coroutine: it answers and reports when it ends
      // (actor_host_async.cpp).
      start_async_call(async_call_args{call, std::move(args), std::move(inst),
                                       exitedp, gen, handle, w, table,
                                       restarted, spec},
                       *fn);
      return;
    } else {
      run_call(call, *spec, args, inst.get(), restarted, result, exited);
      if (call->cancel.load() != detail::not_cancelled && !exited)
        result = detail::cancelled_error(call->method);
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

} // namespace

bool args_ready(self_ptr self, const std::vector<detail::task_arg>& args) {
  auto& st = self->state;
  for (auto& arg : args) {
    if (arg.ref && !st.a.table->ready(arg.ref.get())) {
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
        auto info = context_of(*spec);
        ctx.info = &info;
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

void accept_call(self_ptr self, detail::actor_call_ptr call) {
  auto& st = self->state;
  call->retries_left = st.a.spec->options.max_task_retries;
  call->seq = st.next_seq++;
  if (st.ph == phase::dead) {
    detail::answer(*call, st.death, *st.a.table);
    return;
  }
  st.queue.push_back(std::move(call));
  pump(self);
}

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
    // A generator call from another node runs here: its items go to the
    // caller's host, in batches, acked back to this host.
    if (call->streaming && !call->stream && call->stream_to)
      call->stream = detail::open_remote_stream(
        call->id, call->max_unconsumed, call->stream_to,
        caf::actor_cast<caf::actor>(self));
    auto* w = st.workers.front();
    if (st.async_actor) {
      // One worker; up to max_concurrency calls in flight on it.
      if (st.inflight[w] >= async_limit(self))
        return;
    } else if (st.workers.size() > 1) {
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

} // namespace lumen::detail_actor_host

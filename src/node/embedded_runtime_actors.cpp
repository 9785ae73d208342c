// The embedded runtime's actors: creation, borrowed handles from other
// processes, calls, lookups, kills, and native CAF actors.
#include "node/embedded_runtime.hpp"

#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/actor_host.hpp"
#include "actors/gcs.hpp"
#include "actors/scheduler.hpp"
#include "lumen/error.hpp"
#include "node/embedded_runtime_impl.hpp"
#include "scheduling/actor_directory.hpp"
#include "scheduling/actor_spec.hpp"
#include "scheduling/context_info.hpp"
#include "scheduling/stream_channel.hpp"

namespace lumen::detail {

namespace {

/// A task id from its 32 hex digits; throws lumen::error.
task_id task_id_from_string(const std::string& text) {
  if (text.size() != 32)
    throw error("bad id '" + text + "'");
  task_id id;
  id.hi = std::stoull(text.substr(0, 16), nullptr, 16);
  id.lo = std::stoull(text.substr(16), nullptr, 16);
  return id;
}

void check_actor_options(const actor_options& o, const std::string& name) {
  auto fail = [&](const std::string& what) {
    throw error("actor '" + name + "': " + what);
  };
  if (o.num_cpus && (!std::isfinite(*o.num_cpus) || *o.num_cpus < 0))
    fail("num_cpus must be a finite, non-negative number");
  if (o.resources.count(cpu_resource) > 0)
    fail("set CPUs with num_cpus()");
  resource_set::from_doubles(o.resources); // validates names and amounts
  if (o.max_concurrency < 1)
    fail("max_concurrency must be at least 1");
  if (o.max_restarts < -1)
    fail("max_restarts must be -1 (no limit) or more");
  if (o.max_task_retries < -1)
    fail("max_task_retries must be -1 (no limit) or more");
  if (o.max_pending_calls < -1 || o.max_pending_calls == 0)
    fail("max_pending_calls must be -1 (no limit) or at least 1");
  if (o.name.empty() && !o.ns.empty())
    fail("a namespace needs a name");
}

/// What native_reserve holds for one native actor.
struct native_reservation {
  placement_ptr placement;
  std::string name;
  std::string ns;
  task_id owner;
};

} // namespace

ref_ptr embedded_runtime::create_actor(actor_request&& req) {
  check_actor_options(req.options, req.factory);
  auto& ctx = impl_->context();
  // The actor lives in its creator's namespace, named or not (its own
  // code's names default to it), and in a captured placement group.
  if (req.options.ns.empty())
    req.options.ns = current_ns();
  if (ctx.info != nullptr)
    inherit_context(*ctx.info, req.options);
  impl_->directory.check_name(req.options.name, req.options.ns);
  if (auto& o = req.options; !o.pg_id.empty()) {
    o.resources = in_bundle(std::move(o.resources), o.num_cpus.value_or(0),
                            o.pg_id, o.pg_bundle);
    o.num_cpus = 0.0;
  }
  auto n = ctx.counter.fetch_add(1, std::memory_order_relaxed) + 1;
  auto spec = std::make_shared<actor_spec>();
  spec->id = task_id::derive(ctx.task, n);
  spec->factory = std::move(req.factory);
  spec->class_hash = req.class_hash;
  spec->args = std::move(req.args);
  spec->options = std::move(req.options);
  caf_thread_guard guard;
  actor_host_args args;
  args.spec = spec;
  args.table = &impl_->table;
  args.directory = &impl_->directory;
  args.scheduler = impl_->scheduler;
  args.store = impl_->store;
  args.gcs = caf::actor_cast<caf::actor>(impl_->any_gcs());
  // Held until registered here and with the GCS: an actor whose factory
  // fails at once must not be registered after its death.
  args.held = true;
  auto link = spawn_actor_host(*impl_->sys, std::move(args));
  ref_ptr result;
  try {
    result = impl_->directory.add(*spec, link);
  } catch (...) {
    link->orphan(); // the name was taken meanwhile: end the new host
    throw;
  }
  // The GCS knows every actor (for handles that travel to other nodes);
  // a name must also be free cluster-wide.
  auto host = link->host();
  auto& o = spec->options;
  if (o.name.empty()) {
    caf::anon_send(impl_->any_gcs(), actor_add_atom::value,
                   spec->id.to_string(), o.name, o.ns, spec->class_hash, host,
                   o.detached);
    link->start();
    return result;
  }
  bool added = false;
  try {
    std::tie(added) =
      ask_gcs<bool>(*impl_->sys, impl_->any_gcs(), "lumen::actor", gcs_timeout,
                    actor_add_atom::value, spec->id.to_string(), o.name, o.ns,
                    spec->class_hash, host, o.detached);
  } catch (...) {
    link->kill(true); // not registered (the head may be away): end it
    throw;
  }
  if (!added) {
    link->kill(true);
    throw name_taken_error("an actor named '" + o.name +
                           "' exists already in namespace '" + o.ns + "'");
  }
  link->start();
  return result;
}

ref_ptr embedded_runtime::borrow_actor(const task_id& id,
                                       std::uint64_t class_hash,
                                       caf::actor host) {
  if (auto known = impl_->directory.lookup(id))
    return known;
  auto spec = std::make_shared<actor_spec>();
  spec->id = id;
  spec->class_hash = class_hash;
  caf_thread_guard guard;
  actor_host_args args;
  args.spec = spec;
  args.table = &impl_->table;
  args.scheduler = impl_->scheduler;
  args.store = impl_->store;
  args.borrowed = std::move(host);
  auto link = spawn_actor_host(*impl_->sys, std::move(args));
  try {
    return impl_->directory.add(*spec, link);
  } catch (...) {
    link->orphan();
    if (auto known = impl_->directory.lookup(id)) // added meanwhile
      return known;
    throw;
  }
}

ref_ptr embedded_runtime::submit_actor_task(actor_call_request&& req) {
  auto* h = req.actor.get();
  if (actor_directory::class_of(h) != req.class_hash)
    throw type_mismatch_error("method '" + req.method +
                              "' belongs to another class than the actor");
  auto& ctx = impl_->context();
  auto n = ctx.counter.fetch_add(1, std::memory_order_relaxed) + 1;
  auto call = std::make_shared<actor_call>();
  if (auto& pending = actor_directory::pending_of(h); pending) {
    if (!pending->try_enter())
      throw pending_calls_exceeded_error(
        "actor method '" + (req.name.empty() ? req.method : req.name) +
        "': " + std::to_string(pending->limit()) +
        " calls to this actor are pending already (max_pending_calls)");
    call->pending = pending;
  }
  call->id = task_id::derive(ctx.task, n);
  call->name = std::move(req.name);
  call->method = std::move(req.method);
  call->class_hash = req.class_hash;
  call->args = std::move(req.args);
  call->return_id = object_id{call->id, 1};
  auto result = impl_->table.create_pending(call->return_id);
  impl_->table.set_actor_slot(result.get(), actor_directory::slot_of(h));
  if (req.streaming) {
    call->streaming = true;
    call->max_unconsumed = req.max_unconsumed;
    call->stream =
      open_local_stream(call->id, req.max_unconsumed, impl_->table, result);
  }
  actor_directory::link_of(h).call(std::move(call));
  return result;
}

ref_ptr embedded_runtime::find_actor(const std::string& name,
                                     const std::string& name_ns,
                                     std::uint64_t class_hash) {
  auto ns = ns_or_current(name_ns);
  if (auto local = impl_->directory.find(name, ns, class_hash))
    return local;
  if (!impl_->in_cluster)
    return {};
  auto [id, found_class, host] =
    ask_gcs<std::string, std::uint64_t, caf::actor>(
      *impl_->sys, impl_->any_gcs(), "lumen::get_actor", gcs_timeout,
      actor_find_atom::value, name, ns);
  if (id.empty() || !host)
    return {};
  if (found_class != class_hash)
    throw type_mismatch_error("actor '" + name + "' in namespace '" + ns +
                              "' is of another class than requested");
  return borrow_actor(task_id_from_string(id), found_class, std::move(host));
}

ref_ptr embedded_runtime::lookup_actor(const object_id& id) {
  if (auto result = impl_->directory.lookup(id.task))
    return result;
  if (!impl_->in_cluster)
    throw actor_died_error("actor " + id.task.to_string() +
                           " is not known to this process: it has ended");
  // A handle that came from another node, decoded by user code on a worker
  // or the caller's thread (never a scheduler thread). The GCS answers at
  // once for an actor it knows or saw end; one it has not heard of yet
  // (its creator registers it without waiting, and the handle may have
  // overtaken that) waits there for up to gcs_timing::actor_lookup_grace.
  // Meanwhile a task gives its CPU back, as in get().
  std::uint64_t found_class = 0;
  caf::actor host;
  bool alive = false;
  {
    block_scope blocking;
    std::tie(found_class, host, alive) =
      ask_gcs<std::uint64_t, caf::actor, bool>(
        *impl_->sys, impl_->any_gcs(), "actor lookup", gcs_timeout,
        actor_get_atom::value, id.task.to_string());
  }
  if (alive && host)
    return borrow_actor(id.task, found_class, std::move(host));
  throw actor_died_error("actor " + id.task.to_string() +
                         " is known neither to this node nor to the GCS: it "
                         "has ended (killed, exited, its node died without "
                         "restarts left, or its last handle was dropped), or "
                         "it was never registered in this cluster");
}

void embedded_runtime::kill_actor(const ref_ptr& actor, bool no_restart) {
  actor_directory::link_of(actor.get()).kill(no_restart);
}

caf::actor_system& embedded_runtime::system() {
  return *impl_->sys;
}

std::shared_ptr<void>
embedded_runtime::native_reserve(const native_options& given) {
  auto opts = given;
  if (!opts.name.empty())
    opts.ns = ns_or_current(opts.ns);
  actor_options as_actor;
  as_actor.num_cpus = opts.num_cpus;
  as_actor.resources = opts.resources;
  as_actor.name = opts.name;
  as_actor.ns = opts.ns;
  check_actor_options(as_actor, opts.name.empty() ? "native" : opts.name);
  auto p = std::make_shared<placement>();
  p->owner = task_id::random();
  p->name = opts.name.empty() ? "native actor" : opts.name;
  p->hold = resource_set::from_doubles(opts.resources);
  p->hold.set(cpu_resource, opts.num_cpus);
  if (!impl_->total.fits(p->hold))
    throw error("native actor '" + p->name + "' needs " + p->hold.to_string() +
                " but this node has " + impl_->total.to_string() + " in total");
  impl_->directory.reserve_name(opts.name, opts.ns, p->owner);
  auto r = std::make_shared<native_reservation>();
  r->placement = p;
  r->name = opts.name;
  r->ns = opts.ns;
  r->owner = p->owner;
  caf_thread_guard guard;
  caf::scoped_actor self{*impl_->sys};
  bool placed = false;
  self
    ->request(impl_->scheduler, caf::infinite, place_atom::value,
              placement_ptr{p})
    .receive(
      [&](worker_list&) {
        placed = true;
      },
      [&](const caf::error&) {});
  if (!placed) {
    impl_->directory.release_name(opts.name, opts.ns, p->owner);
    throw error("native actor '" + p->name + "' could not be placed");
  }
  return r;
}

void embedded_runtime::native_adopt(std::shared_ptr<void> reservation,
                                    const caf::actor& handle,
                                    std::uint64_t type_hash) {
  auto r = std::static_pointer_cast<native_reservation>(reservation);
  auto* st = impl_.get();
  {
    std::lock_guard guard{st->native_mtx};
    st->natives.emplace(handle.id(), handle);
    if (!r->name.empty())
      st->native_names[{r->ns, r->name}] = {handle.id(), type_hash};
  }
  auto id = handle.id();
  // In a cluster the GCS knows it too: get_native_actor on any node, and
  // its name is unique cluster-wide (embedded_runtime_native.cpp).
  bool in_gcs = st->in_cluster;
  handle->attach_functor([st, r, id, in_gcs, addr = handle.address()] {
    if (in_gcs)
      if (auto& gcs = st->any_gcs())
        caf::anon_send(gcs, actor_dead_atom::value, r->owner.to_string(), addr);
    caf::anon_send(st->scheduler, release_atom::value, r->placement,
                   worker_list{});
    {
      std::lock_guard guard{st->native_mtx};
      st->natives.erase(id);
      if (auto i = st->native_names.find({r->ns, r->name});
          i != st->native_names.end() && i->second.first == id)
        st->native_names.erase(i);
    }
    st->directory.release_name(r->name, r->ns, r->owner);
  });
  if (in_gcs)
    native_register(r->owner, r->name, r->ns, handle, type_hash);
}

std::string
embedded_runtime::native_spawn_here(const native_options& opts,
                                    const native_factory& f,
                                    const std::vector<std::string>& args) {
  auto reservation = native_reserve(opts);
  auto owner = std::static_pointer_cast<native_reservation>(reservation)->owner;
  caf_thread_guard guard;
  caf::actor handle;
  try {
    handle = f.spawn(*impl_->sys, args);
  } catch (...) {
    // Nothing adopted it: give the resources and the name back.
    auto r = std::static_pointer_cast<native_reservation>(reservation);
    caf::anon_send(impl_->scheduler, release_atom::value, r->placement,
                   worker_list{});
    impl_->directory.release_name(r->name, r->ns, r->owner);
    throw;
  }
  native_adopt(std::move(reservation), handle, f.type_hash);
  return owner.to_string();
}

caf::actor embedded_runtime::native_find(const std::string& name,
                                         const std::string& name_ns,
                                         std::uint64_t type_hash) {
  auto ns = ns_or_current(name_ns);
  {
    std::lock_guard guard{impl_->native_mtx};
    auto i = impl_->native_names.find({ns, name});
    if (i != impl_->native_names.end()) {
      if (i->second.second != type_hash)
        throw type_mismatch_error("native actor '" + name +
                                  "' has another handle type than requested");
      auto j = impl_->natives.find(i->second.first);
      return j == impl_->natives.end() ? caf::actor{} : j->second;
    }
  }
  // Spawned on another node, or by another process.
  return impl_->in_cluster ? native_find_in_gcs(name, ns, type_hash)
                           : caf::actor{};
}

} // namespace lumen::detail

// Native CAF actors across a cluster (lumen/native_actor.hpp): where a
// LUMEN_NATIVE factory goes, spawning it on another node through a task
// there, their rows in the GCS, and finding them from any node.
//
// The spawn on node N is a task pinned to N (no CPUs held) that reserves
// the actor's resources and name on N, spawns it and registers it with
// the GCS under a fresh id; the caller gets that id back and the handle
// from the GCS (CAF's proxy of the actor on N).
#include "node/embedded_runtime.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/gcs.hpp"
#include "lumen/codec.hpp"
#include "lumen/error.hpp"
#include "lumen/remote.hpp"
#include "node/embedded_runtime_impl.hpp"

namespace lumen::detail {

namespace {

embedded_runtime& running() {
  auto* rt = current_embedded_runtime();
  if (rt == nullptr)
    throw not_initialized_error(
      "lumen is not running: call lumen::init() first");
  return *rt;
}

/// The task that spawns a native actor on the node it runs on; returns
/// its id in the GCS.
std::string native_spawn_task(std::string factory, std::string name,
                              std::string ns, double num_cpus,
                              std::map<std::string, double> resources,
                              std::vector<std::string> args) {
  auto& rt = running();
  auto* f = find_native(factory);
  if (f == nullptr)
    throw error("native actor factory '" + factory +
                "' is not registered on node " + rt.node_id() +
                " (LUMEN_NATIVE in a library the node loads)");
  native_options opts;
  opts.num_cpus = num_cpus;
  opts.resources = std::move(resources);
  opts.name = std::move(name);
  opts.ns = std::move(ns);
  return rt.native_spawn_here(opts, *f, args);
}

} // namespace

} // namespace lumen::detail

LUMEN_REMOTE(lumen::detail::native_spawn_task);

namespace lumen::detail {

namespace {

constexpr const char* spawn_task_name = "lumen::detail::native_spawn_task";

template <class T>
task_arg value_arg(const T& x) {
  return task_arg{std::make_shared<object_data>(to_object<T>(x)), {}};
}

} // namespace

std::string embedded_runtime::native_where(const native_options& opts) {
  auto here = node_id();
  if (!impl_->in_cluster) {
    if (!opts.node_affinity.empty() && opts.node_affinity != here &&
        !opts.affinity_soft)
      throw error("spawn_native: node_affinity: node '" + opts.node_affinity +
                  "' is not this one, and this process is not in a cluster");
    return {};
  }
  auto p = std::make_shared<placement>();
  p->name = "native actor";
  p->hold = resource_set::from_doubles(opts.resources);
  p->hold.set(cpu_resource, opts.num_cpus);
  p->workers = 1; // asks where, like an actor; nothing is held by this
  if (!opts.node_affinity.empty()) {
    p->strategy = scheduling_strategy::node_affinity;
    p->affinity_node = opts.node_affinity;
    p->affinity_soft = opts.affinity_soft;
  }
  caf_thread_guard guard;
  caf::scoped_actor self{*impl_->sys};
  std::string node;
  std::string failure;
  self
    ->request(impl_->scheduler, gcs_timeout, where_atom::value,
              placement_ptr{p})
    .receive(
      [&](std::string& where, caf::actor&) {
        node = std::move(where);
      },
      [&](const caf::error& err) {
        failure = impl_->sys->render(err);
      });
  if (!failure.empty())
    throw error("spawn_native: " + failure);
  return node == here ? std::string{} : node;
}

caf::actor embedded_runtime::native_spawn_on(const std::string& node,
                                             const native_options& opts,
                                             const native_factory& f,
                                             std::vector<std::string> args) {
  task_request req;
  req.function = spawn_task_name;
  req.entry = find_function(spawn_task_name);
  req.options.name = "spawn_native(" + f.name + ")";
  req.options.num_cpus = 0;
  req.options.max_retries = 0;
  req.options.strategy = scheduling_strategy::node_affinity;
  req.options.affinity_node = node;
  req.args.push_back(value_arg(f.name));
  req.args.push_back(value_arg(opts.name));
  req.args.push_back(
    value_arg(opts.name.empty() ? opts.ns : ns_or_current(opts.ns)));
  req.args.push_back(value_arg(opts.num_cpus));
  req.args.push_back(value_arg(opts.resources));
  req.args.push_back(value_arg(args));
  auto result = get(submit(std::move(req)), no_timeout);
  if (result->error)
    throw_error(*result->error);
  auto id = from_object<std::string>(*result);
  auto [type_hash, host, alive] = ask_gcs<std::uint64_t, caf::actor, bool>(
    *impl_->sys, impl_->any_gcs(), "spawn_native", gcs_timeout,
    actor_get_atom::value, id);
  if (!alive || !host)
    throw actor_died_error("native actor '" + f.name + "' on node " + node +
                           " ended as soon as it started");
  // Ended with this process, as the ones spawned here are.
  auto* st = impl_.get();
  {
    std::lock_guard guard{st->native_mtx};
    st->natives.emplace(host.id(), host);
  }
  host->attach_functor([st, cid = host.id()] {
    std::lock_guard guard{st->native_mtx};
    st->natives.erase(cid);
  });
  return host;
}

void embedded_runtime::native_register(const task_id& id,
                                       const std::string& name,
                                       const std::string& ns,
                                       const caf::actor& handle,
                                       std::uint64_t type_hash) {
  bool added = false;
  try {
    std::tie(added) =
      ask_gcs<bool>(*impl_->sys, impl_->any_gcs(), "spawn_native", gcs_timeout,
                    actor_add_atom::value, id.to_string(), name, ns, type_hash,
                    handle, false);
  } catch (...) {
    caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
    throw;
  }
  if (!added) {
    caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
    throw name_taken_error("an actor named '" + name +
                           "' exists already in namespace '" + ns + "'");
  }
}

caf::actor embedded_runtime::native_find_in_gcs(const std::string& name,
                                                const std::string& ns,
                                                std::uint64_t type_hash) {
  auto [id, found_hash, host] = ask_gcs<std::string, std::uint64_t, caf::actor>(
    *impl_->sys, impl_->any_gcs(), "lumen::get_native_actor", gcs_timeout,
    actor_find_atom::value, name, ns);
  if (id.empty() || !host)
    return {};
  if (found_hash != type_hash)
    throw type_mismatch_error("actor '" + name + "' in namespace '" + ns +
                              "' is not a native actor of the requested "
                              "handle type");
  return host;
}

// -- lumen/native_actor.hpp's non-template half (the cluster part) -----------

std::string native_where(const native_options& opts) {
  return running().native_where(opts);
}

caf::actor native_spawn_on(const std::string& node, const native_options& opts,
                           const native_factory& f,
                           std::vector<std::string> args) {
  return running().native_spawn_on(node, opts, f, std::move(args));
}

} // namespace lumen::detail

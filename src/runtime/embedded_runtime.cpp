// The embedded one-node runtime: stages, ids, and the blocking API paths.
#include "runtime/embedded_runtime.hpp"

#include <cmath>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/actor_host.hpp"
#include "actors/gcs.hpp"
#include "actors/node_manager.hpp"
#include "actors/object_store.hpp"
#include "cluster/cluster_types.hpp"
#include "cluster/pg_planner.hpp"
#include "lumen/error.hpp"
#include "runtime/actor_directory.hpp"
#include "runtime/actor_spec.hpp"
#include "runtime/execution_context.hpp"
#include "runtime/local_scheduler.hpp"
#include "runtime/object_table.hpp"
#include "runtime/worker_pool.hpp"

namespace lumen::detail {

namespace {

std::size_t physical_memory() {
  auto pages = sysconf(_SC_PHYS_PAGES);
  auto page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0)
    return std::size_t{4} << 30;
  return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size);
}

resource_set node_resources(const node_config& ncfg) {
  auto& cfg = ncfg.base;
  if (cfg.resources.count(cpu_resource) > 0)
    throw error("lumen::init: set CPUs with config.num_cpus, not "
                "config.resources[\"CPU\"]");
  auto result = resource_set::from_doubles(cfg.resources);
  // A driver joining a cluster offers no CPUs unless told to, so its tasks
  // run on the cluster's nodes.
  bool joining_driver = ncfg.driver && !cfg.address.empty();
  double cpus = cfg.num_cpus ? *cfg.num_cpus
                : joining_driver
                  ? 0.0
                  : std::max(1u, std::thread::hardware_concurrency());
  if (!std::isfinite(cpus) || cpus < 0)
    throw error("lumen::init: num_cpus must be a finite, non-negative number");
  result.set(cpu_resource, cpus);
  return result;
}

std::size_t store_capacity(const config& cfg) {
  if (cfg.object_store_memory > 0)
    return cfg.object_store_memory;
  return static_cast<std::size_t>(static_cast<double>(physical_memory()) *
                                  default_object_store_fraction);
}

std::optional<object_table::clock::time_point>
deadline_of(std::chrono::nanoseconds timeout) {
  if (timeout == no_timeout)
    return std::nullopt;
  return object_table::clock::now() + timeout;
}

std::string describe(std::chrono::nanoseconds timeout) {
  using namespace std::chrono;
  return std::to_string(duration_cast<milliseconds>(timeout).count()) + " ms";
}

/// Resources of a task or actor in a placement group: renamed to the
/// bundle's names (see pg_planner.hpp), CPUs included.
std::map<std::string, double> in_bundle(std::map<std::string, double> rs,
                                        double cpus, const std::string& pg,
                                        int bundle) {
  if (cpus > 0)
    rs[cpu_resource] += cpus;
  std::map<std::string, double> result;
  for (auto& [name, amount] : rs)
    result[bundle < 0 ? any_bundle_resource_name(name, pg)
                      : bundle_resource_name(
                          name, pg, static_cast<std::size_t>(bundle))] = amount;
  return result;
}

/// Asks the GCS and returns its answer; throws lumen::error with `what`
/// when it fails or does not answer within `timeout`.
template <class... Rs, class... Ts>
std::tuple<Rs...> ask_gcs(caf::actor_system& sys, const gcs_actor& gcs,
                          const char* what, std::chrono::seconds timeout,
                          Ts&&... xs) {
  caf_thread_guard guard;
  caf::scoped_actor self{sys};
  std::tuple<Rs...> result;
  std::string why;
  bool ok = false;
  self->request(gcs, timeout, std::forward<Ts>(xs)...)
    .receive(
      [&](Rs&... rs) {
        result = std::make_tuple(std::move(rs)...);
        ok = true;
      },
      [&](const caf::error& err) {
        why = sys.render(err);
      });
  if (!ok)
    throw error(std::string{what} + ": " + why);
  return result;
}

constexpr auto gcs_timeout = std::chrono::seconds(30);

/// A task id from its 32 hex digits; throws lumen::error.
task_id task_id_from_string(const std::string& text) {
  if (text.size() != 32)
    throw error("bad id '" + text + "'");
  task_id id;
  id.hi = std::stoull(text.substr(0, 16), nullptr, 16);
  id.lo = std::stoull(text.substr(16), nullptr, 16);
  return id;
}

/// Splits HOST:PORT; throws lumen::error naming the bad address.
std::pair<std::string, std::uint16_t> split_address(const std::string& a) {
  auto colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size())
    throw error("bad address '" + a + "': expected HOST:PORT");
  auto port_text = a.substr(colon + 1);
  char* end = nullptr;
  auto port = std::strtoul(port_text.c_str(), &end, 10);
  if (*end != '\0' || port == 0 || port > 65535)
    throw error("bad port in address '" + a + "'");
  return {a.substr(0, colon), static_cast<std::uint16_t>(port)};
}

} // namespace

struct embedded_runtime::impl {
  explicit impl(const node_config& c)
    : cfg(c), total(node_resources(c)), table(store_capacity(c.base)), pool(0) {
    root.task = task_id::random();
    identity.id = task_id::random().to_string();
    identity.head = c.head;
    identity.driver = c.driver;
    bool cluster = c.head || !c.base.address.empty();
    auto threads =
      std::max(2u, std::min(4u, std::thread::hardware_concurrency()));
    register_wire_types(sys_cfg);
    sys_cfg.set("scheduler.policy", caf::atom("sharing"));
    sys_cfg.set("scheduler.max-threads", static_cast<std::size_t>(threads));
    if (cluster) {
      sys_cfg.load<caf::io::middleman>();
      // Without both, a hung peer is never noticed (TOOLCHAIN.md).
      sys_cfg.set("middleman.heartbeat-interval",
                  caf::timespan{std::chrono::seconds(1)});
      sys_cfg.set("middleman.connection-timeout",
                  caf::timespan{std::chrono::seconds(5)});
    }
    caf_thread_guard guard;
    sys = std::make_unique<caf::actor_system>(sys_cfg);
    try {
      start(c, cluster);
    } catch (...) {
      stop(); // the actors already running must end before the system
      throw;
    }
  }

  void start(const node_config& c, bool cluster) {
    store = make_object_store(*sys, &table, identity.id);
    // Copies on other nodes are freed when the owner's entry goes; the
    // flag stops the hook once shutdown has begun.
    table.set_release_hook([st = store, on = hooks_on](const object_id& id) {
      if (on->load())
        caf::anon_send(st, free_atom::value, id_bytes(id));
    });
    in_cluster = cluster;
    // The embedded one-node cluster has a GCS of its own too (placement
    // groups, the key-value table), reachable from this process only.
    bool own_gcs = c.head || !cluster;
    if (own_gcs)
      gcs = make_gcs(*sys, gcs_timing{});
    if (c.head) {
      auto port = sys->middleman().publish(gcs, c.port, c.host.c_str(), true);
      if (!port)
        throw error("cannot listen on " + c.host + ":" +
                    std::to_string(c.port) + ": " + sys->render(port.error()));
      identity.address = c.host + ":" + std::to_string(*port);
    }
    nm = make_node_manager(*sys, total, &table, &pool, identity, store);
    caf::actor gcs_handle;
    if (own_gcs) {
      gcs_handle = caf::actor_cast<caf::actor>(gcs);
    } else {
      auto [host, port] = split_address(c.base.address);
      auto remote = sys->middleman().remote_actor<gcs_actor>(host, port);
      if (!remote)
        throw error("cannot reach the head at " + c.base.address + ": " +
                    sys->render(remote.error()));
      gcs_handle = caf::actor_cast<caf::actor>(*remote);
      remote_gcs = *remote;
      auto own = sys->middleman().publish(nm, 0, c.host.c_str(), true);
      if (own)
        identity.address = c.host + ":" + std::to_string(*own);
    }
    auto rec = encode_node_record(node_record{identity.id,
                                              identity.address,
                                              identity.head,
                                              identity.driver,
                                              true,
                                              {},
                                              {},
                                              0,
                                              0,
                                              {},
                                              {}});
    caf::scoped_actor self{*sys};
    bool joined = false;
    std::string why;
    self
      ->request(nm, std::chrono::seconds(15), join_atom::value, gcs_handle,
                std::vector<char>(rec.data(), rec.data() + rec.size()))
      .receive(
        [&](bool) {
          joined = true;
        },
        [&](const caf::error& err) {
          why = sys->render(err);
        });
    if (!joined)
      throw error("the head at " + c.base.address +
                  " did not accept this node: " + why);
  }

  ~impl() {
    stop();
  }

  void stop() {
    table.close(make_error_object(error_kind::runtime_error,
                                  "lumen was shut down before the object "
                                  "was ready"));
    hooks_on->store(false);
    directory.close();
    {
      caf_thread_guard guard;
      caf::scoped_actor self{*sys};
      for (auto& native : natives_snapshot()) {
        self->send_exit(native, caf::exit_reason::user_shutdown);
        self->wait_for(native);
      }
      // The GCS first, so that it does not report this node's own end.
      if (gcs) {
        self->send_exit(gcs, caf::exit_reason::user_shutdown);
        self->wait_for(gcs);
      }
      if (nm) {
        self->send_exit(nm, caf::exit_reason::user_shutdown);
        self->wait_for(nm);
      }
      if (store) {
        self->send_exit(store, caf::exit_reason::user_shutdown);
        self->wait_for(store);
      }
    }
    pool.stop();
    nm = nullptr;
    store = nullptr;
    gcs = nullptr;
    remote_gcs = nullptr;
    sys.reset();
  }

  std::vector<caf::actor> natives_snapshot() {
    std::lock_guard guard{native_mtx};
    std::vector<caf::actor> result;
    for (auto& kv : natives)
      result.push_back(kv.second);
    return result;
  }

  /// In a cluster, values held on other nodes come here when a reader
  /// blocks on them.
  void fetch_if_elsewhere(const std::vector<const ref_header*>& refs) {
    if (!in_cluster)
      return;
    for (auto* h : refs)
      if (!table.try_get(h))
        caf::anon_send(store, fetch_atom::value, id_bytes(h->id), caf::actor{});
  }

  execution_context& context() {
    auto* ctx = current_context();
    return ctx != nullptr ? *ctx : root;
  }

  node_config cfg;
  node_identity identity;
  std::shared_ptr<std::atomic<bool>> hooks_on =
    std::make_shared<std::atomic<bool>>(true);
  resource_set total;
  object_table table;
  worker_pool pool;
  actor_directory directory;
  execution_context root;
  std::mutex native_mtx;
  /// Live native actors by CAF id, for lookups and shutdown.
  std::map<caf::actor_id, caf::actor> natives;
  /// Named native actors: (ns, name) -> (CAF id, handle type fingerprint).
  std::map<std::pair<std::string, std::string>,
           std::pair<caf::actor_id, std::uint64_t>>
    native_names;
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  object_store_actor store;
  /// The GCS this process runs (head or embedded), if any.
  gcs_actor gcs;
  /// The head's GCS, for a node that joined a cluster.
  gcs_actor remote_gcs;
  bool in_cluster = false;
  node_manager_actor nm;

  /// The GCS to ask: ours, or the head's.
  const gcs_actor& any_gcs() const {
    return gcs ? gcs : remote_gcs;
  }
};

embedded_runtime::embedded_runtime(const node_config& cfg)
  : impl_(std::make_unique<impl>(cfg)) {}

embedded_runtime::~embedded_runtime() = default;

ref_ptr embedded_runtime::put(object_data&& data) {
  auto& ctx = impl_->context();
  auto n = ctx.counter.fetch_add(1, std::memory_order_relaxed) + 1;
  // Put objects get a task part of their own, derived like a child task's,
  // so the counter never wraps into another object's id.
  object_id id{task_id::derive(ctx.task, n), object_id::put_flag};
  return impl_->table.put(id,
                          std::make_shared<const object_data>(std::move(data)));
}

object_ptr embedded_runtime::get(const ref_ptr& ref,
                                 std::chrono::nanoseconds timeout) {
  if (auto obj = impl_->table.try_get(ref.get()))
    return obj;
  std::vector<object_ptr> found;
  {
    impl_->fetch_if_elsewhere({ref.get()});
    std::optional<block_scope> blocking;
    if (timeout != std::chrono::nanoseconds::zero())
      blocking.emplace();
    found = impl_->table.wait({ref.get()}, 1, deadline_of(timeout));
  }
  if (!found[0])
    throw timeout_error("lumen::get: object " + ref.id().to_string() +
                        " not ready after " + describe(timeout));
  return std::move(found[0]);
}

std::vector<object_ptr>
embedded_runtime::get_all(const std::vector<ref_ptr>& refs,
                          std::chrono::nanoseconds timeout) {
  std::vector<const ref_header*> headers;
  headers.reserve(refs.size());
  std::vector<object_ptr> result;
  result.reserve(refs.size());
  bool all_ready = true;
  for (auto& r : refs) {
    headers.push_back(r.get());
    if (all_ready) {
      if (auto obj = impl_->table.try_get(r.get()))
        result.push_back(std::move(obj));
      else
        all_ready = false;
    }
  }
  if (all_ready)
    return result;
  {
    impl_->fetch_if_elsewhere(headers);
    std::optional<block_scope> blocking;
    if (timeout != std::chrono::nanoseconds::zero())
      blocking.emplace();
    result = impl_->table.wait(headers, headers.size(), deadline_of(timeout));
  }
  for (std::size_t i = 0; i < result.size(); ++i)
    if (!result[i])
      throw timeout_error("lumen::get: object " + refs[i].id().to_string() +
                          " not ready after " + describe(timeout));
  return result;
}

std::vector<bool> embedded_runtime::wait(const std::vector<ref_ptr>& refs,
                                         std::size_t num_returns,
                                         std::chrono::nanoseconds timeout) {
  std::vector<const ref_header*> headers;
  headers.reserve(refs.size());
  std::size_t ready = 0;
  for (auto& r : refs) {
    headers.push_back(r.get());
    if (impl_->table.try_get(r.get()))
      ++ready;
  }
  std::vector<object_ptr> found;
  if (ready >= num_returns || timeout == std::chrono::nanoseconds::zero()) {
    found = impl_->table.wait(headers, num_returns, deadline_of({}));
  } else {
    impl_->fetch_if_elsewhere(headers);
    block_scope blocking;
    found = impl_->table.wait(headers, num_returns, deadline_of(timeout));
  }
  std::vector<bool> result(found.size());
  for (std::size_t i = 0; i < found.size(); ++i)
    result[i] = found[i] != nullptr;
  return result;
}

ref_ptr embedded_runtime::lookup(const object_id& id) {
  auto result = impl_->table.lookup(id);
  if (!result)
    throw object_lost_error("object " + id.to_string() +
                            " is not known to this process");
  return result;
}

ref_ptr embedded_runtime::submit(task_request&& req) {
  auto& opts = req.options;
  if (!std::isfinite(opts.num_cpus) || opts.num_cpus < 0)
    throw error("task '" + opts.name +
                "': num_cpus must be a finite, non-negative number");
  resource_set::from_doubles(opts.resources); // validates names and amounts
  if (opts.resources.count(cpu_resource) > 0)
    throw error("task '" + opts.name + "': set CPUs with num_cpus()");
  if (!opts.pg_id.empty()) {
    opts.resources = in_bundle(std::move(opts.resources), opts.num_cpus,
                               opts.pg_id, opts.pg_bundle);
    opts.num_cpus = 0;
  }
  auto& ctx = impl_->context();
  auto n = ctx.counter.fetch_add(1, std::memory_order_relaxed) + 1;
  auto spec = std::make_shared<task_spec>();
  spec->id = task_id::derive(ctx.task, n);
  spec->parent = ctx.task;
  spec->depth = ctx.child_depth;
  spec->function = std::move(req.function);
  spec->args = std::move(req.args);
  spec->options = std::move(req.options);
  spec->return_id = object_id{spec->id, 1};
  auto result = impl_->table.create_pending(spec->return_id);
  caf::anon_send(impl_->nm, submit_atom::value, task_ptr{std::move(spec)});
  return result;
}

namespace {

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
  if (o.name.empty() && !o.ns.empty())
    fail("a namespace needs a name");
}

} // namespace

ref_ptr embedded_runtime::create_actor(actor_request&& req) {
  check_actor_options(req.options, req.factory);
  impl_->directory.check_name(req.options.name, req.options.ns);
  if (auto& o = req.options; !o.pg_id.empty()) {
    o.resources = in_bundle(std::move(o.resources), o.num_cpus.value_or(0),
                            o.pg_id, o.pg_bundle);
    o.num_cpus = 0.0;
  }
  auto& ctx = impl_->context();
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
  args.node_manager = impl_->nm;
  args.store = impl_->store;
  args.gcs = caf::actor_cast<caf::actor>(impl_->any_gcs());
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
                   spec->id.to_string(), o.name, o.ns, spec->class_hash, host);
    return result;
  }
  auto [added] =
    ask_gcs<bool>(*impl_->sys, impl_->any_gcs(), "lumen::actor", gcs_timeout,
                  actor_add_atom::value, spec->id.to_string(), o.name, o.ns,
                  spec->class_hash, host);
  if (!added) {
    link->kill(true);
    throw error("an actor named '" + o.name +
                "' exists already in namespace '" + o.ns + "'");
  }
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
  args.node_manager = impl_->nm;
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
  call->id = task_id::derive(ctx.task, n);
  call->method = std::move(req.method);
  call->class_hash = req.class_hash;
  call->args = std::move(req.args);
  call->return_id = object_id{call->id, 1};
  auto result = impl_->table.create_pending(call->return_id);
  actor_directory::link_of(h).call(std::move(call));
  return result;
}

ref_ptr embedded_runtime::find_actor(const std::string& name,
                                     const std::string& ns,
                                     std::uint64_t class_hash) {
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
  if (impl_->in_cluster) {
    auto [found_class, host, alive] = ask_gcs<std::uint64_t, caf::actor, bool>(
      *impl_->sys, impl_->any_gcs(), "actor lookup", gcs_timeout,
      actor_get_atom::value, id.task.to_string());
    if (alive && host)
      return borrow_actor(id.task, found_class, std::move(host));
  }
  throw actor_died_error("actor " + id.task.to_string() +
                         " is not known to this process");
}

void embedded_runtime::kill_actor(const ref_ptr& actor, bool no_restart) {
  actor_directory::link_of(actor.get()).kill(no_restart);
}

namespace {

/// What native_reserve holds for one native actor.
struct native_reservation {
  placement_ptr placement;
  std::string name;
  std::string ns;
  task_id owner;
};

} // namespace

caf::actor_system& embedded_runtime::system() {
  return *impl_->sys;
}

std::shared_ptr<void>
embedded_runtime::native_reserve(const native_options& opts) {
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
  self->request(impl_->nm, caf::infinite, place_atom::value, placement_ptr{p})
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
  handle->attach_functor([st, r, id] {
    caf::anon_send(st->nm, release_atom::value, r->placement, worker_list{});
    {
      std::lock_guard guard{st->native_mtx};
      st->natives.erase(id);
      if (auto i = st->native_names.find({r->ns, r->name});
          i != st->native_names.end() && i->second.first == id)
        st->native_names.erase(i);
    }
    st->directory.release_name(r->name, r->ns, r->owner);
  });
}

caf::actor embedded_runtime::native_find(const std::string& name,
                                         const std::string& ns,
                                         std::uint64_t type_hash) {
  std::lock_guard guard{impl_->native_mtx};
  auto i = impl_->native_names.find({ns, name});
  if (i == impl_->native_names.end())
    return {};
  if (i->second.second != type_hash)
    throw type_mismatch_error("native actor '" + name +
                              "' has another handle type than requested");
  auto j = impl_->natives.find(i->second.first);
  return j == impl_->natives.end() ? caf::actor{} : j->second;
}

std::string embedded_runtime::node_id() {
  return impl_->identity.id;
}

const std::string& embedded_runtime::address() const {
  return impl_->identity.address;
}

std::vector<node_info> embedded_runtime::nodes() {
  caf_thread_guard guard;
  caf::scoped_actor self{*impl_->sys};
  std::vector<char> bytes;
  self->request(impl_->nm, std::chrono::seconds(10), nodes_atom::value)
    .receive(
      [&](std::vector<char>& b) {
        bytes = std::move(b);
      },
      [&](const caf::error& err) {
        throw error("node manager did not answer: " + impl_->sys->render(err));
      });
  auto view = decode_cluster_view(bytes.data(), bytes.size());
  std::vector<node_info> result;
  for (auto& n : view.nodes) {
    node_info info;
    info.id = n.id;
    info.address = n.address;
    info.alive = n.alive;
    info.head = n.head;
    info.driver = n.driver;
    info.resources_total = n.total;
    info.resources_available = n.available;
    info.object_store_used = n.object_store_used;
    info.object_store_capacity = n.object_store_capacity;
    result.push_back(std::move(info));
  }
  return result;
}

namespace {} // namespace

std::string embedded_runtime::create_placement_group(
  const std::vector<std::map<std::string, double>>& bundles,
  std::uint8_t strategy, const std::string& name) {
  if (bundles.empty())
    throw error("lumen::create_placement_group: no bundles");
  for (auto& b : bundles) {
    if (resource_set::from_doubles(b).empty())
      throw error("lumen::create_placement_group: an empty bundle");
  }
  auto [id] = ask_gcs<std::string>(
    *impl_->sys, impl_->any_gcs(), "lumen::create_placement_group", gcs_timeout,
    pg_create_atom::value, name, strategy, bundles);
  return id;
}

bool embedded_runtime::wait_placement_group(const std::string& id,
                                            std::chrono::nanoseconds timeout) {
  caf_thread_guard guard;
  caf::scoped_actor self{*impl_->sys};
  bool placed = false;
  auto t = timeout == no_timeout ? caf::duration{caf::infinite}
                                 : caf::duration{timeout};
  self->request(impl_->any_gcs(), t, pg_wait_atom::value, id)
    .receive(
      [&](bool b) {
        placed = b;
      },
      [&](const caf::error&) {});
  return placed;
}

void embedded_runtime::remove_placement_group(const std::string& id) {
  ask_gcs<bool>(*impl_->sys, impl_->any_gcs(), "lumen::remove_placement_group",
                gcs_timeout, pg_remove_atom::value, id);
}

bool embedded_runtime::kv_put(const std::string& ns, const std::string& key,
                              std::string value, bool overwrite) {
  return std::get<0>(
    ask_gcs<bool>(*impl_->sys, impl_->any_gcs(), "lumen::kv::put", gcs_timeout,
                  kv_put_atom::value, ns, key, std::move(value), overwrite));
}

std::optional<std::string> embedded_runtime::kv_get(const std::string& ns,
                                                    const std::string& key) {
  auto [found, value] =
    ask_gcs<bool, std::string>(*impl_->sys, impl_->any_gcs(), "lumen::kv::get",
                               gcs_timeout, kv_get_atom::value, ns, key);
  if (!found)
    return std::nullopt;
  return value;
}

bool embedded_runtime::kv_del(const std::string& ns, const std::string& key) {
  return std::get<0>(ask_gcs<bool>(*impl_->sys, impl_->any_gcs(),
                                   "lumen::kv::del", gcs_timeout,
                                   kv_del_atom::value, ns, key));
}

std::vector<std::string> embedded_runtime::kv_keys(const std::string& ns,
                                                   const std::string& prefix) {
  return std::get<0>(ask_gcs<std::vector<std::string>>(
    *impl_->sys, impl_->any_gcs(), "lumen::kv::keys", gcs_timeout,
    kv_keys_atom::value, ns, prefix));
}

embedded_runtime::node_snapshot embedded_runtime::snapshot() {
  node_snapshot result;
  caf_thread_guard guard;
  caf::scoped_actor self{*impl_->sys};
  self->request(impl_->nm, caf::infinite, stats_atom::value)
    .receive(
      [&](const node_stats& st) {
        result.total = st.total;
        result.available = st.available;
        result.queued = st.queued + st.waiting_for_args;
        result.running = st.running;
        result.blocked = st.blocked;
        result.infeasible = st.infeasible;
        result.worker_threads = st.worker_threads;
        result.actors = st.actors;
        result.pending_actors = st.pending_actors;
      },
      [&](const caf::error& err) {
        throw error("node manager did not answer: " + impl_->sys->render(err));
      });
  auto objs = impl_->table.get_stats();
  result.objects = objs.objects;
  result.object_bytes = objs.used_bytes;
  result.object_capacity = objs.capacity_bytes;
  return result;
}

} // namespace lumen::detail

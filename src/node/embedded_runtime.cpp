// The embedded one-node runtime: booting and stopping a node's stages.
// Objects, tasks and the snapshot as the API calls them are in
// embedded_runtime_api.cpp, actors in embedded_runtime_actors.cpp, nodes,
// placement groups and the key-value table in embedded_runtime_cluster.cpp.
#include "node/embedded_runtime.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/cluster_link.hpp"
#include "actors/gatekeeper.hpp"
#include "actors/gcs.hpp"
#include "actors/gcs_client.hpp"
#include "actors/object_store.hpp"
#include "actors/reconstruction.hpp"
#include "actors/scheduler.hpp"
#include "actors/task_actor.hpp"
#include "gcs/gcs_store.hpp"
#include "log/log.hpp"
#include "lumen/cancel.hpp"
#include "lumen/error.hpp"
#include "net/transport.hpp"
#include "net/transport_guard.hpp"
#include "node/cancel_target.hpp"
#include "node/embedded_runtime_impl.hpp"
#include "node/lineage_collection.hpp"
#include "node/node_security.hpp"
#include "node/runtime_dir.hpp"
#include "objects/object_table.hpp"
#include "objects/spill_files.hpp"
#include "scheduling/context_info.hpp"
#include "scheduling/execution_context.hpp"
#include "scheduling/local_scheduler.hpp"
#include "scheduling/stream_channel.hpp"
#include "scheduling/worker_pool.hpp"
#include "storage/dir_lock.hpp"
#include "storage/rocks_db.hpp"
#include "wire/cluster_types.hpp"

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

/// Where and when this node's values spill: `<spill_directory or
/// runtime-dir/spill>/lumen-spill-<node id>`, a directory of the node's
/// own that goes with the object table at shutdown.
object_table::spill_options spill_options_of(const node_config& c,
                                             const std::string& node) {
  auto& base = c.base;
  auto root = base.spill_directory;
  if (root.empty())
    root = (c.runtime_dir.empty() ? runtime_dir_default() : c.runtime_dir) +
           "/spill";
  return {root + "/lumen-spill-" + node, base.spill_capacity,
          base.object_spilling_threshold};
}

/// A fresh directory for the tables of a GCS that would otherwise be
/// memory only (the embedded cluster, a head on port 0) when lineage is
/// write_ahead: that mode promises each spec is on disk, synced, before
/// its task runs. `<runtime dir>/gcs-wal-XXXXXX`, removed at shutdown.
std::string make_private_gcs_dir(const node_config& c) {
  auto root = c.runtime_dir.empty() ? runtime_dir_default() : c.runtime_dir;
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  auto tmpl = root + "/gcs-wal-XXXXXX";
  if (ec || ::mkdtemp(tmpl.data()) == nullptr)
    throw error("lumen::init: cannot create a directory for the GCS's "
                "lineage in " +
                root);
  return tmpl;
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

/// `c` with its security settings complete and checked (TLS files, token,
/// the listening rule), for a node that opens a port; `c` itself for the
/// embedded one-node cluster, which opens none.
node_config secured(const node_config& c) {
  if (!c.head && c.base.address.empty())
    return c;
  auto result = c;
  try {
    resolve_security(result);
    check_security(result);
  } catch (const error& e) {
    throw error(std::string{"lumen::init: "} + e.what());
  }
  return result;
}

} // namespace

embedded_runtime::impl::impl(const node_config& c)
  : cfg(secured(c)), total(node_resources(c)), table(store_capacity(c.base)),
    pool(0) {
  root.task = task_id::random();
  root.job = task_id::random();
  identity.id = root.job.to_string(); // this node's code is its own job
  try {
    // Private, and this user's, before anything is written in it.
    prepare_runtime_dir(c.runtime_dir.empty() ? runtime_dir_default()
                                              : c.runtime_dir);
    check_size_limits(c.base);
    table.set_max_object_size(c.base.max_object_size);
    auto spill = spill_options_of(c, identity.id);
    table.enable_spilling(spill);
    // What nodes killed before their shutdown left here (spill_files.hpp).
    auto root = std::filesystem::path{spill.directory}.parent_path().string();
    if (auto n = spill_files::remove_dead(root); n > 0)
      log_info("removed the spill files of ", n, " ended node",
               n == 1 ? "" : "s", " in ", root);
  } catch (const error& e) {
    throw error(std::string{"lumen::init: "} + e.what());
  }
  identity.head = c.head;
  identity.driver = c.driver;
  bool cluster = c.head || !c.base.address.empty();
  auto threads =
    std::max(2u, std::min(4u, std::thread::hardware_concurrency()));
  register_wire_types(sys_cfg);
  sys_cfg.set("scheduler.policy", caf::atom("sharing"));
  use_task_actor_scheduler(sys_cfg); // work sharing, task-aware clock
  sys_cfg.set("scheduler.max-threads", static_cast<std::size_t>(threads));
  if (cluster) {
    configure_transport(sys_cfg);
    // Message sizes, frame memory, handshake and idle deadlines, and the
    // proof of the token that connections opened here present.
    set_connection_limits(sys_cfg, cfg.base);
    // Without both, a hung peer is never noticed (TOOLCHAIN.md).
    sys_cfg.set("middleman.heartbeat-interval",
                caf::timespan{std::chrono::seconds(1)});
    sys_cfg.set("middleman.connection-timeout",
                caf::timespan{std::chrono::seconds(5)});
  }
  caf_thread_guard guard;
  sys = std::make_unique<caf::actor_system>(sys_cfg);
  try {
    start(cfg, cluster);
  } catch (...) {
    stop(); // the actors already running must end before the system
    throw;
  }
}

void embedded_runtime::impl::start(const node_config& c, bool cluster) {
  // Plain TCP, or TLS when the node has TLS files: every port and
  // connection of the middleman then uses it (net/transport.hpp).
  if (cluster)
    start_transport(*sys, c.base.tls);
  // Objects move on the object channel, a broker on the same transport
  // (TLS too), unless the config says middleman.
  transfer_options transfer;
  transfer.direct =
    cluster && c.base.object_transfer == object_transfer_mode::direct;
  transfer.host = c.host;
  store = make_object_store(*sys, &table, identity.id, transfer,
                            &identity.bulk_address);
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
  // The GCS's lineage log, when the GCS runs here: the stash commits to it
  // directly (lineage_log.hpp).
  local_lineage_log local_lineage;
  if (own_gcs) {
    // A head keeps its tables in RocksDB (see gcs_dir_of); the embedded
    // one-node cluster (and a head on port 0) in memory, except that with
    // lineage on, committed lineage goes to a private RocksDB store: synced
    // for write_ahead, and never piling up in memory.
    std::shared_ptr<rocks_db> tables;
    auto dir = c.head ? gcs_dir_of(c) : std::string{};
    if (dir.empty() && c.base.lineage != lineage_mode::off)
      dir = private_gcs_dir = make_private_gcs_dir(c);
    // The private store goes when this process stops: scratch.
    if (!dir.empty())
      tables = std::make_shared<rocks_db>(dir, !private_gcs_dir.empty());
    gcs_timing timing;
    timing.failure = c.failure;
    // A private store serves a process that is the whole cluster (or a
    // throw-away head): only write_ahead's promise needs the disk.
    timing.sync_lineage = !private_gcs_dir.empty()
                            ? c.base.lineage == lineage_mode::write_ahead
                            : true;
    // Its other tables stay in memory (no synced write per placement
    // group, actor or key-value row).
    timing.durable_tables = private_gcs_dir.empty();
    pgs = std::make_shared<pg_board>();
    pgs_one_way = !tables || !timing.durable_tables;
    gcs = make_gcs(*sys, timing, std::move(tables), pgs, &local_lineage);
  }
  if (c.head) {
    // Peers reach the GCS only through the gatekeeper, which admits the
    // nodes that present the cluster token (actors/gatekeeper.hpp).
    auto gate = make_gatekeeper(*sys, gcs, c.base.token);
    published = caf::actor_cast<caf::actor>(gate);
    auto port = publish_actor(*sys, gate, c.port, c.host);
    if (!port)
      throw error("cannot listen on " + c.host + ":" + std::to_string(c.port) +
                  ": " + sys->render(port.error()));
    identity.address = c.host + ":" + std::to_string(*port);
  }
  lineage_setup lineage;
  lineage.mode = c.base.lineage;
  if (c.base.lineage != lineage_mode::off) {
    auto dir = c.runtime_dir.empty() ? runtime_dir_default() : c.runtime_dir;
    try {
      stash = std::make_unique<lineage_stash>(dir + "/stash/" +
                                              std::to_string(getpid()));
    } catch (const error& e) {
      // A full disk: the node still starts (a head serving its tables
      // read-only, say), without lineage of its own. write_ahead promises
      // the disk, so it fails.
      if (c.base.lineage == lineage_mode::write_ahead)
        throw;
      log_error("no lineage stash on this node: ", e.what(),
                "; its tasks are not recorded for reconstruction until it "
                "starts again");
      lineage.mode = lineage_mode::off;
    }
  }
  if (stash) {
    stash->adopt_orphans(); // what nodes that died here left behind
    // Lineage collection: lineage nothing here can need any more is
    // deleted (node/lineage_collection.hpp).
    pins = std::make_shared<lineage_pins>();
    stash_actor = make_lineage_stash(*sys, stash.get(), caf::actor{},
                                     &local_lineage, pins.get());
    watch_owned_releases(table, pins, caf::actor_cast<caf::actor>(stash_actor),
                         hooks_on);
    lineage.stash = stash.get();
    lineage.stash_actor = caf::actor_cast<caf::actor>(stash_actor);
  }
  // The local scheduler, the reconstruction actor that runs lost objects'
  // tasks again through it, and the cluster link; they stop together.
  scheduler =
    make_scheduler(*sys, total, &table, &pool, identity.id, store, lineage);
  auto rebuilder =
    make_reconstruction(*sys, &table, lineage.mode, lineage.stash,
                        caf::actor_cast<caf::actor>(scheduler));
  link = make_cluster_link(*sys, identity, &table, store, scheduler, rebuilder,
                           lineage);
  caf::anon_send(scheduler, join_atom::value, caf::actor_cast<caf::actor>(link),
                 caf::actor_cast<caf::actor>(rebuilder));
  install_cancel_target(
    std::make_shared<cancel_target>(&table, scheduler, &directory));
  // Lost objects go from the store to the reconstruction actor.
  caf::anon_send(store, join_atom::value,
                 caf::actor_cast<caf::actor>(rebuilder));
  caf::actor gcs_handle;
  if (own_gcs) {
    gcs_handle = caf::actor_cast<caf::actor>(gcs);
  } else {
    auto [host, port] = split_address(c.base.address);
    auto remote = connect_gcs(*sys, host, port, c.base.token, connect_timeout);
    if (!remote.error.empty())
      throw error(remote.error);
    // Through a client that outlives the head: it reconnects when the
    // head comes back (gcs_client.hpp).
    remote_gcs = make_gcs_client(*sys, remote.gcs, host, port, c.base.token);
    gcs_handle = caf::actor_cast<caf::actor>(remote_gcs);
    // The node's own port, for direct connections from peers; its actors
    // become known to them through the GCS's view only.
    auto door = make_door(*sys, c.base.token);
    published = caf::actor_cast<caf::actor>(door);
    auto own = publish_actor(*sys, door, 0, c.host);
    if (own)
      identity.address = c.host + ":" + std::to_string(*own);
  }
  if (stash_actor)
    caf::anon_send(stash_actor, join_atom::value, gcs_handle);
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
                                            {},
                                            identity.bulk_address,
                                            0,
                                            0,
                                            {}});
  caf::scoped_actor self{*sys};
  bool joined = false;
  std::string why;
  self
    ->request(link, std::chrono::seconds(15), join_atom::value, gcs_handle,
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

embedded_runtime::impl::~impl() {
  stop();
}

void embedded_runtime::impl::stop() {
  install_cancel_target(nullptr);
  table.close(make_error_object(error_kind::runtime_error,
                                "lumen was shut down before the object "
                                "was ready"));
  // Timers fire early and suspended coroutines resume (and end) while the
  // workers still run.
  loop.stop();
  hooks_on->store(false);
  directory.close();
  {
    caf_thread_guard guard;
    caf::scoped_actor self{*sys};
    for (auto& native : natives_snapshot()) {
      self->send_exit(native, caf::exit_reason::user_shutdown);
      if (native.node() == sys->node()) // one spawned on another node ends
        self->wait_for(native);         // there, unwaited for
    }
    // What peers reach first, so that nothing new comes in.
    if (published) {
      self->send_exit(published, caf::exit_reason::user_shutdown);
      self->wait_for(published);
    }
    // The GCS first, so that it does not report this node's own end.
    if (gcs) {
      self->send_exit(gcs, caf::exit_reason::user_shutdown);
      self->wait_for(gcs);
    }
    if (pgs)
      pgs->close(); // nothing will place a group any more
    // The link first (what peers reach), then the scheduler (with the
    // reconstruction actor, linked to it).
    if (link) {
      self->send_exit(link, caf::exit_reason::user_shutdown);
      self->wait_for(link);
    }
    if (scheduler) {
      self->send_exit(scheduler, caf::exit_reason::user_shutdown);
      self->wait_for(scheduler);
    }
    if (store) {
      self->send_exit(store, caf::exit_reason::user_shutdown);
      self->wait_for(store);
    }
    if (stash_actor) {
      self->send_exit(stash_actor, caf::exit_reason::user_shutdown);
      self->wait_for(stash_actor);
    }
    // The GCS client last: what the actors above told the GCS goes out.
    if (remote_gcs) {
      self->send_exit(remote_gcs, caf::exit_reason::user_shutdown);
      self->wait_for(remote_gcs);
    }
  }
  if (stash) {
    // A clean stop: what is not committed yet goes with the node.
    // Removed under its directory lock, taken again: a node that took
    // the lock in between adopts the rows and removes it itself.
    auto path = stash->path();
    stash.reset();
    if (int fd = lock_unheld_dir(path); fd >= 0) {
      rocks_db::destroy(path);
      ::close(fd);
    }
  }
  stash_actor = nullptr;
  published = nullptr;
  pool.stop();
  {
    caf_thread_guard guard;
    stop_transport(*sys);
  }
  link = nullptr;
  scheduler = nullptr;
  store = nullptr;
  gcs = nullptr;
  remote_gcs = nullptr;
  sys.reset(); // the GCS's store is closed now
  if (!private_gcs_dir.empty()) {
    rocks_db::destroy(private_gcs_dir);
    private_gcs_dir.clear();
  }
}

embedded_runtime::embedded_runtime(const node_config& cfg)
  : impl_(std::make_unique<impl>(cfg)) {}

embedded_runtime::~embedded_runtime() = default;

} // namespace lumen::detail

// embedded_runtime's state (the `impl` struct) and the helpers its pieces
// share; private to src/node/:
// - embedded_runtime.cpp: start-up and shut-down stages, objects, tasks,
//   the node snapshot;
// - embedded_runtime_actors.cpp: actors, borrowed handles, native CAF actors;
// - embedded_runtime_cluster.cpp: node id, nodes, placement groups,
//   key-value table.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/cluster_link.hpp"
#include "actors/gcs.hpp"
#include "actors/lineage_stash.hpp"
#include "actors/object_store.hpp"
#include "actors/scheduler.hpp"
#include "gcs/pg_board.hpp"
#include "lineage/lineage_pins.hpp"
#include "lineage/stash.hpp"
#include "lumen/error.hpp"
#include "node/embedded_runtime.hpp"
#include "objects/object_table.hpp"
#include "scheduling/actor_directory.hpp"
#include "scheduling/async_loop.hpp"
#include "scheduling/execution_context.hpp"
#include "scheduling/pg_planner.hpp"
#include "scheduling/resources.hpp"
#include "scheduling/worker_pool.hpp"

namespace lumen::detail {

/// Resources of a task or actor in a placement group: renamed to the
/// bundle's names (see pg_planner.hpp), CPUs included.
inline std::map<std::string, double> in_bundle(std::map<std::string, double> rs,
                                               double cpus,
                                               const std::string& pg,
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
/// when it fails or does not answer within `timeout`. While the head is
/// away the request waits in this node's GCS client and goes out when the
/// head is back (gcs_client.hpp), so it fails only if the head stays away
/// longer than `timeout`.
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
        why = err == caf::sec::request_timeout
                ? "the GCS did not answer within " +
                    std::to_string(timeout.count()) +
                    " s (is the head down? this node keeps reconnecting to "
                    "it)"
                : sys.render(err);
      });
  if (!ok)
    throw error(std::string{what} + ": " + why);
  return result;
}

inline constexpr auto gcs_timeout = std::chrono::seconds(30);

struct embedded_runtime::impl {
  explicit impl(const node_config& c);

  void start(const node_config& c, bool cluster);

  ~impl();

  void stop();

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
      if (!table.ready(h))
        caf::anon_send(store, fetch_atom::value, id_bytes(h->id), caf::actor{});
  }

  execution_context& context() {
    auto* ctx = current_context();
    return ctx != nullptr ? *ctx : root;
  }

  node_config cfg;
  /// Who this node is (id, address, head, driver): what its cluster link
  /// announces.
  node_record identity;
  /// Which tasks' lineage is still needed (lineage on only).
  std::shared_ptr<lineage_pins> pins;
  std::shared_ptr<std::atomic<bool>> hooks_on =
    std::make_shared<std::atomic<bool>>(true);
  resource_set total;
  object_table table;
  worker_pool pool;
  /// The async thread of coroutines and timers (lumen/async.hpp).
  async_loop loop;
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
  /// The RocksDB directory made for our GCS because lineage is write_ahead
  /// and it would be memory only otherwise; removed at shutdown.
  std::string private_gcs_dir;
  /// Placement group states our GCS publishes (null without one).
  std::shared_ptr<pg_board> pgs;
  /// Whether our GCS keeps its tables in memory: then placement group
  /// creates and removes go to it without waiting for its answer (no
  /// write can fail; embedded_runtime_cluster.cpp).
  bool pgs_one_way = false;
  /// The head's GCS, for a node that joined a cluster.
  gcs_actor remote_gcs;
  /// What this node published on its port: the GCS's gatekeeper on a
  /// head, a door on other nodes (actors/gatekeeper.hpp).
  caf::actor published;
  bool in_cluster = false;
  /// The node's local scheduler, and its link to the rest of the cluster.
  scheduler_actor scheduler;
  cluster_link_actor link;
  /// This node's lineage stash (null with lineage = off) and its actor.
  std::unique_ptr<lineage_stash> stash;
  lineage_stash_actor stash_actor;

  /// The GCS to ask: ours, or the head's.
  const gcs_actor& any_gcs() const {
    return gcs ? gcs : remote_gcs;
  }
};

} // namespace lumen::detail

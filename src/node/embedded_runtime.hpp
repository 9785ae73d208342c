// The runtime of one node, inside the caller's process: the embedded
// one-node cluster behind `lumen::init()`, a driver or worker that joined a
// cluster, or a head node.
//
// Start-up stages: object table, worker pool, actor system (sharing
// scheduler, so system actors and bursts of executors stay cheap; the
// middleman in a cluster), object store; on a head the GCS, published on
// the cluster port; the scheduler, the reconstruction actor and the
// cluster link; in a cluster, the node's own port and the link's
// registration with the GCS. Shut-down runs them backwards: the table
// fails every pending object (blocked gets wake up), actors stop, the
// link and the scheduler stop, the worker pool drains and joins, the actor
// system ends (closing the node's connections).
//
// Thread safety: the runtime_api members may be called from any thread.
#pragma once

#include <array>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "lumen/config.hpp"
#include "lumen/detail/runtime_api.hpp"
#include "lumen/native_actor.hpp"
#include "node/node_config.hpp"
#include "scheduling/node_stats.hpp"

namespace lumen::detail {

class embedded_runtime : public runtime_api {
 public:
  /// Starts every stage; throws lumen::error on a bad config or when the
  /// head cannot be reached.
  explicit embedded_runtime(const node_config& cfg);

  /// Stops every stage.
  ~embedded_runtime() override;

  ref_ptr put(object_data&& data) override;

  object_ptr get(const ref_ptr& ref, std::chrono::nanoseconds timeout) override;

  std::vector<object_ptr> get_all(const std::vector<const ref_header*>& refs,
                                  std::chrono::nanoseconds timeout) override;

  bool ready(const ref_header* ref) override;

  // Asynchronous waits (embedded_runtime_async.cpp).
  void when_ready(const ref_ptr& ref, std::function<void()> callback) override;

  void post_async(std::function<void()> job) override;

  void post_after(std::chrono::nanoseconds delay,
                  std::function<void()> job) override;

  std::vector<bool> wait(const std::vector<const ref_header*>& refs,
                         std::size_t num_returns,
                         std::chrono::nanoseconds timeout) override;

  ref_ptr lookup(const object_id& id) override;

  ref_ptr submit(task_request&& request) override;

  ref_ptr create_actor(actor_request&& request) override;

  ref_ptr submit_actor_task(actor_call_request&& request) override;

  ref_ptr find_actor(const std::string& name, const std::string& ns,
                     std::uint64_t class_hash) override;

  ref_ptr lookup_actor(const object_id& id) override;

  void kill_actor(const ref_ptr& actor, bool no_restart) override;

  /// A local handle to actor `id` owned by another process, whose
  /// owner-side host is `host` (a forwarder here relays calls to it).
  ref_ptr borrow_actor(const task_id& id, std::uint64_t class_hash,
                       caf::actor host);

  std::string node_id() override;

  std::vector<node_info> nodes() override;

  std::string
  create_placement_group(const std::vector<std::map<std::string, double>>& b,
                         std::uint8_t strategy,
                         const std::string& name) override;

  bool wait_placement_group(const std::string& id,
                            std::chrono::nanoseconds timeout) override;

  void remove_placement_group(const std::string& id) override;

  bool kv_put(const std::string& ns, const std::string& key, std::string value,
              bool overwrite) override;

  std::optional<std::string> kv_get(const std::string& ns,
                                    const std::string& key) override;

  bool kv_del(const std::string& ns, const std::string& key) override;

  std::vector<std::string> kv_keys(const std::string& ns,
                                   const std::string& prefix) override;

  /// HOST:PORT this node listens on (a head: the cluster port); empty for
  /// the embedded one-node cluster.
  const std::string& address() const;

  /// This node's resources, queues, task actor counts and objects (blocks
  /// for the scheduler's reply).
  node_stats snapshot();

  /// This node's borrowing figures (object_store.hpp, `borrowst`): objects
  /// lent to other nodes and their registrations, borrowed entries and
  /// theirs. Blocks for the store's reply.
  std::array<std::uint64_t, 4> borrow_stats();

  /// Lineage on this node and in the GCS it uses (lineage collection;
  /// defined in lineage_collection.cpp): GCS rows and bytes (0 if it does
  /// not answer within 10 s), the stash's uncommitted rows, and the tasks
  /// the owner's pins hold records of.
  struct lineage_figures {
    std::uint64_t gcs_rows = 0;
    std::uint64_t gcs_bytes = 0;
    std::uint64_t stash_rows = 0;
    std::uint64_t pinned = 0;
  };
  lineage_figures lineage_stats();

  // -- native CAF actors (see lumen/native_actor.hpp) ---------------------

  caf::actor_system& system();

  std::shared_ptr<void> native_reserve(const native_options& opts);

  void native_adopt(std::shared_ptr<void> reservation, const caf::actor& handle,
                    std::uint64_t type_hash);

  caf::actor native_find(const std::string& name, const std::string& ns,
                         std::uint64_t type_hash);

  /// Reserves, spawns and adopts registered factory `f` here (a
  /// spawn_native placed on this node); returns its id in the GCS.
  std::string native_spawn_here(const native_options& opts,
                                const native_factory& f,
                                const std::vector<std::string>& args);

  /// See lumen/native_actor.hpp (embedded_runtime_native.cpp).
  std::string native_where(const native_options& opts);
  caf::actor native_spawn_on(const std::string& node,
                             const native_options& opts,
                             const native_factory& f,
                             std::vector<std::string> args);

 private:
  /// Tells the GCS of native actor `id` (name unique cluster-wide); ends
  /// it and throws if the name is taken.
  void native_register(const task_id& id, const std::string& name,
                       const std::string& ns, const caf::actor& handle,
                       std::uint64_t type_hash);

  caf::actor native_find_in_gcs(const std::string& name, const std::string& ns,
                                std::uint64_t type_hash);

 public:
  // -- context, namespaces, placement groups by name
  //    (embedded_runtime_context.cpp) -------------------------------------

  /// The job and root task id of this process's own code.
  task_id root_job() const;
  task_id root_task() const;

  /// The namespace of the calling code: its task's or actor's, else
  /// config::ns.
  const std::string& current_ns() const;

  /// `ns`, or current_ns() when it is empty.
  std::string ns_or_current(const std::string& ns) const;

  /// What the GCS knows of a placement group: by `id`, or (empty id) the
  /// live one named `name` in `ns`. `state` 0: none or removed, 1
  /// pending, 2 placed.
  struct pg_found {
    std::string id;
    std::size_t bundles = 0;
    std::uint8_t state = 0;
  };
  pg_found find_placement_group(const std::string& id, const std::string& name,
                                const std::string& ns);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The running embedded runtime, or nullptr (for tests and tools).
embedded_runtime* current_embedded_runtime() noexcept;

} // namespace lumen::detail

// The runtime behind `lumen::init()`: one node inside the caller's process.
//
// Start-up stages: object table, worker pool, actor system (sharing
// scheduler, so system actors and bursts of executors stay cheap), object
// store, node manager. Shut-down runs them backwards: the table fails every
// pending object (blocked gets wake up), the node manager stops, the worker
// pool drains and joins, the actor system ends.
//
// Thread safety: the runtime_api members may be called from any thread.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "lumen/config.hpp"
#include "lumen/detail/runtime_api.hpp"
#include "lumen/native_actor.hpp"

namespace lumen::detail {

class embedded_runtime : public runtime_api {
public:
  /// Starts every stage; throws lumen::error on a bad config.
  explicit embedded_runtime(const config& cfg);

  /// Stops every stage.
  ~embedded_runtime() override;

  ref_ptr put(object_data&& data) override;

  object_ptr get(const ref_ptr& ref, std::chrono::nanoseconds timeout) override;

  std::vector<object_ptr> get_all(const std::vector<ref_ptr>& refs,
                                  std::chrono::nanoseconds timeout) override;

  std::vector<bool> wait(const std::vector<ref_ptr>& refs,
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

  /// Total and available resources, queue lengths (blocks for a reply).
  struct node_snapshot {
    std::map<std::string, double> total;
    std::map<std::string, double> available;
    std::size_t queued = 0;
    std::size_t running = 0;
    std::size_t blocked = 0;
    std::size_t infeasible = 0;
    std::size_t worker_threads = 0;
    std::size_t actors = 0;
    std::size_t pending_actors = 0;
    std::size_t objects = 0;
    std::size_t object_bytes = 0;
    std::size_t object_capacity = 0;
  };

  node_snapshot snapshot();

  // -- native CAF actors (see lumen/native_actor.hpp) ---------------------

  caf::actor_system& system();

  std::shared_ptr<void> native_reserve(const native_options& opts);

  void native_adopt(std::shared_ptr<void> reservation,
                    const caf::actor& handle, std::uint64_t type_hash);

  caf::actor native_find(const std::string& name, const std::string& ns,
                         std::uint64_t type_hash);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The running embedded runtime, or nullptr (for tests and tools).
embedded_runtime* current_embedded_runtime() noexcept;

} // namespace lumen::detail

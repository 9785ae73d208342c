// Lineage collection on a node (lineage_collection.hpp).
#include "node/lineage_collection.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include <caf/scoped_actor.hpp>

#include "actors/messages.hpp"
#include "lineage/lineage_pins.hpp"
#include "lineage/stash.hpp"
#include "lumen/native_actor.hpp"
#include "node/embedded_runtime.hpp"
#include "node/embedded_runtime_impl.hpp"
#include "objects/object_table.hpp"
#include "wire/task_spec.hpp"

namespace lumen::detail {

void watch_owned_releases(object_table& table,
                          std::shared_ptr<lineage_pins> pins,
                          const caf::actor& stash_actor,
                          std::shared_ptr<std::atomic<bool>> on) {
  // Weakly: the table's state may outlive the actor system.
  auto wake = caf::actor_cast<caf::actor_addr>(stash_actor);
  table.set_owned_release_hook(
    [pins = std::move(pins), wake, on = std::move(on)](const object_id& id) {
      if (!on->load(std::memory_order_relaxed))
        return;
      if (!pins->freed(id.task))
        return; // the stash actor was woken already
      if (auto a = caf::actor_cast<caf::actor>(wake))
        caf::anon_send(a, tick_atom::value);
    });
}

ref_ptr owned_return(object_table& table, lineage_pins& pins,
                     const task_spec& task) {
  auto result = table.create_owned(task.return_id);
  if (!task.args.empty()) {
    auto deps = task_deps(task);
    if (!deps.empty())
      pins.submitted(task.id, deps);
  }
  return result;
}

embedded_runtime::lineage_figures embedded_runtime::lineage_stats() {
  lineage_figures out;
  if (impl_->stash)
    out.stash_rows = impl_->stash->uncommitted();
  if (impl_->pins)
    out.pinned = impl_->pins->records();
  auto gcs = impl_->gcs ? impl_->gcs : impl_->remote_gcs;
  if (!gcs)
    return out;
  caf_thread_guard guard;
  caf::scoped_actor self{*impl_->sys};
  self->request(gcs, std::chrono::seconds(10), lineage_count_atom::value)
    .receive(
      [&](std::uint64_t n) {
        out.gcs_rows = n;
      },
      [](const caf::error&) {});
  self->request(gcs, std::chrono::seconds(10), lineage_bytes_atom::value)
    .receive(
      [&](std::uint64_t n) {
        out.gcs_bytes = n;
      },
      [](const caf::error&) {});
  return out;
}

} // namespace lumen::detail

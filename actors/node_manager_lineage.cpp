// node_manager and lineage: write-ahead commits, stashing what peers send,
// lineage that travels with tasks, and telling the reconstruction actor
// (reconstruction.hpp) when a task that may rebuild an object ended.
#include <chrono>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "actors/node_manager.hpp"
#include "actors/node_manager_state.hpp"
#include "lineage/stash.hpp"
#include "log/log.hpp"
#include "lumen/error.hpp"
#include "wire/task_spec_codec.hpp"

namespace lumen::detail_node_manager {

namespace {

/// How long a write-ahead commit may take.
constexpr auto gcs_patience = std::chrono::seconds(30);

} // namespace

void stash_received(self_ptr self, const detail::task_ptr& task) {
  auto& st = self->state;
  if (st.lineage.stash == nullptr)
    return;
  bool wake = false;
  try {
    for (auto& spec : task->lineage) {
      // With its own dependencies, for forwarding it further.
      auto [id, deps] = detail::spec_deps(spec);
      wake |= st.lineage.stash->append(id, spec, std::move(deps));
    }
    wake |= detail::stash_task(*st.lineage.stash, *task);
  } catch (const std::exception& e) {
    detail::log_warn("lineage from another node not stashed: ", e.what());
  }
  task->lineage.clear();
  if (wake && st.lineage.stash_actor)
    caf::anon_send(st.lineage.stash_actor, tick_atom::value);
}

std::vector<std::string> lineage_for_peer(self_ptr self,
                                          const detail::task_ptr& task) {
  auto& st = self->state;
  if (st.lineage.stash == nullptr || st.lineage.mode != lineage_mode::stash)
    return {};
  return st.lineage.stash->uncommitted_ancestors(detail::task_deps(*task));
}

void submit_task(self_ptr self, detail::task_ptr task) {
  auto& st = self->state;
  if (st.lineage.mode != lineage_mode::write_ahead || !st.gcs) {
    await_args(self, std::move(task), false);
    return;
  }
  std::string spec;
  try {
    auto bytes = detail::encode_task_spec(*task);
    spec.assign(bytes.data(), bytes.size());
  } catch (const std::exception&) {
    await_args(self, std::move(task), false); // unencodable: runs unrecorded
    return;
  }
  std::vector<std::string> ids{task->id.to_string()};
  std::vector<std::string> specs{std::move(spec)};
  self
    ->request(st.gcs, gcs_patience, lineage_commit_atom::value, std::move(ids),
              std::move(specs))
    .then(
      [self, task](std::uint64_t) {
        await_args(self, task, false);
      },
      [self, task](caf::error& err) {
        auto why = "task '" + task->options.name +
                   "': the GCS did not commit its lineage: " +
                   self->system().render(err);
        detail::log_warn(why, "; the task fails");
        if (task->deliver)
          task->deliver(detail::make_error_object(
            detail::error_kind::runtime_error, why, {}, task->options.name));
        else
          self->state.table->fulfill(
            task->return_id,
            detail::make_error_object(detail::error_kind::runtime_error, why,
                                      {}, task->options.name));
      });
}

void rebuilt(self_ptr self, const object_id& id) {
  auto& st = self->state;
  if (st.rebuilds_pending)
    self->send(st.reconstruction, rebuilt_atom::value, id);
}

} // namespace lumen::detail_node_manager

// scheduler and lineage: write-ahead commits, and telling the
// reconstruction actor (reconstruction.hpp) when a task that may rebuild an
// object ended. Lineage that travels with tasks to and from peers is the
// cluster link's (cluster_link_tasks.cpp).
#include <chrono>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "actors/scheduler.hpp"
#include "actors/scheduler_state.hpp"
#include "log/log.hpp"
#include "lumen/error.hpp"
#include "wire/task_spec_codec.hpp"

namespace lumen::detail_scheduler {

namespace {

/// How long a write-ahead commit may take.
constexpr auto gcs_patience = std::chrono::seconds(30);

} // namespace

void submit_task(self_ptr self, detail::task_ptr task) {
  auto& st = self->state;
  if (st.lineage.mode != lineage_mode::write_ahead || !st.cluster.gcs) {
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
    ->request(st.cluster.gcs, gcs_patience, lineage_commit_atom::value,
              std::move(ids), std::move(specs))
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

} // namespace lumen::detail_scheduler

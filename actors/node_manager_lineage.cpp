// node_manager and lineage: write-ahead commits, stashing what peers send,
// lineage that travels with tasks, and rebuilding lost objects.
#include <iostream>
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

/// How long a write-ahead commit or a lineage look-up may take.
constexpr auto gcs_patience = std::chrono::seconds(30);

void fail_object(self_ptr self, const object_id& id, std::string why) {
  detail::log_warn("object ", id.to_string(), " was lost: ", why);
  auto& st = self->state;
  st.held_elsewhere.erase(id);
  st.table->fulfill(
    id, detail::make_error_object(detail::error_kind::object_lost,
                                  "object " + id.to_string() +
                                    " was lost: " + std::move(why)));
  rebuilt(self, id);
}

/// Runs the task encoded in `spec` again for its lost return `id`.
void run_again(self_ptr self, const object_id& id, const std::string& spec) {
  auto& st = self->state;
  std::vector<object_id> missing;
  detail::task_ptr task;
  try {
    auto decoded = detail::decode_task_spec(
      spec.data(), spec.size(), [&](const object_id& arg) {
        if (auto r = st.table->lookup(arg))
          return r;
        missing.push_back(arg);
        return st.table->create_pending(arg);
      });
    task = std::make_shared<detail::task_spec>(std::move(decoded));
  } catch (const std::exception& e) {
    fail_object(self, id,
                std::string{"its lineage is unreadable: "} + e.what());
    return;
  }
  auto& n = st.rebuilds[task->id];
  auto retries = task->options.max_retries;
  if (retries >= 0 && n >= static_cast<std::uint32_t>(retries)) {
    fail_object(self, id,
                "task '" + task->options.name + "' rebuilt it " +
                  std::to_string(n) + " times already (max_retries)");
    return;
  }
  ++n;
  detail::log_info("object ", id.to_string(), " is rebuilt: task '",
                   task->options.name, "' runs again (rebuild ", n, ")");
  task->attempt += n;
  task->lineage.clear();
  // Arguments dropped here since are rebuilt the same way first.
  for (auto& arg : missing)
    rebuild(self, arg, "an argument of a task being rebuilt is gone");
  await_args(self, std::move(task), false);
}

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

void rebuild(self_ptr self, const object_id& id, const std::string& why) {
  auto& st = self->state;
  st.held_elsewhere.erase(id);
  if (id.is_put()) {
    fail_object(self, id,
                why + "; it was made by lumen::put and has no lineage");
    return;
  }
  if (st.lineage.mode == lineage_mode::off || st.lineage.stash == nullptr) {
    fail_object(self, id, why + "; lineage is off, so it is not rebuilt");
    return;
  }
  if (st.rebuilding.count(id) > 0)
    return; // under way
  auto ref = st.table->lookup(id);
  if (!ref)
    return; // nothing needs it any more; whatever asks again rebuilds it
  st.rebuilding.emplace(id, std::move(ref));
  detail::log_warn("rebuilding object ", id.to_string(), ": ", why);
  if (auto spec = st.lineage.stash->find(id.task)) {
    run_again(self, id, *spec);
    return;
  }
  if (!st.gcs) {
    fail_object(self, id, why + "; its lineage is not on this node");
    return;
  }
  self
    ->request(st.gcs, gcs_patience, lineage_get_atom::value,
              id.task.to_string())
    .then(
      [self, id, why](std::vector<char>& spec) {
        if (spec.empty())
          fail_object(self, id, why + "; the GCS has no lineage for it");
        else
          run_again(self, id, std::string{spec.data(), spec.size()});
      },
      [self, id, why](caf::error& err) {
        fail_object(self, id,
                    why + "; its lineage could not be read from the GCS: " +
                      self->system().render(err));
      });
}

void rebuilt(self_ptr self, const object_id& id) {
  auto& st = self->state;
  auto i = st.rebuilding.find(id);
  if (i == st.rebuilding.end())
    return;
  st.rebuilt_values.push_back(std::move(i->second));
  st.rebuilding.erase(i);
  if (st.rebuilding.empty())
    st.rebuilt_values.clear();
}

} // namespace lumen::detail_node_manager

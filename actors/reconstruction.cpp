// reconstruction: rebuilding lost objects (see reconstruction.hpp).
#include "actors/reconstruction.hpp"

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/object_store.hpp"
#include "actors/scheduler.hpp"
#include "lineage/stash.hpp"
#include "log/log.hpp"
#include "lumen/error.hpp"
#include "wire/task_spec_codec.hpp"

namespace lumen {

namespace {

/// How long a lineage look-up at the GCS may take.
constexpr auto gcs_patience = std::chrono::seconds(30);

struct reconstruction_state {
  detail::object_table* table = nullptr;
  lineage_mode mode = lineage_mode::off;
  /// The node's stash; null when the mode is off.
  detail::lineage_stash* stash = nullptr;
  /// The node's scheduler: tasks run again through it.
  scheduler_actor nm;
  /// Set once the node joined a cluster.
  caf::actor gcs;
  /// Objects owned here being rebuilt after their node died.
  /// Each is held (so that its value finds its entry when it comes back)
  /// until its task ends, its result comes from a peer, or it fails.
  std::unordered_map<object_id, detail::ref_ptr> rebuilding;
  /// Values rebuilt while other rebuilds were under way, kept until none
  /// is: a task rebuilt after one of them ended may take it as an
  /// argument, and nothing else may hold it meanwhile.
  std::vector<detail::ref_ptr> rebuilt_values;
  /// How often each task was run again to rebuild its object.
  std::unordered_map<task_id, std::uint32_t> rebuilds;

  const char* name = "lumen.reconstruction";
};

using self_ptr = reconstruction_actor::stateful_pointer<reconstruction_state>;

void rebuild(self_ptr self, const object_id& id, const std::string& why);

/// Tells the scheduler that `id` is not held elsewhere any more.
void forget(self_ptr self, const object_id& id) {
  self->send(self->state.nm, lost_atom::value, id);
}

/// The task that rebuilds `id` ended, or `id` failed: it is no longer
/// being rebuilt (its value is kept while other rebuilds are under way).
void rebuilt(self_ptr self, const object_id& id) {
  auto& st = self->state;
  auto i = st.rebuilding.find(id);
  if (i == st.rebuilding.end())
    return;
  st.rebuilt_values.push_back(std::move(i->second));
  st.rebuilding.erase(i);
  if (st.rebuilding.empty()) {
    st.rebuilt_values.clear();
    self->send(st.nm, rebuilding_atom::value, false);
  }
}

void fail_object(self_ptr self, const object_id& id, std::string why) {
  detail::log_warn("object ", id.to_string(), " was lost: ", why);
  auto& st = self->state;
  forget(self, id);
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
  self->send(st.nm, resubmit_atom::value, std::move(task));
}

/// Object `id`, owned here, lost its every copy: rebuild it or fail it.
void rebuild(self_ptr self, const object_id& id, const std::string& why) {
  auto& st = self->state;
  if (id.is_put()) {
    fail_object(self, id,
                why + "; it was made by lumen::put and has no lineage");
    return;
  }
  if (st.mode == lineage_mode::off || st.stash == nullptr) {
    fail_object(self, id, why + "; lineage is off, so it is not rebuilt");
    return;
  }
  forget(self, id);
  if (st.rebuilding.count(id) > 0)
    return; // under way
  auto ref = st.table->lookup(id);
  if (!ref)
    return; // nothing needs it any more; whatever asks again rebuilds it
  if (st.rebuilding.empty())
    self->send(st.nm, rebuilding_atom::value, true);
  st.rebuilding.emplace(id, std::move(ref));
  detail::log_warn("rebuilding object ", id.to_string(), ": ", why);
  if (auto spec = st.stash->find(id.task)) {
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

reconstruction_actor::behavior_type
reconstruction(self_ptr self, detail::object_table* table, lineage_mode mode,
               detail::lineage_stash* stash, caf::actor scheduler) {
  auto& st = self->state;
  st.table = table;
  st.mode = mode;
  st.stash = stash;
  st.nm = caf::actor_cast<scheduler_actor>(std::move(scheduler));
  return {
    [=](lost_atom, const std::vector<char>& idb) {
      object_id id;
      try {
        id = detail::id_from_bytes(idb);
      } catch (const std::exception&) {
        return;
      }
      rebuild(self, id, "every copy was on nodes that died");
    },
    [=](rebuilt_atom, const object_id& id) {
      rebuilt(self, id);
    },
    [=](join_atom, caf::actor gcs) {
      self->state.gcs = std::move(gcs);
    },
  };
}

} // namespace

reconstruction_actor make_reconstruction(caf::actor_system& sys,
                                         detail::object_table* table,
                                         lineage_mode mode,
                                         detail::lineage_stash* stash,
                                         caf::actor scheduler) {
  return sys.spawn(reconstruction, table, mode, stash, std::move(scheduler));
}

} // namespace lumen

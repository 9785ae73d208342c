// The embedded runtime's view of the cluster: node id, nodes, placement
// groups, and the key-value table (the last two live on the GCS).
#include "node/embedded_runtime.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/cluster_link.hpp"
#include "actors/gcs.hpp"
#include "lumen/error.hpp"
#include "lumen/ids.hpp"
#include "node/embedded_runtime_impl.hpp"
#include "node/pg_names.hpp"
#include "wire/cluster_types.hpp"

namespace lumen::detail {

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
  self->request(impl_->link, std::chrono::seconds(10), nodes_atom::value)
    .receive(
      [&](std::vector<char>& b) {
        bytes = std::move(b);
      },
      [&](const caf::error& err) {
        throw error("the cluster link did not answer: " +
                    impl_->sys->render(err));
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
    for (auto& [job, hold] : n.held) {
      info.resources_by_job[job] = hold.resources;
      info.tasks_by_job[job] = hold.tasks;
    }
    info.object_store_used = n.object_store_used;
    info.object_store_capacity = n.object_store_capacity;
    info.task_actors_spawned = n.task_actors_spawned;
    info.task_executions = n.task_executions;
    result.push_back(std::move(info));
  }
  return result;
}

// Placement groups. The caller picks the group's id, so that a create
// needs no answer: where this process runs a GCS that keeps its tables in
// memory (the embedded cluster), creates and removes are one-way messages
// and `wait` reads the states the GCS publishes (pg_board.hpp): no round
// trip, no blocked scoped_actor. A GCS that writes its tables to disk
// answers each create and remove once the write is done; a node without a
// GCS asks the head for all three.

std::string embedded_runtime::create_placement_group(
  const std::vector<std::map<std::string, double>>& bundles,
  std::uint8_t strategy, const std::string& name) {
  if (bundles.empty())
    throw error("lumen::create_placement_group: no bundles");
  for (auto& b : bundles) {
    if (resource_set::from_doubles(b).empty())
      throw error("lumen::create_placement_group: an empty bundle");
  }
  if (strategy > static_cast<std::uint8_t>(pg_strategy_kind::strict_spread))
    throw error("lumen::create_placement_group: unknown strategy " +
                std::to_string(strategy));
  auto id = task_id::random().to_string();
  // A named group is unique in its namespace: the GCS must answer.
  auto key = pg_name_key(current_ns(), name);
  if (impl_->pgs_one_way && key.empty()) {
    // Messages from one thread arrive in the order sent, so a remove or a
    // wait sent after this finds the group created.
    impl_->pgs->announce(id);
    caf::anon_send(impl_->gcs, pg_create_atom::value, id, key, strategy,
                   bundles);
    return id;
  }
  ask_gcs<std::string>(*impl_->sys, impl_->any_gcs(),
                       "lumen::create_placement_group", gcs_timeout,
                       pg_create_atom::value, id, key, strategy, bundles);
  return id;
}

bool embedded_runtime::wait_placement_group(const std::string& id,
                                            std::chrono::nanoseconds timeout) {
  if (impl_->pgs)
    return impl_->pgs->wait(id, timeout);
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
  if (impl_->pgs_one_way) {
    impl_->pgs->withdraw(id);
    caf::anon_send(impl_->gcs, pg_remove_atom::value, id);
    return;
  }
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

} // namespace lumen::detail

namespace lumen::detail {

std::array<std::uint64_t, 4> embedded_runtime::borrow_stats() {
  std::array<std::uint64_t, 4> result{};
  caf_thread_guard guard;
  caf::scoped_actor self{*impl_->sys};
  self->request(impl_->store, caf::infinite, borrow_stats_atom::value)
    .receive(
      [&](std::uint64_t lent, std::uint64_t lent_regs, std::uint64_t borrowed,
          std::uint64_t borrows) {
        result = {lent, lent_regs, borrowed, borrows};
      },
      [&](const caf::error& err) {
        throw error("the object store did not answer: " +
                    impl_->sys->render(err));
      });
  return result;
}

} // namespace lumen::detail

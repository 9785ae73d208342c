// gcs: node registration, heartbeats, failure detection, view pushes.
#include "actors/gcs.hpp"

#include <iostream>
#include <map>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "cluster/cluster_types.hpp"
#include "cluster/kv_table.hpp"
#include "cluster/node_table.hpp"
#include "cluster/pg_planner.hpp"
#include "cluster/spill_policy.hpp"
#include "lumen/error.hpp"

namespace lumen {

namespace {

std::vector<char> to_bytes(const detail::byte_buffer& buf) {
  return std::vector<char>(buf.data(), buf.data() + buf.size());
}

/// One placement group.
struct group {
  std::string name;
  detail::pg_strategy_kind strategy = detail::pg_strategy_kind::pack;
  std::vector<std::map<std::string, double>> bundles;
  /// Node id per bundle once placed.
  std::vector<std::string> nodes;
  bool placed = false;
  std::vector<caf::typed_response_promise<bool>> waiters;
  std::string last_reason;
};

/// One actor as the GCS knows it.
struct actor_row {
  std::string name;
  std::string ns;
  std::uint64_t class_hash = 0;
  caf::actor host;
  bool alive = true;
};

struct gcs_state {
  detail::node_table nodes;
  std::map<std::string, actor_row> actors;
  std::map<std::pair<std::string, std::string>, std::string> actor_names;
  std::map<std::string, group> groups;
  detail::kv_table kv;
  /// Node managers by node id, for pushes and for the view's handles.
  std::map<std::string, caf::actor> managers;
  /// Node id by the manager's address, to name the node of a down message.
  std::map<caf::actor_addr, std::string> by_addr;
  std::uint64_t pushed_version = 0;
  gcs_timing timing;
  const char* name = "lumen.gcs";
};

using self_ptr = gcs_actor::stateful_pointer<gcs_state>;

/// The view and the node managers in the same order (null for dead nodes).
std::pair<std::vector<char>, std::vector<caf::actor>> view_of(self_ptr self) {
  auto& st = self->state;
  auto view = st.nodes.view();
  std::vector<caf::actor> handles;
  for (auto& n : view.nodes) {
    auto i = st.managers.find(n.id);
    handles.push_back(n.alive && i != st.managers.end() ? i->second
                                                        : caf::actor{});
  }
  return {to_bytes(detail::encode_cluster_view(view)), std::move(handles)};
}

void push_view(self_ptr self) {
  auto& st = self->state;
  if (st.pushed_version == st.nodes.version())
    return;
  st.pushed_version = st.nodes.version();
  auto [bytes, handles] = view_of(self);
  for (auto& h : handles)
    if (h)
      caf::anon_send(h, view_atom::value, bytes, handles);
}

/// Places pending placement groups the nodes' last reported free
/// resources allow, oldest first.
void place_groups(self_ptr self) {
  auto& st = self->state;
  auto view = st.nodes.view();
  std::vector<detail::node_capacity> caps;
  for (auto& n : view.nodes)
    caps.push_back({n.id, n.alive && st.managers.count(n.id) > 0,
                    detail::resource_set::from_doubles(n.total),
                    detail::resource_set::from_doubles(n.available)});
  for (auto& [id, g] : st.groups) {
    if (g.placed)
      continue;
    std::vector<detail::resource_set> bundles;
    for (auto& b : g.bundles)
      bundles.push_back(detail::resource_set::from_doubles(b));
    auto plan = detail::plan_placement_group(bundles, g.strategy, caps);
    if (plan.kind != detail::pg_plan_result::placed) {
      if (plan.kind == detail::pg_plan_result::infeasible &&
          plan.reason != g.last_reason)
        std::cerr << "lumen: gcs: placement group " << id
                  << " cannot be placed on the current nodes: " << plan.reason
                  << '\n';
      g.last_reason = plan.reason;
      continue;
    }
    g.nodes = plan.nodes;
    g.placed = true;
    for (std::size_t i = 0; i < g.bundles.size(); ++i) {
      caf::anon_send(st.managers.at(g.nodes[i]), reserve_atom::value, id,
                     static_cast<std::uint64_t>(i), g.bundles[i]);
      // Until the node's next heartbeat says so, count it here.
      for (auto& c : caps)
        if (c.id == g.nodes[i])
          c.available -= bundles[i];
    }
    for (auto& w : g.waiters)
      w.deliver(true);
    g.waiters.clear();
  }
}

void node_dead(self_ptr self, const std::string& id, const char* why) {
  auto& st = self->state;
  if (!st.nodes.mark_dead(id))
    return;
  std::cerr << "lumen: gcs: node " << id << " is dead (" << why << ")\n";
  if (auto i = st.managers.find(id); i != st.managers.end()) {
    st.by_addr.erase(i->second.address());
    st.managers.erase(i);
  }
  push_view(self);
}

gcs_actor::behavior_type gcs(self_ptr self, gcs_timing timing) {
  self->state.timing = timing;
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (auto i = st.by_addr.find(msg.source); i != st.by_addr.end())
      node_dead(self, i->second, "connection lost");
  });
  self->send(self, tick_atom::value);
  return {
    [self](register_atom, const std::vector<char>& bytes, caf::actor manager)
      -> caf::result<std::vector<char>, std::vector<caf::actor>> {
      auto& st = self->state;
      detail::node_record rec;
      try {
        rec = detail::decode_node_record(bytes.data(), bytes.size());
      } catch (const std::exception& e) {
        std::cerr << "lumen: gcs: rejected a registration: " << e.what()
                  << '\n';
        return caf::make_error(caf::sec::invalid_argument, e.what());
      }
      auto id = rec.id;
      if (!st.nodes.update(std::move(rec), detail::node_table::clock::now()))
        return caf::make_error(caf::sec::invalid_argument,
                               "node " + id + " was declared dead");
      if (manager) {
        self->monitor(manager);
        st.by_addr[manager.address()] = id;
        st.managers[id] = manager;
      }
      auto result = view_of(self);
      push_view(self);
      return {std::move(result.first), std::move(result.second)};
    },
    [self](heartbeat_atom, const std::vector<char>& bytes) {
      detail::node_record rec;
      try {
        rec = detail::decode_node_record(bytes.data(), bytes.size());
      } catch (const std::exception& e) {
        std::cerr << "lumen: gcs: dropped a heartbeat: " << e.what() << '\n';
        return;
      }
      if (!self->state.managers.count(rec.id))
        return; // unknown or dead: it must register first
      self->state.nodes.update(std::move(rec),
                               detail::node_table::clock::now());
    },
    [self](view_atom) {
      return to_bytes(detail::encode_cluster_view(self->state.nodes.view()));
    },
    [self](pg_create_atom, const std::string& name, std::uint8_t strategy,
           const std::vector<std::map<std::string, double>>& bundles)
      -> caf::result<std::string> {
      auto& st = self->state;
      if (strategy >
          static_cast<std::uint8_t>(detail::pg_strategy_kind::strict_spread))
        return caf::make_error(caf::sec::invalid_argument,
                               "unknown placement strategy");
      try {
        std::vector<detail::resource_set> check;
        for (auto& b : bundles)
          check.push_back(detail::resource_set::from_doubles(b));
        if (check.empty())
          throw error("a placement group needs at least one bundle");
        for (auto& b : check)
          if (b.empty())
            throw error("a bundle must ask for some resource");
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::invalid_argument, e.what());
      }
      auto id = task_id::random().to_string();
      auto& g = st.groups[id];
      g.name = name;
      g.strategy = static_cast<detail::pg_strategy_kind>(strategy);
      g.bundles = bundles;
      place_groups(self);
      return id;
    },
    [self](pg_wait_atom, const std::string& id) -> caf::result<bool> {
      auto& st = self->state;
      auto i = st.groups.find(id);
      if (i == st.groups.end())
        return false;
      if (i->second.placed)
        return true;
      auto promise = self->make_response_promise<bool>();
      i->second.waiters.push_back(promise);
      return promise;
    },
    [self](pg_remove_atom, const std::string& id) {
      auto& st = self->state;
      auto i = st.groups.find(id);
      if (i == st.groups.end())
        return false;
      auto& g = i->second;
      if (g.placed)
        for (std::size_t b = 0; b < g.bundles.size(); ++b)
          if (auto m = st.managers.find(g.nodes[b]); m != st.managers.end())
            caf::anon_send(m->second, unreserve_atom::value, id,
                           static_cast<std::uint64_t>(b), g.bundles[b]);
      for (auto& w : g.waiters)
        w.deliver(false);
      st.groups.erase(i);
      return true;
    },
    [self](actor_add_atom, const std::string& id, const std::string& name,
           const std::string& ns, std::uint64_t class_hash, caf::actor host) {
      auto& st = self->state;
      if (!name.empty()) {
        auto [i, added] = st.actor_names.emplace(std::make_pair(ns, name), id);
        if (!added && i->second != id)
          return false;
      }
      st.actors[id] = actor_row{name, ns, class_hash, std::move(host), true};
      return true;
    },
    [self](actor_dead_atom, const std::string& id) {
      auto& st = self->state;
      auto i = st.actors.find(id);
      if (i == st.actors.end())
        return;
      auto key = std::make_pair(i->second.ns, i->second.name);
      if (auto j = st.actor_names.find(key);
          j != st.actor_names.end() && j->second == id)
        st.actor_names.erase(j);
      st.actors.erase(i);
    },
    [self](actor_find_atom, const std::string& name, const std::string& ns)
      -> caf::result<std::string, std::uint64_t, caf::actor> {
      auto& st = self->state;
      auto i = st.actor_names.find({ns, name});
      if (i == st.actor_names.end())
        return {std::string{}, std::uint64_t{0}, caf::actor{}};
      auto& row = st.actors.at(i->second);
      return {i->second, row.class_hash, row.host};
    },
    [self](actor_get_atom, const std::string& id)
      -> caf::result<std::uint64_t, caf::actor, bool> {
      auto& st = self->state;
      auto i = st.actors.find(id);
      if (i == st.actors.end())
        return {std::uint64_t{0}, caf::actor{}, false};
      return {i->second.class_hash, i->second.host, i->second.alive};
    },
    [self](kv_put_atom, const std::string& ns, const std::string& key,
           std::string& value, bool overwrite) -> caf::result<bool> {
      try {
        return self->state.kv.put(ns, key, std::move(value), overwrite);
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::invalid_argument, e.what());
      }
    },
    [self](kv_get_atom, const std::string& ns,
           const std::string& key) -> caf::result<bool, std::string> {
      try {
        auto v = self->state.kv.get(ns, key);
        return {v.has_value(), v.value_or(std::string{})};
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::invalid_argument, e.what());
      }
    },
    [self](kv_del_atom, const std::string& ns,
           const std::string& key) -> caf::result<bool> {
      try {
        return self->state.kv.del(ns, key);
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::invalid_argument, e.what());
      }
    },
    [self](kv_keys_atom, const std::string& ns,
           const std::string& prefix) -> caf::result<std::vector<std::string>> {
      try {
        return self->state.kv.keys(ns, prefix);
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::invalid_argument, e.what());
      }
    },
    [self](tick_atom) {
      auto& st = self->state;
      for (auto& id : st.nodes.expire(detail::node_table::clock::now(),
                                      st.timing.node_timeout))
        node_dead(self, id, "heartbeats stopped");
      place_groups(self);
      push_view(self);
      self->delayed_send(self, st.timing.tick, tick_atom::value);
    },
  };
}

} // namespace

gcs_actor make_gcs(caf::actor_system& sys, gcs_timing timing) {
  return sys.spawn(gcs, timing);
}

} // namespace lumen

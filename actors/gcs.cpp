// gcs: node registration, heartbeats, failure detection, view pushes.
#include "actors/gcs.hpp"

#include <iostream>
#include <map>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "cluster/cluster_types.hpp"
#include "cluster/node_table.hpp"

namespace lumen {

namespace {

std::vector<char> to_bytes(const detail::byte_buffer& buf) {
  return std::vector<char>(buf.data(), buf.data() + buf.size());
}

struct gcs_state {
  detail::node_table nodes;
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
    [self](register_atom, const std::vector<char>& bytes,
           caf::actor manager)
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
    [self](tick_atom) {
      auto& st = self->state;
      for (auto& id : st.nodes.expire(detail::node_table::clock::now(),
                                      st.timing.node_timeout))
        node_dead(self, id, "heartbeats stopped");
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

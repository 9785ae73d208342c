// cluster_link: membership (join, heartbeats, views) and the behavior (see
// cluster_link.hpp). Tasks across nodes: cluster_link_tasks.cpp.
#include "actors/cluster_link.hpp"

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/cluster_link_state.hpp"
#include "actors/gcs.hpp"
#include "gcs/declared_dead.hpp"
#include "log/log.hpp"

namespace lumen {

namespace detail_cluster_link {

namespace {

constexpr auto heartbeat_interval = std::chrono::milliseconds{500};

std::vector<char> to_vector(const detail::byte_buffer& buf) {
  return std::vector<char>(buf.data(), buf.data() + buf.size());
}

/// Sends this node's record to the GCS: the heartbeat that keeps the node
/// alive there and publishes its load.
void send_heartbeat(self_ptr self) {
  auto& st = self->state;
  auto rec = to_vector(detail::encode_node_record(own_record(st)));
  self->send(caf::actor_cast<gcs_actor>(st.gcs), heartbeat_atom::value,
             std::move(rec));
}

/// Pushes the peers' capacity (and the GCS) to the scheduler, which places
/// work on its copy.
void push_capacity(self_ptr self) {
  auto& st = self->state;
  auto view = std::make_shared<detail::cluster_capacity>();
  view->gcs = st.gcs;
  view->clustered =
    st.gcs && !(st.peers.empty() && st.identity.address.empty());
  for (auto& [id, p] : st.peers) {
    view->peers.push_back(
      {id, p.rec.alive, detail::resource_set::from_doubles(p.rec.total),
       detail::resource_set::from_doubles(p.rec.available)});
    view->links.push_back(caf::actor_cast<caf::actor>(p.link));
  }
  self->send(st.scheduler, view_atom::value,
             detail::cluster_capacity_ptr{std::move(view)});
}

/// Applies a view from the GCS: peers, their stores, direct connections,
/// the scheduler's copy, and tasks lost with their node.
void apply_view(self_ptr self, const std::vector<char>& bytes,
                const std::vector<caf::actor>& links,
                const std::vector<caf::actor>& stores) {
  auto& st = self->state;
  detail::cluster_view view;
  try {
    view = detail::decode_cluster_view(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    detail::log_warn("dropped a bad cluster view: ", e.what());
    return;
  }
  auto before = std::move(st.peers);
  st.peers.clear();
  detail::peer_map stores_by_id;
  for (std::size_t i = 0; i < view.nodes.size(); ++i) {
    auto& rec = view.nodes[i];
    if (rec.id == st.identity.id) {
      if (!rec.alive) // the GCS's notice (gcs.cpp, tell_dead)
        detail::declared_dead(rec.id, "its cluster view says so");
      continue;
    }
    peer p;
    if (i < links.size() && rec.alive) {
      auto m = links[i];
      // After a head restart the GCS lists a node it has not heard from
      // again without a handle: the one of the last view still reaches it.
      if (auto j = before.find(rec.id); !m && j != before.end())
        m = caf::actor_cast<caf::actor>(j->second.link);
      auto s = i < stores.size() ? stores[i] : caf::actor{};
      if (auto j = before.find(rec.id); !s && j != before.end())
        s = j->second.store;
      if (m) {
        p.link = caf::actor_cast<cluster_link_actor>(m);
        p.store = s;
        stores_by_id[rec.id] = detail::peer_store{m, s, rec.bulk_address};
      }
    }
    p.rec = std::move(rec);
    st.peers.emplace(p.rec.id, std::move(p));
  }
  for (auto& [id, old] : before) {
    auto now = st.peers.find(id);
    bool alive = now != st.peers.end() && now->second.rec.alive;
    if (old.rec.alive && !alive) {
      detail::log_info("node ", id, " is gone: the GCS declared it dead");
      if (old.rec.driver) // its job ended: its work here is cancelled
        self->send(st.scheduler, cancel_atom::value, id);
    } else if (!old.rec.alive && alive)
      detail::log_debug("node ", id, " is alive again");
  }
  link_peers(self);
  self->send(st.store, peers_atom::value, std::move(stores_by_id));
  // The copy first, so that lost tasks are placed on it.
  push_capacity(self);
  resend_lost(self);
  auto waiting = std::move(st.unreachable);
  st.unreachable.clear();
  for (auto& t : waiting)
    self->send(st.scheduler, retry_atom::value, std::move(t));
}

/// The view with this node's record as `st` holds it.
std::vector<char> view_bytes(const cluster_link_state& st) {
  detail::cluster_view view;
  view.nodes.push_back(own_record(st));
  for (auto& kv : st.peers)
    view.nodes.push_back(kv.second.rec);
  return to_vector(detail::encode_cluster_view(view));
}

cluster_link_actor::behavior_type
cluster_link(self_ptr self, detail::node_record identity,
             detail::object_table* table, object_store_actor store,
             scheduler_actor scheduler, reconstruction_actor reconstruction,
             lineage_setup lineage) {
  auto& st = self->state;
  st.identity = std::move(identity);
  st.table = table;
  st.store = std::move(store);
  st.scheduler = std::move(scheduler);
  st.reconstruction = std::move(reconstruction);
  st.lineage = std::move(lineage);
  return {
    [=](join_atom, caf::actor gcs,
        const std::vector<char>& who) -> caf::typed_response_promise<bool> {
      auto promise = self->make_response_promise<bool>();
      try {
        auto rec = detail::decode_node_record(who.data(), who.size());
        auto& id = self->state.identity;
        id.address = rec.address;
        id.head = rec.head;
        id.driver = rec.driver;
      } catch (const std::exception& e) {
        promise.deliver(caf::make_error(caf::sec::invalid_argument, e.what()));
        return promise;
      }
      auto fail = [=](caf::error& err) mutable {
        promise.deliver(err);
      };
      // The record it registers with carries the scheduler's resources.
      self
        ->request(self->state.scheduler, std::chrono::seconds(10),
                  stats_atom::value)
        .then(
          [=](detail::node_stats& load) mutable {
            auto& st = self->state;
            st.load = std::move(load);
            auto g = caf::actor_cast<gcs_actor>(gcs);
            auto rec = to_vector(detail::encode_node_record(own_record(st)));
            self
              ->request(g, std::chrono::seconds(10), register_atom::value, rec,
                        caf::actor_cast<caf::actor>(self),
                        caf::actor_cast<caf::actor>(st.store))
              .then(
                [=](std::vector<char>& view, std::vector<caf::actor>& links,
                    std::vector<caf::actor>& stores) mutable {
                  self->state.gcs = gcs;
                  self->send(self->state.reconstruction, join_atom::value, gcs);
                  apply_view(self, view, links, stores);
                  self->send(self, tick_atom::value);
                  promise.deliver(true);
                },
                fail);
          },
          fail);
      return promise;
    },
    [=](view_atom, const std::vector<char>& bytes,
        const std::vector<caf::actor>& links,
        const std::vector<caf::actor>& stores) {
      apply_view(self, bytes, links, stores);
    },
    [=](tick_atom) {
      auto& st = self->state;
      if (!st.gcs)
        return;
      // With the scheduler's fresh load when it answers in time, else with
      // the last one: a busy scheduler never holds back the heartbeat.
      self->request(st.scheduler, heartbeat_interval, stats_atom::value)
        .then(
          [=](detail::node_stats& load) {
            self->state.load = std::move(load);
            send_heartbeat(self);
          },
          [=](caf::error&) {
            send_heartbeat(self);
          });
      self->delayed_send(self, heartbeat_interval, tick_atom::value);
    },
    [=](nodes_atom) -> caf::typed_response_promise<std::vector<char>> {
      auto promise = self->make_response_promise<std::vector<char>>();
      self
        ->request(self->state.scheduler, std::chrono::seconds(10),
                  stats_atom::value)
        .then(
          [=](detail::node_stats& load) mutable {
            self->state.load = std::move(load);
            promise.deliver(view_bytes(self->state));
          },
          [=](caf::error&) mutable {
            promise.deliver(view_bytes(self->state));
          });
      return promise;
    },
    [=](spillback_atom, detail::task_ptr task, const std::string& node) {
      send_to_peer(self, std::move(task), node);
    },
    [=](spillback_atom, caf::actor owner, const std::vector<char>& bytes) {
      on_spillback(self, std::move(owner), bytes);
    },
    [=](cancel_atom, const task_id& id, bool force, bool recursive) {
      on_cancel(self, id, force, recursive);
    },
    [=](cancel_atom, std::uint64_t hi, std::uint64_t lo, bool force,
        bool recursive) {
      on_peer_cancel(self, task_id{hi, lo}, force, recursive);
    },
    [=](result_atom, const std::vector<char>& bytes) {
      on_result(self, bytes);
    },
    // Streaming generators (scheduling/stream_channel.hpp).
    [=](stream_atom, const std::vector<char>& batch, const caf::actor& from) {
      detail::on_stream_items(batch, *self->state.table, from);
    },
    [=](stream_ack_atom, const std::vector<char>& ack) {
      detail::on_stream_ack(ack);
    },
    [=](stream_flush_atom, const detail::stream_channel_ptr& channel) {
      if (channel)
        channel->flush();
    },
    [=](spawn_atom, caf::actor forwarder, caf::actor owner,
        const std::vector<char>& spec_bytes,
        const std::vector<char>& option_bytes) -> caf::result<caf::actor> {
      return on_spawn(self, std::move(forwarder), std::move(owner), spec_bytes,
                      option_bytes);
    },
    [=](reserve_atom, const std::string& pg, std::uint64_t index,
        const std::map<std::string, double>& bundle) {
      self->send(self->state.scheduler, reserve_atom::value, pg, index, bundle);
    },
    [=](unreserve_atom, const std::string& pg, std::uint64_t index,
        const std::map<std::string, double>& bundle) {
      self->send(self->state.scheduler, unreserve_atom::value, pg, index,
                 bundle);
    },
  };
}

} // namespace

detail::node_record own_record(const cluster_link_state& st) {
  detail::node_record rec;
  rec.id = st.identity.id;
  rec.address = st.identity.address;
  rec.bulk_address = st.identity.bulk_address;
  rec.head = st.identity.head;
  rec.driver = st.identity.driver;
  rec.total = st.load.total;
  rec.available = st.load.available;
  for (auto& [k, v] : rec.available)
    if (v < 0)
      v = 0;
  auto objs = st.table->memory_use(); // no walk over every entry
  rec.object_store_used = objs.used_bytes;
  rec.object_store_capacity = objs.capacity_bytes;
  rec.infeasible = st.load.infeasible_shapes;
  if (st.load.actors > 0)
    rec.actors["alive"] = st.load.actors;
  if (st.load.pending_actors > 0)
    rec.actors["pending"] = st.load.pending_actors;
  rec.task_actors_spawned = st.load.task_actors_spawned;
  rec.task_executions = st.load.task_executions;
  rec.held = st.load.held;
  return rec;
}

} // namespace detail_cluster_link

cluster_link_actor
make_cluster_link(caf::actor_system& sys, detail::node_record identity,
                  detail::object_table* table, object_store_actor store,
                  scheduler_actor scheduler,
                  reconstruction_actor reconstruction, lineage_setup lineage) {
  return sys.spawn(detail_cluster_link::cluster_link, std::move(identity),
                   table, std::move(store), std::move(scheduler),
                   std::move(reconstruction), std::move(lineage));
}

} // namespace lumen

// gcs: node registration, heartbeats, failure detection, view pushes,
// loading the tables at start; the other tables are in gcs_tables.cpp.
#include "actors/gcs.hpp"

#include <exception>
#include <map>
#include <string>

#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/gcs_state.hpp"
#include "log/log.hpp"
#include "lumen/error.hpp"
#include "wire/cluster_types.hpp"

namespace lumen {

namespace detail_gcs {

namespace {

std::vector<char> to_bytes(const detail::byte_buffer& buf) {
  return std::vector<char>(buf.data(), buf.data() + buf.size());
}

/// The view, with the cluster links and the object stores in the same
/// order (null for dead nodes and for nodes loaded from the store that have
/// not registered again).
struct view_handles {
  std::vector<char> bytes;
  std::vector<caf::actor> managers;
  std::vector<caf::actor> stores;
};

view_handles view_of(self_ptr self) {
  auto& st = self->state;
  auto view = st.nodes.view();
  view_handles out;
  for (auto& n : view.nodes) {
    auto i = st.managers.find(n.id);
    bool known = n.alive && i != st.managers.end();
    out.managers.push_back(known ? i->second : caf::actor{});
    auto j = st.stores.find(n.id);
    out.stores.push_back(known && j != st.stores.end() ? j->second
                                                       : caf::actor{});
  }
  out.bytes = to_bytes(detail::encode_cluster_view(view));
  return out;
}

/// Writes node `id`'s row; throws lumen::error when that fails.
void save_node(self_ptr self, const std::string& id) {
  auto& st = self->state;
  if (auto* rec = st.nodes.find(id))
    st.store.put_node(detail::stored_node{st.nodes.order(id), *rec});
}

void forget_manager(self_ptr self, const std::string& id) {
  auto& st = self->state;
  if (auto i = st.managers.find(id); i != st.managers.end()) {
    st.by_addr.erase(i->second.address());
    st.by_caf_node.erase(i->second.node());
    st.managers.erase(i);
  }
  st.stores.erase(id);
}

/// The connection to node `id` dropped: its handles go from the views (a
/// handle of a node the head cannot reach would route messages through
/// the head, which drops them), until it registers again.
void drop_handles(self_ptr self, const std::string& id) {
  auto& st = self->state;
  if (auto i = st.managers.find(id); i != st.managers.end()) {
    st.by_addr.erase(i->second.address());
    st.managers.erase(i);
  }
  st.stores.erase(id);
  ++st.handles_version;
}

/// How often a node declared dead whose heartbeats still come is told so.
constexpr auto notice_interval = std::chrono::seconds{1};

/// Tells node `id`'s manager that it is dead: the view in which it is, which
/// its cluster link acts on (cluster_link.cpp, declared_dead.hpp).
void tell_dead(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto i = st.declared.find(id);
  if (i == st.declared.end() || !i->second)
    return;
  auto now = detail::node_table::clock::now();
  if (auto j = st.noticed.find(id);
      j != st.noticed.end() && now - j->second < notice_interval)
    return;
  st.noticed[id] = now;
  auto v = view_of(self);
  caf::anon_send(i->second, view_atom::value, std::move(v.bytes),
                 std::move(v.managers), std::move(v.stores));
}

void node_dead(self_ptr self, const std::string& id, const std::string& why) {
  auto& st = self->state;
  st.detector.forget(id);
  if (!st.nodes.mark_dead(id))
    return;
  detail::log_warn("gcs: node ", id, " is dead (", why, ")");
  try {
    save_node(self, id);
  } catch (const std::exception& e) {
    detail::log_error("gcs: ", e.what());
  }
  if (auto i = st.managers.find(id); i != st.managers.end())
    st.declared[id] = i->second;
  tell_dead(self, id);
  forget_manager(self, id);
  st.owners.erase(id);
  st.rejoined.erase(id);
  drop_actors_of(self, id);
  push_view(self);
}

/// Logs a refused heartbeat, at most once per notice_interval per claimed
/// node id (a peer that keeps forging must not flood the log).
void refuse_heartbeat(self_ptr self, const std::string& id,
                      const std::string& why) {
  auto& st = self->state;
  auto now = detail::node_table::clock::now();
  if (auto i = st.refusals.find(id);
      i != st.refusals.end() && now - i->second < notice_interval)
    return;
  st.refusals[id] = now;
  auto& sender = self->current_sender();
  detail::log_warn("gcs: refused a heartbeat for node ", id, " from ",
                   sender ? "CAF node " + to_string(sender->node())
                          : std::string{"an anonymous sender"},
                   ": ", why);
}

void on_heartbeat(self_ptr self, const std::vector<char>& bytes) {
  auto& st = self->state;
  detail::node_record rec;
  try {
    rec = detail::decode_node_record(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    detail::log_warn("gcs: dropped a heartbeat: ", e.what());
    return;
  }
  // Only the process that registered a node speaks for it: its heartbeats
  // come from the CAF node of its manager (a gcs_client there relays
  // them; the gatekeeper delegates, keeping the sender).
  auto& sender = self->current_sender();
  auto i = st.owners.find(rec.id);
  if (i == st.owners.end()) {
    auto d = st.declared.find(rec.id);
    if (d != st.declared.end() && sender && d->second &&
        sender->node() == d->second.node())
      tell_dead(self, rec.id);
    else if (st.nodes.find(rec.id) != nullptr)
      refuse_heartbeat(self, rec.id, "the node is not registered");
    return; // unknown or dead: it must register first
  }
  if (!sender || sender->node() != i->second) {
    refuse_heartbeat(self, rec.id,
                     "another process registered that node (a forged "
                     "heartbeat or a stolen node id)");
    return;
  }
  if (auto* known = st.nodes.find(rec.id);
      known != nullptr &&
      (known->head != rec.head || known->driver != rec.driver)) {
    refuse_heartbeat(self, rec.id,
                     "it changes the node's role (head or driver)");
    return;
  }
  auto now = detail::node_table::clock::now();
  bool was_suspected = st.detector.suspected(rec.id);
  st.detector.heartbeat(rec.id, now);
  if (was_suspected)
    detail::log_info("gcs: node ", rec.id, " is heard from again");
  st.nodes.update(std::move(rec), now);
}

caf::result<std::vector<char>, std::vector<caf::actor>, std::vector<caf::actor>>
on_register(self_ptr self, const std::vector<char>& bytes, caf::actor manager,
            caf::actor store) {
  auto& st = self->state;
  detail::node_record rec;
  try {
    rec = detail::decode_node_record(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    detail::log_warn("gcs: rejected a registration: ", e.what());
    return caf::make_error(caf::sec::invalid_argument, e.what());
  }
  auto id = rec.id;
  auto now = detail::node_table::clock::now();
  // A node is registered by its own process: the manager it names lives
  // where the request comes from, and a node id registered by another
  // live process is not taken over.
  auto& sender = self->current_sender();
  auto refuse = [&](const std::string& why) {
    detail::log_warn("gcs: refused the registration of node ", id, " from ",
                     sender ? "CAF node " + to_string(sender->node())
                            : std::string{"an anonymous sender"},
                     ": ", why);
    return caf::make_error(caf::sec::invalid_argument,
                           "node " + id + " " + why);
  };
  if (manager && (!sender || sender->node() != manager.node()))
    return refuse("names a cluster link of another process");
  if (auto i = st.owners.find(id); manager && i != st.owners.end() &&
                                   i->second != manager.node() &&
                                   st.nodes.alive(id))
    return refuse("is registered by another process");
  // A node loaded from the store that comes back announces its actors
  // right after this (gcs_client); rows it leaves out end later.
  bool rejoin = st.nodes.find(id) != nullptr && st.managers.count(id) == 0;
  if (!st.nodes.update(std::move(rec), now))
    return refuse("was declared dead");
  // A node of this very process (the head's own, the embedded cluster's)
  // runs as long as this does: never suspected.
  st.detector.watch(id, now, manager && manager.node() == self->node());
  if (rejoin)
    st.rejoined[id] = now;
  try {
    save_node(self, id);
  } catch (const std::exception& e) {
    // Node rows are repaired by registering again (gcs_store.hpp): a full
    // disk must not keep nodes out of the cluster.
    detail::log_error("gcs: node ", id,
                      " registered without its row: ", e.what());
  }
  if (manager) {
    forget_manager(self, id); // a node registering again (head restart)
    self->monitor(manager);
    st.by_addr[manager.address()] = id;
    st.by_caf_node[manager.node()] = id;
    st.managers[id] = manager;
    st.owners[id] = manager.node();
    ++st.handles_version; // its handles may be new: every node gets them
    if (store)
      st.stores[id] = std::move(store);
  }
  detail::log_info("gcs: node ", id, rejoin ? " is back" : " registered");
  auto result = view_of(self);
  push_view(self);
  return {std::move(result.bytes), std::move(result.managers),
          std::move(result.stores)};
}

/// Fills the tables from the store (nothing for a fresh or memory-only
/// store) and says what came back.
void load(self_ptr self, detail::gcs_snapshot& snap) {
  auto& st = self->state;
  for (auto& why : snap.skipped)
    detail::log_warn("gcs: skipped an unreadable row ", why);
  auto now = detail::node_table::clock::now();
  std::size_t recovering = 0;
  for (auto& n : snap.nodes) {
    auto id = n.rec.id;
    // This process is the head now: the head that wrote the row is gone.
    bool previous_head = n.rec.head && n.rec.alive;
    if (n.rec.alive && !previous_head)
      ++recovering;
    bool recovering_node = n.rec.alive && !previous_head;
    st.nodes.restore(std::move(n.rec), n.order, now);
    if (recovering_node)
      st.detector.watch(id, now); // dead like any other if it stays away
    if (previous_head) {
      st.nodes.mark_dead(id);
      try {
        save_node(self, id);
      } catch (const std::exception& e) {
        detail::log_error("gcs: ", e.what());
      }
    }
  }
  restore_tables(self, snap);
  if (st.store.durable() &&
      (!snap.nodes.empty() || !st.actors.empty() || !st.groups.empty() ||
       st.kv.size() > 0 || st.store.lineage_count() > 0))
    detail::log_info(
      "gcs: loaded the tables of ", st.store.path(), ": ", snap.nodes.size(),
      " nodes (", recovering, " recovering), ", st.actors.size(), " actors, ",
      st.groups.size(), " placement groups, ", st.kv.size(),
      " key-value rows, ", st.store.lineage_count(), " lineage rows");
}

gcs_actor::behavior_type gcs(self_ptr self, gcs_timing timing,
                             detail::gcs_store store, detail::gcs_snapshot snap,
                             std::shared_ptr<detail::pg_board> board) {
  self->state.timing = timing;
  self->state.detector = detail::failure_detector{timing.failure};
  self->state.store = std::move(store);
  self->state.board = std::move(board);
  load(self, snap);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.by_addr.find(msg.source);
    if (i == st.by_addr.end() || !st.nodes.alive(i->second))
      return;
    // Dead at once (a process that died closes its connections; CAF cuts
    // off a hung one after 5 s), except after a stall of this process:
    // then the connections may have dropped because it did not answer,
    // and the node has the grace to register again (its gcs_client
    // reconnects at once).
    auto id = i->second;
    // The handle of before a re-registration has the same address as the
    // new one: only the current one's down counts.
    if (auto m = st.managers.find(id);
        m != st.managers.end() && caf::actor_cast<caf::actor_control_block*>(
                                    m->second) != msg.source.get())
      return;
    if (st.detector.connection_lost(id, detail::node_table::clock::now())) {
      node_dead(self, id, "connection lost");
      return;
    }
    detail::log_info("gcs: lost the connection to node ", id,
                     "; suspected, it may register again");
    drop_handles(self, id);
    push_view(self);
  });
  self->send(self, tick_atom::value);
  return {
    [self](register_atom, const std::vector<char>& bytes, caf::actor manager,
           caf::actor store) {
      return on_register(self, bytes, std::move(manager), std::move(store));
    },
    [self](heartbeat_atom, const std::vector<char>& bytes) {
      on_heartbeat(self, bytes);
    },
    [self](view_atom) {
      return to_bytes(detail::encode_cluster_view(self->state.nodes.view()));
    },
    [self](pg_create_atom, const std::string& id, const std::string& name,
           std::uint8_t strategy,
           const std::vector<std::map<std::string, double>>& bundles) {
      return on_pg_create(self, id, name, strategy, bundles);
    },
    [self](pg_wait_atom, const std::string& id) {
      return on_pg_wait(self, id);
    },
    [self](pg_remove_atom, const std::string& id) {
      return on_pg_remove(self, id);
    },
    [self](pg_find_atom, const std::string& id, const std::string& name) {
      return on_pg_find(self, id, name);
    },
    [self](actor_add_atom, const std::string& id, const std::string& name,
           const std::string& ns, std::uint64_t class_hash, caf::actor host,
           bool detached) {
      return on_actor_add(self, id, name, ns, class_hash, std::move(host),
                          detached);
    },
    [self](actor_dead_atom, const std::string& id,
           const caf::actor_addr& host) {
      on_actor_dead(self, id, host);
    },
    [self](actor_find_atom, const std::string& name, const std::string& ns) {
      return on_actor_find(self, name, ns);
    },
    [self](actor_get_atom, const std::string& id) {
      return on_actor_get(self, id);
    },
    [self](kv_put_atom, const std::string& ns, const std::string& key,
           std::string& value, bool overwrite) {
      return on_kv_put(self, ns, key, value, overwrite);
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
    [self](kv_del_atom, const std::string& ns, const std::string& key) {
      return on_kv_del(self, ns, key);
    },
    [self](kv_keys_atom, const std::string& ns,
           const std::string& prefix) -> caf::result<std::vector<std::string>> {
      try {
        return self->state.kv.keys(ns, prefix);
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::invalid_argument, e.what());
      }
    },
    [self](lineage_commit_atom, const std::vector<std::string>& ids,
           const std::vector<std::string>& specs) {
      return on_lineage_commit(self, ids, specs);
    },
    [self](lineage_batch_atom, std::string& batch) {
      return on_lineage_batch(self, batch);
    },
    [self](lineage_get_atom, const std::string& id) {
      return on_lineage_get(self, id);
    },
    [self](lineage_count_atom) {
      return self->state.store.lineage_count();
    },
    [self](lineage_delete_atom, const std::vector<std::string>& ids) {
      return on_lineage_delete(self, ids);
    },
    [self](lineage_bytes_atom) {
      return self->state.store.lineage_bytes();
    },
    [self](tick_atom) {
      auto& st = self->state;
      auto now = detail::node_table::clock::now();
      auto verdict = st.detector.tick(now);
      if (auto gap = st.detector.take_stall())
        detail::log_warn(
          "gcs: this process did not run for ", gap->count(),
          " ms (stopped, or starved of CPU); every node's heartbeats are "
          "measured afresh, and none is declared dead for the next ",
          st.timing.failure.grace.count(), " ms");
      for (auto& id : verdict.suspected)
        detail::log_info("gcs: node ", id, " is suspected (phi ",
                         st.detector.phi(id, now),
                         "); dead unless heard from "
                         "within ",
                         st.timing.failure.grace.count(), " ms");
      for (auto& id : verdict.dead)
        node_dead(self, id,
                  "suspected for " +
                    std::to_string(st.timing.failure.grace.count()) +
                    " ms: no heartbeat, or no connection");
      expire_early_gets(self, now);
      for (auto i = st.rejoined.begin(); i != st.rejoined.end();) {
        if (now - i->second > st.timing.node_timeout) {
          drop_unannounced(self, i->first);
          i = st.rejoined.erase(i);
        } else {
          ++i;
        }
      }
      place_groups(self);
      push_view(self);
      self->delayed_send(self, st.timing.tick, tick_atom::value);
    },
  };
}

} // namespace

void push_view(self_ptr self) {
  auto& st = self->state;
  if (st.pushed_version == st.nodes.version() &&
      st.pushed_handles == st.handles_version)
    return;
  st.pushed_version = st.nodes.version();
  st.pushed_handles = st.handles_version;
  auto v = view_of(self);
  for (auto& h : v.managers)
    if (h)
      caf::anon_send(h, view_atom::value, v.bytes, v.managers, v.stores);
}

} // namespace detail_gcs

gcs_actor make_gcs(caf::actor_system& sys, gcs_timing timing,
                   std::shared_ptr<detail::rocks_db> store,
                   std::shared_ptr<detail::pg_board> board,
                   detail::local_lineage_log* local) {
  detail::gcs_store tables{std::move(store)};
  tables.sync_lineage(timing.sync_lineage);
  tables.keep_tables(timing.durable_tables);
  auto snap = tables.load();
  if (local != nullptr)
    *local = tables.local_lineage();
  return sys.spawn(detail_gcs::gcs, timing, std::move(tables), std::move(snap),
                   std::move(board));
}

} // namespace lumen

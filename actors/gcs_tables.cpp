// gcs: the actor, placement group, key-value and lineage tables. Each
// change is written to the store before it is acknowledged; a write that
// fails leaves the table as it was and answers with an error.
#include <algorithm>
#include <exception>
#include <iterator>
#include <optional>
#include <set>

#include <caf/send.hpp>

#include "actors/gcs_state.hpp"
#include "lineage/stash.hpp"
#include "log/log.hpp"
#include "lumen/error.hpp"
#include "wire/lineage_batch.hpp"

namespace lumen::detail_gcs {

namespace {

caf::error store_error(const std::exception& e) {
  detail::log_error("gcs: ", e.what());
  return caf::make_error(caf::sec::runtime_error, e.what());
}

detail::stored_group stored(const std::string& id, const group& g) {
  return detail::stored_group{
    id,        g.name,  static_cast<std::uint8_t>(g.strategy),
    g.bundles, g.nodes, g.placed};
}

/// Remembers that actor `id` ended, so that a lookup of a handle to it
/// fails at once instead of waiting for an actoradd that never comes, and
/// answers the lookups that wait for one.
void remember_ended(self_ptr self, const std::string& id) {
  auto& st = self->state;
  if (auto j = st.early_gets.find(id); j != st.early_gets.end()) {
    for (auto& g : j->second)
      g.promise.deliver(std::uint64_t{0}, caf::actor{}, false);
    st.early_gets.erase(j);
  }
  if (st.ended.count(id) > 0)
    return; // told twice: by its host and by its last handle
  auto n = ++st.ended_count;
  st.ended.emplace(id, n);
  st.ended_order.emplace_back(id, n);
  while (st.ended_order.size() > max_ended_actors) {
    auto& [old, m] = st.ended_order.front();
    if (auto j = st.ended.find(old); j != st.ended.end() && j->second == m)
      st.ended.erase(j);
    st.ended_order.pop_front();
  }
}

/// Ends actor row `id`: frees its name, deletes its stored row, and
/// answers the finds and gets waiting for it.
void remove_row(self_ptr self, const std::string& id) {
  auto& st = self->state;
  remember_ended(self, id);
  auto i = st.actors.find(id);
  if (i == st.actors.end())
    return;
  auto& row = i->second;
  if (auto j = st.actor_names.find({row.ns, row.name});
      j != st.actor_names.end() && j->second == id)
    st.actor_names.erase(j);
  try {
    st.store.erase_actor(id);
  } catch (const std::exception& e) {
    store_error(e);
  }
  for (auto& p : row.finds)
    p.deliver(std::string{}, std::uint64_t{0}, caf::actor{});
  for (auto& p : row.gets)
    p.deliver(row.class_hash, caf::actor{}, false);
  st.actors.erase(i);
}

} // namespace

// -- loading ------------------------------------------------------------------

void restore_tables(self_ptr self, detail::gcs_snapshot& snap) {
  auto& st = self->state;
  for (auto& a : snap.actors) {
    // A row only its node can announce again: gone with that node.
    bool keep = !a.host_node.empty() && st.nodes.alive(a.host_node);
    if (keep && !a.name.empty())
      keep = st.actor_names.emplace(std::make_pair(a.ns, a.name), a.id).second;
    if (!keep) {
      try {
        st.store.erase_actor(a.id);
      } catch (const std::exception& e) {
        store_error(e);
      }
      continue;
    }
    auto& row = st.actors[a.id];
    row.name = std::move(a.name);
    row.ns = std::move(a.ns);
    row.class_hash = a.class_hash;
    row.detached = a.detached;
    row.host_node = std::move(a.host_node);
  }
  for (auto& g : snap.groups) {
    auto& x = st.groups[g.id];
    x.name = std::move(g.name);
    x.strategy = static_cast<detail::pg_strategy_kind>(g.strategy);
    x.bundles = std::move(g.bundles);
    x.nodes = std::move(g.nodes);
    x.placed = g.placed;
    if (!x.placed)
      st.pending_groups.push_back(g.id);
    if (st.board)
      st.board->set(g.id, x.placed);
  }
  for (auto& row : snap.kv) {
    try {
      st.kv.put(row.ns, row.key, std::move(row.value), true);
    } catch (const std::exception& e) {
      detail::log_warn("gcs: skipped a stored key-value row: ", e.what());
    }
  }
}

void drop_actors_of(self_ptr self, const std::string& id) {
  std::vector<std::string> ids;
  for (auto& [actor, row] : self->state.actors)
    if (row.host_node == id)
      ids.push_back(actor);
  for (auto& actor : ids)
    remove_row(self, actor);
}

void drop_unannounced(self_ptr self, const std::string& id) {
  std::vector<std::string> ids;
  for (auto& [actor, row] : self->state.actors)
    if (row.host_node == id && !row.host)
      ids.push_back(actor);
  for (auto& actor : ids) {
    detail::log_warn("gcs: node ", id, " did not announce actor ", actor,
                     " again; it is gone");
    remove_row(self, actor);
  }
}

// -- placement groups ---------------------------------------------------------

void place_groups(self_ptr self) {
  auto& st = self->state;
  if (st.pending_groups.empty())
    return;
  // Only the resources the pending groups ask for: a node's record also
  // lists every reserved bundle under names of its own.
  std::set<std::string> names;
  for (auto& id : st.pending_groups)
    if (auto i = st.groups.find(id); i != st.groups.end() && !i->second.placed)
      for (auto& b : i->second.bundles)
        for (auto& kv : b)
          names.insert(kv.first);
  auto pick = [&](const std::map<std::string, double>& all) {
    detail::resource_set result;
    for (auto& n : names)
      if (auto i = all.find(n); i != all.end())
        result.set(n, i->second);
    return result;
  };
  std::vector<detail::node_capacity> caps;
  for (auto* n : st.nodes.records())
    caps.push_back({n->id, n->alive && st.managers.count(n->id) > 0,
                    pick(n->total), pick(n->available)});
  std::deque<std::string> still_pending;
  for (auto& id : st.pending_groups) {
    auto found = st.groups.find(id);
    if (found == st.groups.end() || found->second.placed)
      continue; // removed (or placed) since
    auto& g = found->second;
    std::vector<detail::resource_set> bundles;
    for (auto& b : g.bundles)
      bundles.push_back(detail::resource_set::from_doubles(b));
    auto plan = detail::plan_placement_group(bundles, g.strategy, caps);
    if (plan.kind != detail::pg_plan_result::placed) {
      if (plan.kind == detail::pg_plan_result::infeasible &&
          plan.reason != g.last_reason)
        detail::log_warn(
          "gcs: placement group ", id,
          " cannot be placed on the current nodes: ", plan.reason);
      g.last_reason = plan.reason;
      still_pending.push_back(id);
      continue;
    }
    g.nodes = plan.nodes;
    g.placed = true;
    try {
      st.store.put_group(stored(id, g));
    } catch (const std::exception& e) {
      // The bundles are reserved all the same; a restarted head would
      // place the group again.
      store_error(e);
    }
    for (std::size_t i = 0; i < g.bundles.size(); ++i) {
      caf::anon_send(st.managers.at(g.nodes[i]), reserve_atom::value, id,
                     static_cast<std::uint64_t>(i), g.bundles[i]);
      // Until the node's next heartbeat says so, count it here.
      for (auto& c : caps)
        if (c.id == g.nodes[i])
          c.available -= bundles[i];
    }
    if (st.board)
      st.board->set(id, true);
    for (auto& w : g.waiters)
      w.deliver(true);
    g.waiters.clear();
  }
  st.pending_groups = std::move(still_pending);
}

caf::result<std::string>
on_pg_create(self_ptr self, const std::string& id, const std::string& name,
             std::uint8_t strategy,
             const std::vector<std::map<std::string, double>>& bundles) {
  auto& st = self->state;
  // The caller may be waiting on the board: a create that fails ends it.
  auto refuse = [&](caf::error err) {
    if (st.board && !id.empty() && st.groups.count(id) == 0)
      st.board->erase(id);
    return err;
  };
  if (id.empty())
    return refuse(caf::make_error(caf::sec::invalid_argument,
                                  "a placement group needs an id"));
  if (st.groups.count(id) > 0)
    return id; // sent again (after a head restart): already here
  if (strategy >
      static_cast<std::uint8_t>(detail::pg_strategy_kind::strict_spread))
    return refuse(caf::make_error(caf::sec::invalid_argument,
                                  "unknown placement strategy"));
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
    return refuse(caf::make_error(caf::sec::invalid_argument, e.what()));
  }
  if (!name.empty())
    for (auto& [other, og] : st.groups)
      if (og.name == name)
        return refuse(caf::make_error(
          caf::sec::invalid_argument,
          "a placement group with this name exists already (" + other + ")"));
  group g;
  g.name = name;
  g.strategy = static_cast<detail::pg_strategy_kind>(strategy);
  g.bundles = bundles;
  try {
    st.store.put_group(stored(id, g));
  } catch (const std::exception& e) {
    return refuse(store_error(e));
  }
  st.groups.emplace(id, std::move(g));
  st.pending_groups.push_back(id);
  if (st.board)
    st.board->set(id, false);
  place_groups(self);
  return id;
}

caf::result<bool> on_pg_wait(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto i = st.groups.find(id);
  if (i == st.groups.end())
    return false;
  if (i->second.placed)
    return true;
  auto promise = self->make_response_promise<bool>();
  i->second.waiters.push_back(promise);
  return promise;
}

caf::result<bool> on_pg_remove(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto i = st.groups.find(id);
  if (i == st.groups.end()) {
    if (st.board)
      st.board->erase(id); // withdrawn by a caller, never created here
    return false;
  }
  try {
    st.store.erase_group(id);
  } catch (const std::exception& e) {
    return store_error(e);
  }
  auto& g = i->second;
  if (g.placed)
    for (std::size_t b = 0; b < g.bundles.size(); ++b)
      if (auto m = st.managers.find(g.nodes[b]); m != st.managers.end())
        caf::anon_send(m->second, unreserve_atom::value, id,
                       static_cast<std::uint64_t>(b), g.bundles[b]);
  for (auto& w : g.waiters)
    w.deliver(false);
  st.groups.erase(i);
  if (st.board)
    st.board->erase(id);
  return true;
}

// -- actors -------------------------------------------------------------------

caf::result<bool> on_actor_add(self_ptr self, const std::string& id,
                               const std::string& name, const std::string& ns,
                               std::uint64_t class_hash, caf::actor host,
                               bool detached) {
  auto& st = self->state;
  if (!name.empty())
    if (auto i = st.actor_names.find({ns, name});
        i != st.actor_names.end() && i->second != id)
      return false;
  detail::stored_actor rec{id, name, ns, class_hash, detached, {}};
  if (host)
    if (auto i = st.by_caf_node.find(host.node()); i != st.by_caf_node.end())
      rec.host_node = i->second;
  try {
    st.store.put_actor(rec);
  } catch (const std::exception& e) {
    return store_error(e);
  }
  auto& row = st.actors[id];
  if (row.name != name || row.ns != ns) {
    // A known row under another name (not expected): free the old one.
    if (auto j = st.actor_names.find({row.ns, row.name});
        j != st.actor_names.end() && j->second == id)
      st.actor_names.erase(j);
  }
  if (!name.empty())
    st.actor_names[{ns, name}] = id;
  row.name = name;
  row.ns = ns;
  row.class_hash = class_hash;
  row.host = host;
  row.detached = detached;
  row.host_node = std::move(rec.host_node);
  for (auto& p : row.finds)
    p.deliver(id, class_hash, host);
  row.finds.clear();
  for (auto& p : row.gets)
    p.deliver(class_hash, host, true);
  row.gets.clear();
  // Lookups that arrived before this add (a handle can overtake it).
  st.ended.erase(id); // re-created (a detached actor placed again)
  if (auto j = st.early_gets.find(id); j != st.early_gets.end()) {
    for (auto& g : j->second)
      g.promise.deliver(class_hash, host, true);
    st.early_gets.erase(j);
  }
  return true;
}

void on_actor_dead(self_ptr self, const std::string& id,
                   const caf::actor_addr& host) {
  auto& st = self->state;
  if (auto i = st.actors.find(id); i != st.actors.end()) {
    auto& row = i->second;
    if (row.host && row.host.address() != host) {
      // Another host of this actor ended: the creator's forwarder of a
      // detached actor that lives on (and is found) on another node. The
      // row, and the name, stay for as long as that actor does.
      detail::log_debug("gcs: actor ", id,
                        " lives on; a host other than its own ended");
      return;
    }
  }
  remove_row(self, id);
}

caf::result<std::string, std::uint64_t, caf::actor>
on_actor_find(self_ptr self, const std::string& name, const std::string& ns) {
  auto& st = self->state;
  auto i = st.actor_names.find({ns, name});
  if (i == st.actor_names.end())
    return {std::string{}, std::uint64_t{0}, caf::actor{}};
  auto& row = st.actors.at(i->second);
  if (!row.host) {
    // Loaded from the store: its node announces it when it reconnects.
    auto p =
      self->make_response_promise<std::string, std::uint64_t, caf::actor>();
    row.finds.push_back(p);
    return p;
  }
  return {i->second, row.class_hash, row.host};
}

caf::result<std::uint64_t, caf::actor, bool>
on_actor_get(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto i = st.actors.find(id);
  if (i == st.actors.end()) {
    if (st.ended.count(id) > 0)
      return {std::uint64_t{0}, caf::actor{}, false};
    // Not heard of yet: its creator sends the actoradd without waiting,
    // and a handle passed on at once may reach another node, and its
    // lookup this GCS, first. Wait for the add, for a while.
    auto p = self->make_response_promise<std::uint64_t, caf::actor, bool>();
    st.early_gets[id].push_back(early_get{
      detail::node_table::clock::now() + st.timing.actor_lookup_grace, p});
    return p;
  }
  auto& row = i->second;
  if (!row.host) {
    auto p = self->make_response_promise<std::uint64_t, caf::actor, bool>();
    row.gets.push_back(p);
    return p;
  }
  return {row.class_hash, row.host, true};
}

void expire_early_gets(self_ptr self,
                       detail::node_table::clock::time_point now) {
  auto& gets = self->state.early_gets;
  for (auto i = gets.begin(); i != gets.end();) {
    auto& waiting = i->second;
    auto past =
      std::partition(waiting.begin(), waiting.end(), [now](const early_get& g) {
        return g.until > now;
      });
    for (auto j = past; j != waiting.end(); ++j)
      j->promise.deliver(std::uint64_t{0}, caf::actor{}, false);
    waiting.erase(past, waiting.end());
    i = waiting.empty() ? gets.erase(i) : std::next(i);
  }
}

// -- key-value
// ------------------------------------------------------------------

caf::result<bool> on_kv_put(self_ptr self, const std::string& ns,
                            const std::string& key, std::string& value,
                            bool overwrite) {
  auto& st = self->state;
  try {
    detail::kv_table::check(ns, key, value);
    if (!overwrite && st.kv.exists(ns, key))
      return false;
  } catch (const std::exception& e) {
    return caf::make_error(caf::sec::invalid_argument, e.what());
  }
  try {
    st.store.put_kv(ns, key, value);
  } catch (const std::exception& e) {
    return store_error(e);
  }
  st.kv.put(ns, key, std::move(value), true);
  return true;
}

caf::result<bool> on_kv_del(self_ptr self, const std::string& ns,
                            const std::string& key) {
  auto& st = self->state;
  try {
    if (!st.kv.exists(ns, key))
      return false;
  } catch (const std::exception& e) {
    return caf::make_error(caf::sec::invalid_argument, e.what());
  }
  try {
    st.store.erase_kv(ns, key);
  } catch (const std::exception& e) {
    return store_error(e);
  }
  st.kv.del(ns, key);
  return true;
}

// -- lineage
// --------------------------------------------------------------------

namespace {

/// Why the spec of `row` is not the TaskSpec of its task id; "" if it is.
std::string spec_problem(const detail::lineage_row_view& row) {
  try {
    auto id = detail::spec_deps(std::string{row.spec}).first.to_string();
    if (id != row.id)
      return "its spec is the one of task " + id;
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

/// `batch` without the rows whose spec is not the TaskSpec of their task
/// (each logged), so that damaged or forged bytes never replace good
/// lineage; nullopt if the batch itself is malformed.
std::optional<std::string> checked_batch(std::string batch) {
  auto rows = detail::split_lineage_batch(batch);
  if (!rows)
    return std::nullopt;
  std::vector<bool> bad(rows->size());
  bool any = false;
  for (std::size_t i = 0; i < rows->size(); ++i) {
    auto& row = (*rows)[i].first;
    auto why = spec_problem(row);
    if (why.empty())
      continue;
    detail::log_warn("the GCS dropped a lineage row for task '",
                     row.id.substr(0, 64), "': ", why);
    bad[i] = any = true;
  }
  if (!any)
    return batch;
  std::string good;
  for (std::size_t i = 0; i < rows->size(); ++i)
    if (!bad[i])
      detail::append_lineage_row(good, (*rows)[i].first.id,
                                 (*rows)[i].first.spec);
  return good;
}

/// Commits `batch`, first without the rows that are not the TaskSpec of
/// their task if `check`.
caf::result<std::uint64_t> commit_batch(self_ptr self, std::string batch,
                                        bool check) {
  std::optional<std::string> good{std::move(batch)};
  if (check)
    good = checked_batch(std::move(*good));
  if (!good)
    return caf::make_error(caf::sec::invalid_argument,
                           "lineage commit: a malformed batch");
  try {
    if (good->empty())
      return std::uint64_t{0};
    return static_cast<std::uint64_t>(
      self->state.store.commit_lineage_batch(std::move(*good)));
  } catch (const std::exception& e) {
    return store_error(e);
  }
}

} // namespace

caf::result<std::uint64_t>
on_lineage_commit(self_ptr self, const std::vector<std::string>& ids,
                  const std::vector<std::string>& specs) {
  if (ids.size() != specs.size())
    return caf::make_error(caf::sec::invalid_argument,
                           "lincommit: " + std::to_string(ids.size()) +
                             " ids but " + std::to_string(specs.size()) +
                             " specs");
  std::string batch;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i].empty()) {
      detail::log_warn("the GCS dropped a lineage row without a task id");
      continue;
    }
    detail::append_lineage_row(batch, ids[i], specs[i]);
  }
  return commit_batch(self, std::move(batch), true);
}

caf::result<std::uint64_t> on_lineage_batch(self_ptr self, std::string& batch) {
  // This process's own stash encoded these specs itself; bytes from
  // another process are checked row by row.
  auto sender = self->current_sender();
  bool local = sender && sender->node() == self->node();
  return commit_batch(self, std::move(batch), !local);
}

caf::result<std::uint64_t>
on_lineage_delete(self_ptr self, const std::vector<std::string>& ids) {
  try {
    return static_cast<std::uint64_t>(self->state.store.erase_lineage(ids));
  } catch (const std::exception& e) {
    return store_error(e);
  }
}

caf::result<std::vector<char>> on_lineage_get(self_ptr self,
                                              const std::string& id) {
  try {
    return self->state.store.get_lineage(id);
  } catch (const std::exception& e) {
    return store_error(e);
  }
}

} // namespace lumen::detail_gcs

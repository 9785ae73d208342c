// object_store: borrowing across nodes. The owner side counts the
// registrations each borrower's node holds on an object owned here and
// pins the object while any is held; the borrower side gives its
// registrations back, batched per owner, when its entries go
// (docs/architecture.md, "Borrowing").
#include <algorithm>
#include <cstring>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/object_store_state.hpp"
#include "log/log.hpp"
#include "lumen/error.hpp"

namespace lumen {

std::function<void(const object_id&, const std::string&, std::uint32_t)>
make_borrow_hook(object_store_actor store, std::shared_ptr<give_back_queue> q) {
  return [store = std::move(store), q = std::move(q)](
           const object_id& id, const std::string& owner, std::uint32_t n) {
    bool first = false;
    {
      std::lock_guard guard{q->mtx};
      first = q->items.empty();
      q->items.emplace_back(id, owner, n);
    }
    if (first)
      caf::anon_send(store, giveback_atom::value);
  };
}

namespace detail_object_store {

namespace {

constexpr std::size_t id_size = 20;
constexpr std::size_t entry_size = 24;

void put_id(std::vector<char>& out, const object_id& id) {
  auto at = out.size();
  out.resize(at + id_size);
  std::memcpy(out.data() + at, &id.task.hi, 8);
  std::memcpy(out.data() + at + 8, &id.task.lo, 8);
  std::memcpy(out.data() + at + 16, &id.index, 4);
}

object_id get_id(const char* p) {
  object_id id;
  std::memcpy(&id.task.hi, p, 8);
  std::memcpy(&id.task.lo, p + 8, 8);
  std::memcpy(&id.index, p + 16, 4);
  return id;
}

/// Adds `n` to `node`'s registrations on `id` (owned here); `pin` (may be
/// null) holds the entry while any node holds one. Unpinning an object
/// no local ref holds any more frees it: the table's release hook, where
/// the owner frees an object (and tells every holder of a copy).
void count(store_state& st, const object_id& id, const caf::node_id& node,
           std::int64_t n, const detail::ref_ptr* pin) {
  auto [i, added] = st.lent.try_emplace(id);
  auto& l = i->second;
  if (!l.pin)
    l.pin = pin != nullptr ? *pin : st.table->lookup(id);
  auto j = l.counts.begin();
  while (j != l.counts.end() && j->first != node)
    ++j;
  if (j == l.counts.end()) {
    l.counts.emplace_back(node, n);
  } else if ((j->second += n) == 0) {
    *j = std::move(l.counts.back());
    l.counts.pop_back();
  }
  if (l.counts.empty())
    st.lent.erase(i); // the pin goes: freed here if no local ref is left
}

} // namespace

void on_lend(self_ptr self, const caf::actor& receiver,
             detail::ref_traffic& traffic) {
  auto& st = self->state;
  auto me = self->node();
  // Registrations for objects owned elsewhere, by owner.
  std::map<std::string, std::vector<char>> forward;
  if (receiver && receiver.node() != me) {
    auto to = receiver.node();
    for (auto& r : traffic.lent) {
      auto owner = st.table->owner_of(r.get());
      if (owner == st.node_id)
        count(st, r.id(), to, 1, &r);
      else
        put_id(forward[owner], r.id());
    }
    for (auto& [owner, ids] : forward) {
      auto p = st.peers.find(owner);
      if (p == st.peers.end() || !p->second.store) {
        detail::log_debug("borrowing: the owner of ", ids.size() / id_size,
                          " objects lent on, node ", owner,
                          ", is not in the view");
        continue;
      }
      self->send(caf::actor_cast<object_store_actor>(p->second.store),
                 borrow_atom::value, to, std::move(ids));
    }
  }
  for (auto& r : traffic.home)
    count(st, r.id(), me, -1, &r);
  {
    std::lock_guard guard{st.returns->mtx};
    for (auto& [id, owner] : traffic.give_back)
      st.returns->items.emplace_back(id, owner, 1);
  }
  if (!traffic.give_back.empty())
    on_give_back(self);
}

void on_borrow(self_ptr self, const caf::node_id& node,
               const std::vector<char>& ids) {
  auto& st = self->state;
  if (ids.size() % id_size != 0) {
    detail::log_warn("borrowing: dropped registrations of ", ids.size(),
                     " bytes, not a multiple of ", id_size);
    return;
  }
  if (st.departed.count(node) > 0)
    return; // that borrower is gone: nobody will give these back
  for (std::size_t at = 0; at < ids.size(); at += id_size)
    count(st, get_id(ids.data() + at), node, 1, nullptr);
}

void on_unborrow(self_ptr self, const std::vector<char>& entries) {
  auto& st = self->state;
  auto sender = self->current_sender();
  if (!sender || entries.size() % entry_size != 0) {
    detail::log_warn("borrowing: dropped a give-back of ", entries.size(),
                     " bytes (", sender ? "not a multiple of 24" : "no sender",
                     ")");
    return;
  }
  auto node = sender->node();
  for (std::size_t at = 0; at < entries.size(); at += entry_size) {
    std::uint32_t n = 0;
    std::memcpy(&n, entries.data() + at + id_size, 4);
    if (n == 0)
      continue;
    // A give-back may overtake the registration it gives back (sent by
    // another node's store): the count goes below zero meanwhile, and
    // the object stays pinned until the two meet.
    count(st, get_id(entries.data() + at), node, -static_cast<std::int64_t>(n),
          nullptr);
  }
}

void on_give_back(self_ptr self) {
  auto& st = self->state;
  std::vector<std::tuple<object_id, std::string, std::uint32_t>> items;
  {
    std::lock_guard guard{st.returns->mtx};
    items.swap(st.returns->items);
  }
  std::map<std::string, std::vector<char>> by_owner;
  for (auto& [id, owner, n] : items) {
    if (owner == st.node_id)
      continue;
    auto& out = by_owner[owner];
    put_id(out, id);
    auto at = out.size();
    out.resize(at + 4);
    std::memcpy(out.data() + at, &n, 4);
  }
  for (auto& [owner, entries] : by_owner) {
    auto p = st.peers.find(owner);
    if (p == st.peers.end() || !p->second.store)
      continue; // the owner is gone, and its objects with it
    self->send(caf::actor_cast<object_store_actor>(p->second.store),
               unborrow_atom::value, std::move(entries));
  }
}

void borrowers_left(self_ptr self, const detail::peer_map& old_peers,
                    const std::set<std::string>& gone) {
  auto& st = self->state;
  std::set<caf::node_id> nodes;
  for (auto& id : gone) {
    st.departed_ids.insert(id);
    if (auto p = old_peers.find(id); p != old_peers.end()) {
      if (p->second.store)
        nodes.insert(p->second.store.node());
      if (p->second.manager)
        nodes.insert(p->second.manager.node());
    }
  }
  st.departed.insert(nodes.begin(), nodes.end());
  std::size_t dropped = 0;
  for (auto i = st.lent.begin(); i != st.lent.end();) {
    auto& c = i->second.counts;
    auto before = c.size();
    c.erase(std::remove_if(c.begin(), c.end(),
                           [&](auto& kv) {
                             return nodes.count(kv.first) > 0;
                           }),
            c.end());
    dropped += before - c.size();
    i = c.empty() ? st.lent.erase(i) : std::next(i);
  }
  if (dropped > 0)
    detail::log_info("borrowing: dropped ", dropped,
                     " registrations of nodes that left");
  for (auto& id : gone) {
    auto n = st.table->fail_lent_by(
      id, detail::make_error_object(detail::error_kind::owner_died,
                                    "the owner of this object, node " + id +
                                      ", died before this node had its value"));
    if (n > 0)
      detail::log_warn("borrowing: ", n, " objects owned by node ", id,
                       " fail with owner_died_error: it left the cluster");
  }
}

bool owner_for_fetch(self_ptr self, const object_id& id, caf::actor& owner) {
  auto& st = self->state;
  auto lender = st.table->lender_of(id);
  if (lender.empty())
    return true; // owned here (or unknown): as before
  if (auto p = st.peers.find(lender); p != st.peers.end() && p->second.store) {
    owner = p->second.store;
    st.owner_waits.erase(id);
    return true;
  }
  auto why = "the owner of object " + id.to_string() + ", node " + lender +
             ", died before this node had its value";
  if (st.departed_ids.count(lender) > 0 || ++st.owner_waits[id] > 25) {
    st.owner_waits.erase(id);
    st.table->fulfill(
      id, detail::make_error_object(detail::error_kind::owner_died, why));
    return false;
  }
  // Not in the view yet (it joined a moment ago): ask again shortly.
  self->delayed_send(self, std::chrono::milliseconds(200), fetch_atom::value,
                     detail::id_bytes(id), caf::actor{});
  return false;
}

} // namespace detail_object_store

} // namespace lumen

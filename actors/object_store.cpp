// object_store: statistics, hosted copies, locations, serving pulls (the
// pulls made here are in object_store_pulls.cpp).
#include "actors/object_store.hpp"

#include <cstring>
#include <optional>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/object_store_state.hpp"
#include "log/log.hpp"
#include "lumen/error.hpp"
#include "scheduling/remote_task.hpp"

namespace lumen {

namespace detail {

std::vector<char> id_bytes(const object_id& id) {
  std::vector<char> result(20);
  std::memcpy(result.data(), &id.task.hi, 8);
  std::memcpy(result.data() + 8, &id.task.lo, 8);
  std::memcpy(result.data() + 16, &id.index, 4);
  return result;
}

object_id id_from_bytes(const std::vector<char>& bytes) {
  if (bytes.size() != 20)
    throw lumen::decode_error("an object id has 20 bytes, got " +
                              std::to_string(bytes.size()));
  object_id id;
  std::memcpy(&id.task.hi, bytes.data(), 8);
  std::memcpy(&id.task.lo, bytes.data() + 8, 8);
  std::memcpy(&id.index, bytes.data() + 16, 4);
  return id;
}

} // namespace detail

namespace {

using namespace detail_object_store;

/// Refuses (and logs) the ticket of a pull from `who`.
caf::error refuse_ticket(const std::string& who, const std::string& why) {
  detail::log_warn("object transfer: refused a pull ticket from ", who, ": ",
                   why);
  return caf::make_error(caf::sec::invalid_argument,
                         "object transfer refused: " + why);
}

/// The value of `id` if this node holds it (an error object counts as
/// not held: there is nothing to send).
detail::object_ptr value_here(const store_state& st, const object_id& id) {
  auto ref = st.table->lookup(id);
  auto obj = ref ? st.table->try_get(ref.get()) : nullptr;
  return obj && !obj->error ? obj : nullptr;
}

object_store_actor::behavior_type
object_store(self_ptr self, detail::object_table* table, std::string node_id,
             std::shared_ptr<detail::bulk_channel> bulk,
             std::shared_ptr<give_back_queue> returns) {
  self->state.table = table;
  self->state.returns = std::move(returns);
  self->state.node_id = std::move(node_id);
  self->state.bulk = std::move(bulk);
  return {
    [self](stats_atom) {
      return self->state.table->get_stats();
    },
    [self](pull_atom, const std::vector<char>& req, std::uint64_t offset,
           std::uint64_t len) -> caf::result<std::vector<char>> {
      auto& st = self->state;
      constexpr std::size_t id_size = 20;
      object_id id;
      std::optional<detail::bulk_ticket> ticket;
      try {
        if (req.size() < id_size)
          throw decode_error("a pull request starts with a 20-byte id");
        id = detail::id_from_bytes(
          std::vector<char>(req.begin(), req.begin() + id_size));
        if (req.size() > id_size)
          ticket =
            detail::decode_ticket(req.data() + id_size, req.size() - id_size);
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::invalid_argument, e.what());
      }
      if (ticket && !st.bulk)
        return caf::make_error(caf::sec::runtime_error,
                               "node " + st.node_id +
                                 " moves objects through the middleman only");
      // The bytes go only to the channel that the asking node publishes in
      // the cluster view, never to an address a ticket alone names.
      std::string to;
      if (ticket) {
        auto sender = self->current_sender();
        auto from = sender ? to_string(sender->node()) : std::string{"?"};
        const detail::peer_store* peer = nullptr;
        for (auto& [node, p] : st.peers)
          if (sender && p.store && p.store.node() == sender->node()) {
            peer = &p;
            from = "node " + node;
          }
        if (peer == nullptr)
          return refuse_ticket(from, "it comes from no node of the cluster "
                                     "view");
        to = detail::address_of(*ticket);
        if (peer->bulk_address.empty() || to != peer->bulk_address)
          return refuse_ticket(from, "its ticket names " + to +
                                       ", not the channel that node "
                                       "publishes (" +
                                       (peer->bulk_address.empty()
                                          ? std::string{"none"}
                                          : peer->bulk_address) +
                                       ")");
      }
      auto obj = value_here(st, id);
      if (!obj)
        return caf::make_error(caf::sec::runtime_error,
                               "object " + id.to_string() + " is not here");
      auto size = obj->bytes.size();
      if (offset > size || len > size - offset)
        return caf::make_error(caf::sec::invalid_argument,
                               "chunk outside the object");
      auto* p = obj->bytes.data() + offset;
      if (!ticket)
        return std::vector<char>(p, p + len);
      auto key = ++st.last_send;
      auto promise = self->make_response_promise<std::vector<char>>();
      st.sends.emplace(key, promise);
      object_store_actor handle{self};
      st.bulk->send(*ticket, to, p, len, obj,
                    [handle, key](const std::string& error) {
                      caf::anon_send(handle, sent_atom::value, key, error);
                    });
      return promise;
    },
    [self](pullrefs_atom,
           const std::vector<char>& idb) -> caf::result<std::vector<char>> {
      auto& st = self->state;
      object_id id;
      try {
        id = detail::id_from_bytes(idb);
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::invalid_argument, e.what());
      }
      auto obj = value_here(st, id);
      if (!obj)
        return caf::make_error(caf::sec::runtime_error,
                               "object " + id.to_string() + " is not here");
      if (obj->refs.empty())
        return std::vector<char>{};
      detail::ref_traffic traffic;
      auto bytes = detail::encode_nested(id, *obj, *st.table, traffic);
      on_lend(self, caf::actor_cast<caf::actor>(self->current_sender()),
              traffic);
      return bytes;
    },
    [self](sent_atom, std::uint64_t key, const std::string& error) {
      auto i = self->state.sends.find(key);
      if (i == self->state.sends.end())
        return;
      if (error.empty())
        i->second.deliver(std::vector<char>{});
      else
        i->second.deliver(caf::make_error(caf::sec::runtime_error,
                                          "direct transfer: " + error));
      self->state.sends.erase(i);
    },
    [self](pulled_atom, detail::bulk_arrival& a) {
      auto& st = self->state;
      auto i = st.pulls.find(a.id);
      if (i == st.pulls.end() || i->second.serial != a.serial)
        return; // given up meanwhile
      i->second.ticket.reset();
      if (!a.error.empty())
        pull_failed(self, a.id, "its direct transfer failed: " + a.error);
      else
        finish_pull(self, a.id, std::move(a.data));
    },
    [self](locate_atom, const std::vector<char>& idb)
      -> caf::result<std::string, std::uint64_t> {
      auto& st = self->state;
      object_id id;
      try {
        id = detail::id_from_bytes(idb);
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::invalid_argument, e.what());
      }
      auto ref = st.table->lookup(id);
      if (ref)
        if (auto obj = st.table->try_get(ref.get()); obj && !obj->error)
          return {st.node_id, static_cast<std::uint64_t>(obj->bytes.size())};
      auto i = st.locations.find(id);
      if (i != st.locations.end() && !i->second.empty())
        return {i->second.begin()->first, i->second.begin()->second};
      if (!ref || st.table->ready(ref.get()))
        return {std::string{}, std::uint64_t{0}};
      // Awaited here (running, or being rebuilt): answer once a copy is
      // known, or once it is ready here.
      auto& waiters = st.locate_waiters[id];
      waiters.push_back(
        self->make_response_promise<std::string, std::uint64_t>());
      if (waiters.size() == 1) {
        object_store_actor handle{self};
        st.table->when_ready(ref.get(), [handle, idb] {
          caf::anon_send(handle, located_atom::value, idb, std::string{},
                         std::uint64_t{0});
        });
      }
      return waiters.back();
    },
    [self](located_atom, const std::vector<char>& idb, const std::string& node,
           std::uint64_t size) {
      auto& st = self->state;
      object_id id;
      try {
        id = detail::id_from_bytes(idb);
      } catch (const std::exception&) {
        return;
      }
      if (auto w = st.locate_waiters.find(id); w != st.locate_waiters.end()) {
        // Ready here (node "") or held at `node`.
        std::string where = node;
        std::uint64_t where_size = size;
        if (where.empty()) {
          if (auto obj = value_here(st, id)) {
            where = st.node_id;
            where_size = obj->bytes.size();
          }
        }
        for (auto& p : w->second)
          p.deliver(where, where_size);
        st.locate_waiters.erase(w);
      }
      if (node.empty())
        return;
      if (!st.table->mark_shared(id)) {
        // Dropped meanwhile: the copy is not needed.
        if (auto p = st.peers.find(node);
            p != st.peers.end() && p->second.store)
          caf::anon_send(p->second.store, free_atom::value, idb);
        return;
      }
      st.locations[id][node] = size;
      if (st.wanted.erase(id) > 0)
        start_pull(self, id, node, size, caf::actor{});
    },
    [self](free_atom, const std::vector<char>& idb) {
      // From a peer: its owner dropped an object whose copy is kept here.
      // From this node's table: an object owned here with copies
      // elsewhere is gone; tell each holder.
      auto& st = self->state;
      object_id id;
      try {
        id = detail::id_from_bytes(idb);
      } catch (const std::exception&) {
        return; // a garbage id frees nothing
      }
      st.hosted.erase(id);
      st.hosted_for.erase(id);
      st.wanted.erase(id);
      if (auto i = st.locations.find(id); i != st.locations.end()) {
        for (auto& [node, size] : i->second)
          if (auto p = st.peers.find(node);
              p != st.peers.end() && p->second.store)
            caf::anon_send(p->second.store, free_atom::value, idb);
        st.locations.erase(i);
      }
    },
    [self](host_atom, detail::hosted_object& h) {
      auto& st = self->state;
      auto size = h.value->bytes.size();
      try {
        st.hosted.emplace(h.id, st.table->put(h.id, h.value));
        if (h.owner)
          st.hosted_for.emplace(h.id, h.owner.node());
      } catch (const std::exception& e) {
        // Larger than max_object_size: the owner gets the reason, not
        // bytes it must refuse too. No room (or already here): send the
        // value itself instead.
        auto value = size > st.table->max_object_size()
                       ? detail::make_error_object(
                           detail::error_kind::runtime_error, e.what())
                       : h.value;
        caf::anon_send(h.owner, result_atom::value,
                       detail::encode_result(h.id, value));
        return;
      }
      caf::anon_send(h.owner, result_atom::value,
                     detail::encode_location(h.id, st.node_id, size));
    },
    [self](fetch_atom, const std::vector<char>& idb, caf::actor owner) {
      auto& st = self->state;
      object_id id;
      try {
        id = detail::id_from_bytes(idb);
      } catch (const std::exception&) {
        return;
      }
      if (st.pulls.count(id) > 0)
        return;
      if (auto ref = st.table->lookup(id); !ref || st.table->ready(ref.get()))
        return; // gone, or here already
      // A borrowed entry names its owner (object_store_borrow.cpp).
      if (!owner && !owner_for_fetch(self, id, owner))
        return;
      if (!owner) {
        // This node owns it: pull from a known holder, or once one is known.
        auto i = st.locations.find(id);
        if (i == st.locations.end() || i->second.empty()) {
          if (st.wanted.size() >= 1024) // forget those no longer pending
            for (auto j = st.wanted.begin(); j != st.wanted.end();) {
              auto r = st.table->lookup(*j);
              j = !r || st.table->ready(r.get()) ? st.wanted.erase(j)
                                                 : std::next(j);
            }
          st.wanted.insert(id);
        } else
          start_pull(self, id, i->second.begin()->first,
                     i->second.begin()->second, caf::actor{});
        return;
      }
      // The owner is named by its cluster link (or its store): ask its
      // node's object store.
      auto owner_store = store_of(st, owner);
      if (!owner_store) {
        owner_unknown(self, id, owner);
        return;
      }
      self
        ->request(owner_store, std::chrono::seconds(30), locate_atom::value,
                  idb)
        .then(
          [self, id, owner = owner_store](std::string& node,
                                          std::uint64_t size) {
            if (node.empty())
              fail_pull(self, id, "its owner knows no copy");
            else
              start_pull(self, id, node, size, owner);
          },
          [self, id](caf::error& err) {
            auto why =
              "its owner did not answer: " + self->system().render(err);
            if (self->state.table->lender_of(id).empty())
              fail_pull(self, id, why);
            else // a borrowed object whose owner is gone
              self->state.table->fulfill(
                id,
                detail::make_error_object(detail::error_kind::owner_died,
                                          "object " + id.to_string() + ": " +
                                            why + " (its node died)"));
          });
    },
    [self](peers_atom, detail::peer_map& peers) {
      auto& st = self->state;
      std::set<std::string> gone;
      for (auto& kv : st.peers)
        if (peers.count(kv.first) == 0)
          gone.insert(kv.first);
      auto old_peers = std::move(st.peers);
      st.peers = std::move(peers);
      if (gone.empty())
        return;
      borrowers_left(self, old_peers, gone);
      // Values kept for owners whose node is gone.
      std::set<caf::node_id> live{self->node()};
      for (auto& kv : st.peers)
        if (kv.second.store)
          live.insert(kv.second.store.node());
      for (auto i = st.hosted_for.begin(); i != st.hosted_for.end();) {
        if (live.count(i->second) > 0) {
          ++i;
          continue;
        }
        st.hosted.erase(i->first);
        i = st.hosted_for.erase(i);
      }
      // A pull from a node that left never gets its answer (CAF drops
      // requests to a dead peer; only the 60 s timeout would fire): give
      // it up now, as its failure would (another copy, a rebuild, or a new
      // locate).
      std::vector<std::pair<object_id, std::string>> cut;
      for (auto& [id, p] : st.pulls)
        if (gone.count(p.node) > 0)
          cut.emplace_back(id, p.node);
      for (auto& [id, node] : cut)
        pull_failed(self, id, "node " + node + " left the cluster");
      // Objects owned here whose every copy was on those nodes are lost.
      for (auto i = st.locations.begin(); i != st.locations.end();) {
        auto& at = i->second;
        bool had = !at.empty();
        for (auto& node : gone)
          at.erase(node);
        if (!had || !at.empty()) {
          ++i;
          continue;
        }
        auto id = i->first;
        i = st.locations.erase(i);
        if (st.pulls.count(id) > 0)
          continue; // that pull fails and reports it
        auto ref = st.table->lookup(id);
        if (ref && !st.table->ready(ref.get()) && st.reconstruction)
          caf::anon_send(st.reconstruction, lost_atom::value,
                         detail::id_bytes(id));
      }
    },
    [self](join_atom, caf::actor reconstruction) {
      self->state.reconstruction = std::move(reconstruction);
    },
    [self](lend_atom, const caf::actor& receiver, detail::ref_traffic& t) {
      on_lend(self, receiver, t);
    },
    [self](borrow_atom, const caf::node_id& node,
           const std::vector<char>& ids) {
      on_borrow(self, node, ids);
    },
    [self](unborrow_atom, const std::vector<char>& entries) {
      on_unborrow(self, entries);
    },
    [self](giveback_atom) {
      on_give_back(self);
    },
    [self](borrow_stats_atom) {
      auto& st = self->state;
      std::uint64_t regs = 0;
      for (auto& [id, l] : st.lent)
        for (auto& [node, n] : l.counts)
          regs += static_cast<std::uint64_t>(n);
      auto [borrowed, borrows] = st.table->borrowed_count();
      return caf::make_result(static_cast<std::uint64_t>(st.lent.size()), regs,
                              static_cast<std::uint64_t>(borrowed),
                              static_cast<std::uint64_t>(borrows));
    },
  };
}

} // namespace

object_store_actor make_object_store(caf::actor_system& sys,
                                     detail::object_table* table,
                                     std::string node_id,
                                     detail::transfer_options opts,
                                     std::string* bulk_address) {
  std::shared_ptr<detail::bulk_channel> bulk;
  if (opts.direct) {
    try {
      bulk = std::make_shared<detail::bulk_channel>(sys, opts.host);
      detail::log_info("objects move between nodes on a direct channel, "
                       "listening on ",
                       bulk->address(), " (a broker of the middleman, ",
                       bulk->tls() ? "TLS" : "plain TCP", ")");
      if (bulk_address != nullptr)
        *bulk_address = bulk->address();
    } catch (const std::exception& e) {
      detail::log_warn(e.what(), "; objects move through the middleman only");
    }
  }
  // Refs owned here carry this id on the wire; borrowed entries that go
  // give their registrations back through the store.
  table->set_node_id(node_id);
  auto returns = std::make_shared<give_back_queue>();
  auto store = sys.spawn(object_store, table, std::move(node_id),
                         std::move(bulk), returns);
  table->set_borrow_hook(make_borrow_hook(store, std::move(returns)));
  return store;
}

} // namespace lumen

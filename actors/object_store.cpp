// object_store: statistics, hosted copies, locations and chunked pulls.
#include "actors/object_store.hpp"

#include <cstring>
#include <iostream>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "cluster/remote_task.hpp"
#include "lumen/error.hpp"

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

using detail::object_ptr;

/// One value being pulled into this node.
struct pull_state {
  std::string node;
  caf::actor source;
  caf::actor owner;
  std::uint64_t size = 0;
  detail::byte_buffer buffer;
  std::uint64_t next_offset = 0;
  std::uint64_t received = 0;
  std::size_t in_flight = 0;
  /// Tells this pull's answers from those of an earlier pull of the same
  /// object that was given up.
  std::uint64_t serial = 0;
};

struct store_state {
  detail::object_table* table = nullptr;
  std::string node_id;
  /// Values kept here for their remote owners.
  std::map<object_id, detail::ref_ptr> hosted;
  /// The CAF node of each hosted value's owner: its copies go when that
  /// node leaves the cluster (nobody can free them any more).
  std::map<object_id, caf::node_id> hosted_for;
  /// Owner side: the nodes holding each value, with its size.
  std::map<object_id, std::map<std::string, std::uint64_t>> locations;
  /// Owner side: values wanted here whose location is not known yet.
  std::set<object_id> wanted;
  std::map<object_id, pull_state> pulls;
  std::uint64_t last_pull_serial = 0;
  std::map<std::string, caf::actor> peers;
  /// Owner side: `locate` requests for objects awaited here.
  std::map<object_id,
           std::vector<caf::typed_response_promise<std::string, std::uint64_t>>>
    locate_waiters;
  /// Borrower side: new `locate`s made after a pull failed, per object.
  std::map<object_id, int> relocations;
  /// The node manager, told of lost objects.
  caf::actor nm;
  const char* name = "lumen.object_store";
};

using self_ptr = object_store_actor::stateful_pointer<store_state>;

void fail_pull(self_ptr self, const object_id& id, const std::string& why) {
  self->state.pulls.erase(id);
  self->state.relocations.erase(id);
  self->state.table->fulfill(
    id, detail::make_error_object(detail::error_kind::object_lost,
                                  "object " + id.to_string() +
                                    " could not be pulled: " + why));
}

void start_pull(self_ptr self, const object_id& id, const std::string& node,
                std::uint64_t size, caf::actor owner);

/// Pulls after a copy was found to be gone; see `pull_failed`.
constexpr int max_relocations = 8;

/// A pull from a copy failed (its node died, or it was freed there). The
/// owner tries another copy or has the object rebuilt; a borrower asks the
/// owner again, which answers once a copy exists.
void pull_failed(self_ptr self, const object_id& id, const std::string& why) {
  auto& st = self->state;
  auto i = st.pulls.find(id);
  if (i == st.pulls.end())
    return;
  auto node = i->second.node;
  auto owner = i->second.owner;
  st.pulls.erase(i);
  if (!owner) {
    auto loc = st.locations.find(id);
    if (loc != st.locations.end()) {
      loc->second.erase(node);
      if (!loc->second.empty()) {
        auto [next, size] = *loc->second.begin();
        start_pull(self, id, next, size, caf::actor{});
        return;
      }
      st.locations.erase(loc);
    }
    if (st.nm) {
      st.wanted.insert(id); // pulled once the rebuilt value is located
      caf::anon_send(st.nm, lost_atom::value, detail::id_bytes(id));
    } else {
      fail_pull(self, id, why);
    }
    return;
  }
  if (++st.relocations[id] > max_relocations) {
    fail_pull(self, id, why);
    return;
  }
  // Give the owner time to notice the death and rebuild.
  self->delayed_send(self, std::chrono::milliseconds(200), fetch_atom::value,
                     detail::id_bytes(id), owner);
}

void request_chunks(self_ptr self, const object_id& id);

void on_chunk(self_ptr self, const object_id& id, std::uint64_t serial,
              std::uint64_t offset, std::vector<char>& chunk) {
  auto i = self->state.pulls.find(id);
  if (i == self->state.pulls.end() || i->second.serial != serial)
    return;
  auto& p = i->second;
  --p.in_flight;
  if (offset + chunk.size() > p.size) {
    fail_pull(self, id, "a chunk overruns the object's size");
    return;
  }
  std::memcpy(p.buffer.data() + offset, chunk.data(), chunk.size());
  p.received += chunk.size();
  if (p.received < p.size) {
    request_chunks(self, id);
    return;
  }
  auto data = std::make_shared<detail::object_data>();
  data->bytes = std::move(p.buffer);
  auto owner = p.owner;
  auto size = p.size;
  self->state.pulls.erase(i);
  self->state.relocations.erase(id);
  self->state.table->fulfill(id, std::move(data));
  // The owner learns of the new copy (none to tell if we are the owner).
  if (owner)
    caf::anon_send(owner, located_atom::value, detail::id_bytes(id),
                   self->state.node_id, size);
}

void request_chunks(self_ptr self, const object_id& id) {
  auto& p = self->state.pulls.at(id);
  while (p.in_flight < detail::chunks_in_flight && p.next_offset < p.size) {
    auto offset = p.next_offset;
    auto len = std::min<std::uint64_t>(detail::chunk_size, p.size - offset);
    p.next_offset += len;
    ++p.in_flight;
    self
      ->request(p.source, std::chrono::seconds(60), pull_atom::value,
                detail::id_bytes(id), offset, len)
      .then(
        [self, id, serial = p.serial, offset](std::vector<char>& chunk) {
          on_chunk(self, id, serial, offset, chunk);
        },
        [self, id, serial = p.serial](caf::error& err) {
          auto i = self->state.pulls.find(id);
          if (i != self->state.pulls.end() && i->second.serial == serial)
            pull_failed(self, id, self->system().render(err));
        });
  }
}

void start_pull(self_ptr self, const object_id& id, const std::string& node,
                std::uint64_t size, caf::actor owner) {
  auto& st = self->state;
  if (st.pulls.count(id) > 0)
    return; // one pull per object, however many wait for it
  auto peer = st.peers.find(node);
  if (peer == st.peers.end() || !peer->second) {
    st.pulls[id].node = node;
    st.pulls[id].owner = owner;
    pull_failed(self, id, "node " + node + " is not reachable");
    return;
  }
  auto& p = st.pulls[id];
  p.serial = ++st.last_pull_serial;
  p.node = node;
  p.source = peer->second;
  p.owner = std::move(owner);
  p.size = size;
  p.buffer.grow(static_cast<std::size_t>(size));
  if (size == 0) {
    std::vector<char> none;
    ++p.in_flight;
    on_chunk(self, id, p.serial, 0, none);
    return;
  }
  request_chunks(self, id);
}

object_store_actor::behavior_type
object_store(self_ptr self, detail::object_table* table, std::string node_id) {
  self->state.table = table;
  self->state.node_id = std::move(node_id);
  return {
    [self](stats_atom) {
      return self->state.table->get_stats();
    },
    [self](pull_atom, const std::vector<char>& idb, std::uint64_t offset,
           std::uint64_t len) -> caf::result<std::vector<char>> {
      object_id id;
      try {
        id = detail::id_from_bytes(idb);
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::invalid_argument, e.what());
      }
      auto ref = self->state.table->lookup(id);
      auto obj = ref ? self->state.table->try_get(ref.get()) : nullptr;
      if (!obj || obj->error)
        return caf::make_error(caf::sec::runtime_error,
                               "object " + id.to_string() + " is not here");
      auto size = obj->bytes.size();
      if (offset > size || len > size - offset)
        return caf::make_error(caf::sec::invalid_argument,
                               "chunk outside the object");
      auto* p = obj->bytes.data() + offset;
      return std::vector<char>(p, p + len);
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
          auto ref = st.table->lookup(id);
          auto obj = ref ? st.table->try_get(ref.get()) : nullptr;
          if (obj && !obj->error) {
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
        if (auto p = st.peers.find(node); p != st.peers.end() && p->second)
          caf::anon_send(p->second, free_atom::value, idb);
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
          if (auto p = st.peers.find(node); p != st.peers.end() && p->second)
            caf::anon_send(p->second, free_atom::value, idb);
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
      } catch (const std::exception&) {
        // No room (or already here): send the value itself instead.
        caf::anon_send(h.owner, result_atom::value,
                       detail::encode_result(h.id, h.value));
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
      self->request(owner, std::chrono::seconds(30), locate_atom::value, idb)
        .then(
          [self, id, owner](std::string& node, std::uint64_t size) {
            if (node.empty())
              fail_pull(self, id, "its owner knows no copy");
            else
              start_pull(self, id, node, size, owner);
          },
          [self, id](caf::error& err) {
            fail_pull(self, id,
                      "its owner did not answer: " +
                        self->system().render(err));
          });
    },
    [self](peers_atom, std::map<std::string, caf::actor>& peers) {
      auto& st = self->state;
      std::set<std::string> gone;
      for (auto& kv : st.peers)
        if (peers.count(kv.first) == 0)
          gone.insert(kv.first);
      st.peers = std::move(peers);
      if (gone.empty())
        return;
      // Values kept for owners whose node is gone.
      std::set<caf::node_id> live{self->node()};
      for (auto& kv : st.peers)
        if (kv.second)
          live.insert(kv.second.node());
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
        if (ref && !st.table->ready(ref.get()) && st.nm)
          caf::anon_send(st.nm, lost_atom::value, detail::id_bytes(id));
      }
    },
    [self](join_atom, caf::actor nm) {
      self->state.nm = std::move(nm);
    },
  };
}

} // namespace

object_store_actor make_object_store(caf::actor_system& sys,
                                     detail::object_table* table,
                                     std::string node_id) {
  return sys.spawn(object_store, table, std::move(node_id));
}

} // namespace lumen

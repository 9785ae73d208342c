// object_store: pulls of values into this node, in chunks through the
// middleman or on the object channel (net/bulk_channel.hpp).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include <caf/send.hpp>

#include "actors/object_store_state.hpp"
#include "log/log.hpp"
#include "lumen/error.hpp"
#include "scheduling/remote_task.hpp"

namespace lumen::detail_object_store {

using detail::object_ptr;

namespace {

/// Pulls after a copy was found to be gone; see `pull_failed`.
constexpr int max_relocations = 8;

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
  finish_pull(self, id, std::move(data));
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

/// Asks the holder for the refs nested in the value of `id`, alongside its
/// bytes: they resolve here as borrowed entries (the holder counted this
/// node as their borrower), and the value holds them once stored.
void request_refs(self_ptr self, const object_id& id) {
  auto& p = self->state.pulls.at(id);
  self
    ->request(p.source, std::chrono::seconds(60), pullrefs_atom::value,
              detail::id_bytes(id))
    .then(
      [self, id, serial = p.serial](std::vector<char>& bytes) {
        auto& st = self->state;
        detail::ref_traffic traffic;
        std::vector<detail::ref_ptr> refs;
        std::string bad;
        try {
          refs = detail::decode_nested(bytes, id, *st.table, traffic);
        } catch (const std::exception& e) {
          bad = e.what();
        }
        on_lend(self, caf::actor{}, traffic);
        auto i = st.pulls.find(id);
        if (i == st.pulls.end() || i->second.serial != serial)
          return; // given up meanwhile: the refs go, given back
        if (!bad.empty()) {
          fail_pull(self, id, "its nested refs came malformed: " + bad);
          return;
        }
        auto& p = i->second;
        p.refs = std::move(refs);
        p.refs_known = true;
        if (p.arrived)
          finish_pull(self, id, std::move(p.arrived));
      },
      [self, id, serial = p.serial](caf::error& err) {
        auto i = self->state.pulls.find(id);
        if (i != self->state.pulls.end() && i->second.serial == serial)
          pull_failed(self, id, self->system().render(err));
      });
}

/// Pulls the value of `id` over the direct channel: a ticket for it goes
/// to the holder inside a pull request. Should the holder answer with an
/// error before its connection arrived (it has no direct channel, or
/// cannot reach ours), the pull goes on in chunks through the middleman.
void start_bulk(self_ptr self, const object_id& id) {
  auto& st = self->state;
  auto& p = st.pulls.at(id);
  auto serial = p.serial;
  object_store_actor handle{self};
  p.ticket =
    st.bulk->expect(p.size, [handle, id, serial](detail::byte_buffer bytes,
                                                 const std::string& error) {
      detail::bulk_arrival a{id, serial, nullptr, error};
      if (error.empty()) {
        auto data = std::make_shared<detail::object_data>();
        data->bytes = std::move(bytes);
        a.data = std::move(data);
      }
      caf::anon_send(handle, pulled_atom::value, std::move(a));
    });
  auto req = detail::id_bytes(id);
  auto ticket = detail::encode_ticket(*p.ticket);
  req.insert(req.end(), ticket.begin(), ticket.end());
  self
    ->request(p.source, std::chrono::seconds(60), pull_atom::value,
              std::move(req), std::uint64_t{0}, p.size)
    .then([](std::vector<char>&) {}, // the value comes as `pulled`
          [self, id, serial](caf::error& err) {
            auto& st = self->state;
            auto i = st.pulls.find(id);
            if (i == st.pulls.end() || i->second.serial != serial)
              return;
            auto& p = i->second;
            if (!p.ticket || !st.bulk->cancel(*p.ticket))
              return; // under way: its end decides, as `pulled`
            detail::log_info(
              "object ", id.to_string(), " from node ", p.node,
              " goes through the middleman: ", self->system().render(err));
            p.ticket.reset();
            p.buffer.grow(static_cast<std::size_t>(p.size));
            request_chunks(self, id);
          });
}

} // namespace

caf::actor store_of(const store_state& st, const caf::actor& owner) {
  if (!owner)
    return {};
  for (auto& [node, p] : st.peers)
    if (p.store && p.store.node() == owner.node())
      return p.store;
  return {};
}

void owner_unknown(self_ptr self, const object_id& id, caf::actor owner) {
  auto& st = self->state;
  if (++st.relocations[id] > max_relocations) {
    fail_pull(self, id,
              "its owner's node (" + to_string(owner.node()) +
                ") is not in this node's cluster view");
    return;
  }
  self->delayed_send(self, std::chrono::milliseconds(200), fetch_atom::value,
                     detail::id_bytes(id), std::move(owner));
}

/// Forgets the pull of `id`, withdrawing its ticket.
void drop_pull(store_state& st, const object_id& id) {
  auto i = st.pulls.find(id);
  if (i == st.pulls.end())
    return;
  if (i->second.ticket && st.bulk)
    st.bulk->cancel(*i->second.ticket);
  st.pulls.erase(i);
}

void fail_pull(self_ptr self, const object_id& id, const std::string& why) {
  detail::log_warn("object ", id.to_string(), " could not be pulled: ", why);
  drop_pull(self->state, id);
  self->state.relocations.erase(id);
  self->state.table->fulfill(
    id, detail::make_error_object(detail::error_kind::object_lost,
                                  "object " + id.to_string() +
                                    " could not be pulled: " + why));
}

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
  detail::log_info("pull of object ", id.to_string(), " from node ", node,
                   " failed: ", why);
  drop_pull(st, id);
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
    if (st.reconstruction) {
      st.wanted.insert(id); // pulled once the rebuilt value is located
      caf::anon_send(st.reconstruction, lost_atom::value, detail::id_bytes(id));
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

void finish_pull(self_ptr self, const object_id& id,
                 std::shared_ptr<detail::object_data> data) {
  auto i = self->state.pulls.find(id);
  if (!i->second.refs_known) {
    i->second.arrived = std::move(data); // finished when its refs come
    return;
  }
  data->refs = std::move(i->second.refs);
  auto owner = i->second.owner;
  auto size = i->second.size;
  self->state.pulls.erase(i);
  self->state.relocations.erase(id);
  self->state.table->fulfill(id, std::move(data));
  // The owner learns of the new copy (none to tell if we are the owner).
  if (owner)
    caf::anon_send(owner, located_atom::value, detail::id_bytes(id),
                   self->state.node_id, size);
}

void start_pull(self_ptr self, const object_id& id, const std::string& node,
                std::uint64_t size, caf::actor owner) {
  auto& st = self->state;
  if (st.pulls.count(id) > 0)
    return; // one pull per object, however many wait for it
  // The size comes from a peer: refuse before allocating what could never
  // be stored (max_object_size, README "Bad input and fuzzing").
  if (auto limit = st.table->max_object_size(); size > limit) {
    auto why = "node " + node + " announced it as " + std::to_string(size) +
               " bytes, more than this node takes (" + std::to_string(limit) +
               " bytes, max_object_size or the store's capacity)";
    detail::log_warn("refused to pull object ", id.to_string(), ": ", why);
    fail_pull(self, id, why);
    return;
  }
  detail::log_debug("pulling object ", id.to_string(), " (", size,
                    " bytes) from node ", node);
  auto peer = st.peers.find(node);
  if (peer == st.peers.end() || !peer->second.store) {
    st.pulls[id].node = node;
    st.pulls[id].owner = owner;
    pull_failed(self, id, "node " + node + " is not reachable");
    return;
  }
  auto& p = st.pulls[id];
  p.serial = ++st.last_pull_serial;
  p.node = node;
  p.source = peer->second.store;
  p.owner = std::move(owner);
  p.size = size;
  request_refs(self, id);
  if (size == 0) {
    std::vector<char> none;
    ++p.in_flight;
    on_chunk(self, id, p.serial, 0, none);
    return;
  }
  if (st.bulk && !peer->second.bulk_address.empty()) {
    start_bulk(self, id);
    return;
  }
  p.buffer.grow(static_cast<std::size_t>(size));
  request_chunks(self, id);
}

} // namespace lumen::detail_object_store

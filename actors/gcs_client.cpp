// gcs_client: forwarding, the outage queue, reconnecting, re-announcing.
#include "actors/gcs_client.hpp"

#include <deque>
#include <iostream>
#include <map>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/message.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

namespace lumen {

namespace {

/// How long the client waits for its own requests after a reconnect.
constexpr auto replay_timeout = std::chrono::seconds{10};

struct client_state {
  std::string host;
  std::uint16_t port = 0;
  /// The GCS while connected, null during an outage.
  caf::actor gcs;
  /// Detached helper that runs the blocking `remote_actor`.
  caf::actor connector;
  bool connecting = false;
  std::chrono::steady_clock::time_point lost_at;
  /// What the node registered with: its last record and node manager.
  bool registered = false;
  std::vector<char> record;
  caf::actor manager;
  /// The `actoradd` messages of actors registered through this node and
  /// not ended since, by actor id.
  std::map<std::string, caf::message> actors;
  /// Messages that came during an outage, with their senders' promises.
  std::deque<std::pair<caf::message, caf::response_promise>> queue;
  const char* name = "lumen.gcs_client";
};

using client_ptr = caf::stateful_actor<client_state>*;

std::string where(const client_state& st) {
  return st.host + ":" + std::to_string(st.port);
}

/// Sends `msg` on to the GCS for the sender of the current message, or
/// queues it until the GCS is back.
caf::result<caf::message> forward(client_ptr self, caf::message msg) {
  auto& st = self->state;
  auto rp = self->make_response_promise();
  if (st.gcs)
    rp.delegate(st.gcs, std::move(msg));
  else
    st.queue.emplace_back(std::move(msg), rp);
  return rp;
}

void try_connect(client_ptr self);

void connected(client_ptr self, caf::actor gcs) {
  auto& st = self->state;
  st.gcs = gcs;
  self->monitor(gcs);
  auto down_for = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - st.lost_at);
  std::cerr << "lumen: reconnected to the GCS at " << where(st) << " after "
            << down_for.count() << " ms\n";
  if (st.registered) {
    auto manager = st.manager;
    self
      ->request(gcs, replay_timeout, register_atom::value, st.record,
                st.manager)
      .then(
        [self, manager](std::vector<char>& view,
                        std::vector<caf::actor>& managers) {
          self->send(manager, view_atom::value, std::move(view),
                     std::move(managers));
        },
        [self](caf::error& err) {
          std::cerr << "lumen: the GCS at " << where(self->state)
                    << " did not take this node back: "
                    << self->system().render(err) << '\n';
        });
  }
  for (auto& [id, msg] : st.actors)
    self->request(gcs, replay_timeout, msg)
      .then(
        [id = id](bool added) {
          if (!added)
            std::cerr << "lumen: actor " << id
                      << " lost its name while the head was away\n";
        },
        [id = id, self](caf::error& err) {
          std::cerr << "lumen: could not announce actor " << id
                    << " again: " << self->system().render(err) << '\n';
        });
  auto queued = std::move(st.queue);
  st.queue.clear();
  for (auto& [msg, rp] : queued)
    rp.delegate(gcs, std::move(msg));
}

void try_connect(client_ptr self) {
  auto& st = self->state;
  if (st.connecting || st.gcs)
    return;
  st.connecting = true;
  self
    ->request(st.connector, caf::infinite, reconnect_atom::value, st.host,
              st.port)
    .then(
      [self](caf::actor& gcs) {
        self->state.connecting = false;
        connected(self, std::move(gcs));
      },
      [self](caf::error&) {
        self->state.connecting = false;
        self->delayed_send(self, reconnect_interval, retry_atom::value);
      });
}

/// The helper that connects: `remote_actor` blocks its thread.
caf::behavior connector(caf::event_based_actor* self) {
  return {
    [self](reconnect_atom, const std::string& host,
           std::uint16_t port) -> caf::result<caf::actor> {
      auto gcs = self->system().middleman().remote_actor<gcs_actor>(host, port);
      if (!gcs)
        return std::move(gcs.error());
      return caf::actor_cast<caf::actor>(std::move(*gcs));
    },
  };
}

caf::behavior gcs_client(client_ptr self, caf::actor gcs, std::string host,
                         std::uint16_t port) {
  auto& st = self->state;
  st.host = std::move(host);
  st.port = port;
  st.gcs = std::move(gcs);
  self->monitor(st.gcs);
  st.connector = self->spawn<caf::detached + caf::linked>(connector);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (!st.gcs || msg.source != st.gcs.address())
      return;
    st.gcs = nullptr;
    st.lost_at = std::chrono::steady_clock::now();
    std::cerr << "lumen: lost the connection to the GCS at " << where(st)
              << " (" << self->system().render(msg.reason)
              << "); this node keeps running and reconnects every "
              << reconnect_interval.count() << " ms\n";
    try_connect(self);
  });
  self->set_default_handler(
    [](caf::scheduled_actor* ptr,
       caf::message_view& x) -> caf::result<caf::message> {
      return forward(static_cast<client_ptr>(ptr),
                     x.move_content_to_message());
    });
  return {
    [self](retry_atom) {
      try_connect(self);
    },
    [self](heartbeat_atom, std::vector<char>& rec) {
      auto& st = self->state;
      st.record = rec;
      if (st.gcs)
        self->send(st.gcs, heartbeat_atom::value, std::move(rec));
    },
    [self](register_atom, std::vector<char>& rec,
           caf::actor& manager) -> caf::result<caf::message> {
      auto& st = self->state;
      st.registered = true;
      st.record = rec;
      st.manager = manager;
      return forward(self, caf::make_message(register_atom::value,
                                             std::move(rec),
                                             std::move(manager)));
    },
    [self](actor_add_atom, std::string& id, std::string& name, std::string& ns,
           std::uint64_t class_hash, caf::actor& host,
           bool detached) -> caf::result<caf::message> {
      auto msg = caf::make_message(actor_add_atom::value, id, std::move(name),
                                   std::move(ns), class_hash, std::move(host),
                                   detached);
      self->state.actors[std::move(id)] = msg;
      return forward(self, std::move(msg));
    },
    [self](actor_dead_atom, std::string& id) -> caf::result<caf::message> {
      self->state.actors.erase(id);
      return forward(self,
                     caf::make_message(actor_dead_atom::value, std::move(id)));
    },
  };
}

} // namespace

gcs_actor make_gcs_client(caf::actor_system& sys, gcs_actor gcs,
                          std::string host, std::uint16_t port) {
  return caf::actor_cast<gcs_actor>(
    sys.spawn(gcs_client, caf::actor_cast<caf::actor>(std::move(gcs)),
              std::move(host), port));
}

} // namespace lumen

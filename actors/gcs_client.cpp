// gcs_client: relaying, the outage queue, reconnecting, re-announcing.
//
// The client has one handler per message of gcs_actor, generated from its
// signatures (`relay`). A request is relayed with a request of the client's
// own, and the answer goes back to the sender through its promise: that way
// the client knows which requests the GCS has not answered, and sends
// those again after a reconnect (a request sent just as the head died is
// lost on the way, and CAF reports nothing, see TOOLCHAIN.md).
#include "actors/gcs_client.hpp"

#include <exception>
#include <functional>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/message.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/gatekeeper.hpp"
#include "gcs/declared_dead.hpp"
#include "log/log.hpp"
#include "net/transport.hpp"
#include "wire/cluster_types.hpp"

namespace lumen {

namespace {

struct client_state;

using client_ptr = caf::stateful_actor<client_state>*;

/// A message on its way to the GCS; `send` sends it to the current GCS.
struct call {
  std::function<void(client_ptr, std::uint64_t key)> send;
  /// Sent to the current GCS and not answered yet.
  bool sent = false;
};

/// An actor registered through this node, to announce again.
struct actor_entry {
  std::string name;
  std::string ns;
  std::uint64_t class_hash = 0;
  caf::actor host;
  bool detached = false;
};

struct client_state {
  std::string host;
  std::uint16_t port = 0;
  /// The cluster token the head's gatekeeper asks for on every connection.
  std::string token;
  /// Why the last attempt to reconnect failed, logged when it changes.
  std::string last_failure;
  /// The GCS while connected, null during an outage.
  gcs_actor gcs;
  /// Detached helper that runs the blocking `remote_actor`.
  caf::actor connector;
  bool connecting = false;
  std::chrono::steady_clock::time_point lost_at;
  /// What the node registered with: its last record and cluster link.
  bool registered = false;
  std::vector<char> record;
  caf::actor manager;
  caf::actor store;
  /// Actors registered through this node and not ended since, by id.
  std::map<std::string, actor_entry> actors;
  /// Messages not sent yet (outage) or requests not answered yet, in the
  /// order they came.
  std::map<std::uint64_t, call> calls;
  std::uint64_t next_key = 0;
  const char* name = "lumen.gcs_client";
};

std::string where(const client_state& st) {
  return st.host + ":" + std::to_string(st.port);
}

void send_call(client_ptr self, std::uint64_t key) {
  auto& c = self->state.calls.at(key);
  c.sent = true;
  auto send = c.send; // may erase the call
  send(self, key);
}

void add_call(client_ptr self, call c) {
  auto& st = self->state;
  auto key = st.next_key++;
  st.calls.emplace(key, std::move(c));
  if (st.gcs)
    send_call(self, key);
}

/// Whether `err` says the connection to the GCS went, not the GCS.
bool lost_on_the_way(const caf::error& err) {
  return err == caf::exit_reason::remote_link_unreachable ||
         err == caf::sec::request_receiver_down ||
         err == caf::sec::no_route_to_receiving_node;
}

/// Call `key`, sent to the GCS at `to`, was lost with the connection: sent
/// again at once if another GCS is connected now, else after reconnecting.
void resend_later(client_ptr self, std::uint64_t key,
                  const caf::actor_addr& to) {
  auto& st = self->state;
  auto i = st.calls.find(key);
  if (i == st.calls.end())
    return;
  i->second.sent = false;
  if (st.gcs && st.gcs.address() != to)
    send_call(self, key);
}

/// What to do with the answer to a request.
template <class... Os>
struct answer {
  std::function<void(Os&...)> value;
  std::function<void(caf::error&)> error;
};

/// Passes the answer on to the sender of a relayed request.
template <class... Os>
answer<Os...> to_sender(caf::response_promise rp) {
  return {[rp](Os&... xs) mutable {
            rp.deliver(std::move(xs)...);
          },
          [rp](caf::error& err) mutable {
            rp.deliver(std::move(err));
          }};
}

/// The `send` of a call that makes the request `args` and hands the first
/// answer to `on`.
template <class... Os, class... Ts>
std::function<void(client_ptr, std::uint64_t)>
request_call(answer<Os...> on, std::tuple<Ts...> args) {
  return [on, args = std::move(args)](client_ptr self, std::uint64_t key) {
    std::apply(
      [&](const auto&... xs) {
        self->request(self->state.gcs, caf::infinite, xs...)
          .then(
            [self, key, on](Os&... ys) {
              // Only the first answer counts (a call sent again after a
              // reconnect leaves a handler for the old GCS behind).
              if (self->state.calls.erase(key) > 0)
                on.value(ys...);
            },
            [self, key, on, to = self->state.gcs.address()](caf::error& err) {
              if (lost_on_the_way(err)) {
                resend_later(self, key, to);
                return;
              }
              if (self->state.calls.erase(key) > 0)
                on.error(err);
            });
      },
      args);
  };
}

/// The `send` of a call without an answer.
template <class... Ts>
std::function<void(client_ptr, std::uint64_t)>
message_call(std::tuple<Ts...> args) {
  return [args = std::move(args)](client_ptr self, std::uint64_t key) {
    std::apply(
      [&](const auto&... xs) {
        self->send(self->state.gcs, xs...);
      },
      args);
    self->state.calls.erase(key);
  };
}

/// The call that relays a message whose answer has types `Os`.
template <class... Os>
struct relay_call {
  template <class... Ts>
  std::function<void(client_ptr, std::uint64_t)>
  operator()(caf::response_promise rp, std::tuple<Ts...> args) const {
    return request_call(to_sender<Os...>(std::move(rp)), std::move(args));
  }
};

template <>
struct relay_call<void> {
  template <class... Ts>
  std::function<void(client_ptr, std::uint64_t)>
  operator()(caf::response_promise, std::tuple<Ts...> args) const {
    return message_call(std::move(args));
  }
};

// -- what the client notes on the way (true: relay the message) ---------------

template <class... Ts>
bool note(client_ptr, const Ts&...) {
  return true;
}

bool note(client_ptr self, heartbeat_atom, const std::vector<char>& rec) {
  auto& st = self->state;
  st.record = rec;
  return static_cast<bool>(st.gcs); // stale once the GCS is back
}

bool note(client_ptr self, register_atom, const std::vector<char>& rec,
          const caf::actor& manager, const caf::actor& store) {
  auto& st = self->state;
  st.registered = true;
  st.record = rec;
  st.manager = manager;
  st.store = store;
  return true;
}

bool note(client_ptr self, actor_add_atom, const std::string& id,
          const std::string& name, const std::string& ns,
          std::uint64_t class_hash, const caf::actor& host, bool detached) {
  self->state.actors[id] = actor_entry{name, ns, class_hash, host, detached};
  return true;
}

bool note(client_ptr self, actor_dead_atom, const std::string& id,
          const caf::actor_addr&) {
  // Any end this process reports (its host, or its forwarder of an actor
  // living elsewhere) ends its own announcement.
  self->state.actors.erase(id);
  return true;
}

/// The handler of one message of gcs_actor.
template <class Signature>
struct relay;

template <class... Is, class... Os>
struct relay<
  caf::typed_mpi<caf::detail::type_list<Is...>, caf::output_tuple<Os...>>> {
  client_ptr self;

  caf::result<caf::message> operator()(Is&... xs) const {
    if (!note(self, xs...))
      return caf::message{};
    auto rp = self->make_response_promise();
    add_call(
      self,
      call{relay_call<Os...>{}(rp, std::make_tuple(std::move(xs)...)), false});
    return rp;
  }
};

template <class F, class... Signatures>
caf::behavior relays(client_ptr self, caf::detail::type_list<Signatures...>,
                     F own) {
  return {std::move(own), relay<Signatures>{self}...};
}

// -- connecting ---------------------------------------------------------------

/// The GCS refused to take the node back: it declared it dead.
void declared_dead(client_ptr self, const std::string& why) {
  std::string id;
  try {
    auto& rec = self->state.record;
    id = detail::decode_node_record(rec.data(), rec.size()).id;
  } catch (const std::exception&) {
    // the reason still names the node
  }
  detail::declared_dead(id, "it refused to take the node back (" + why + ")");
}

void connected(client_ptr self, gcs_actor gcs) {
  auto& st = self->state;
  st.gcs = gcs;
  self->monitor(gcs);
  auto down_for = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - st.lost_at);
  detail::log_info("reconnected to the GCS at ", where(st), " after ",
                   down_for.count(), " ms");
  // What waited goes after the node and its actors.
  std::vector<std::uint64_t> waiting;
  for (auto& [key, c] : st.calls)
    if (!c.sent)
      waiting.push_back(key);
  if (st.registered) {
    auto manager = st.manager;
    answer<std::vector<char>, std::vector<caf::actor>, std::vector<caf::actor>>
      on{[self, manager](std::vector<char>& view,
                         std::vector<caf::actor>& managers,
                         std::vector<caf::actor>& stores) {
           self->send(manager, view_atom::value, view, managers, stores);
         },
         [self](caf::error& err) {
           auto why = self->system().render(err);
           detail::log_warn("the GCS at ", where(self->state),
                            " did not take this node back: ", why);
           if (why.find("was declared dead") != std::string::npos)
             declared_dead(self, why);
         }};
    add_call(self,
             call{request_call(std::move(on),
                               std::make_tuple(register_atom::value, st.record,
                                               st.manager, st.store)),
                  false});
  }
  for (auto& [id, a] : st.actors) {
    answer<bool> on{[id = id](bool& added) {
                      if (!added)
                        detail::log_warn("actor ", id,
                                         " lost its name while the head was "
                                         "away");
                    },
                    [self, id = id](caf::error& err) {
                      detail::log_warn("could not announce actor ", id,
                                       " again: ", self->system().render(err));
                    }};
    add_call(self, call{request_call(std::move(on),
                                     std::make_tuple(actor_add_atom::value, id,
                                                     a.name, a.ns, a.class_hash,
                                                     a.host, a.detached)),
                        false});
  }
  for (auto key : waiting)
    if (st.gcs && st.calls.count(key) > 0)
      send_call(self, key);
}

void try_connect(client_ptr self) {
  auto& st = self->state;
  if (st.connecting || st.gcs)
    return;
  st.connecting = true;
  self
    ->request(st.connector, caf::infinite, reconnect_atom::value, st.host,
              st.port, st.token)
    .then(
      [self](caf::actor& gcs, std::string& why) {
        auto& st = self->state;
        st.connecting = false;
        if (gcs) {
          st.last_failure.clear();
          connected(self, caf::actor_cast<gcs_actor>(std::move(gcs)));
          return;
        }
        // A head that is still down fails the same way every time; a
        // refused token is worth a line.
        if (why.find("did not admit") != std::string::npos &&
            why != st.last_failure)
          detail::log_error(why);
        st.last_failure = std::move(why);
        self->delayed_send(self, reconnect_interval, retry_atom::value);
      },
      [self](caf::error&) {
        self->state.connecting = false;
        self->delayed_send(self, reconnect_interval, retry_atom::value);
      });
}

/// The helper that connects (through the node's transport, TLS or not)
/// and presents the token: both block its thread. Answers the GCS, or a
/// null handle and why not.
caf::behavior connector(caf::event_based_actor* self) {
  return {
    [self](reconnect_atom, const std::string& host, std::uint16_t port,
           const std::string& token) {
      auto found = detail::connect_gcs(self->system(), host, port, token,
                                       detail::connect_timeout);
      return caf::make_message(caf::actor_cast<caf::actor>(found.gcs),
                               found.error);
    },
  };
}

caf::behavior gcs_client(client_ptr self, caf::actor gcs, std::string host,
                         std::uint16_t port, std::string token) {
  auto& st = self->state;
  st.host = std::move(host);
  st.port = port;
  st.token = std::move(token);
  st.gcs = caf::actor_cast<gcs_actor>(std::move(gcs));
  self->monitor(st.gcs);
  st.connector = self->spawn<caf::detached + caf::linked>(connector);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (!st.gcs || msg.source != st.gcs.address())
      return;
    st.gcs = nullptr;
    st.lost_at = std::chrono::steady_clock::now();
    // What the old GCS did not answer goes to the next one.
    for (auto& kv : st.calls)
      kv.second.sent = false;
    detail::log_warn("lost the connection to the GCS at ", where(st), " (",
                     self->system().render(msg.reason),
                     "); this node keeps running and reconnects every ",
                     reconnect_interval.count(), " ms");
    // Not at once: the middleman forgets the dead connection only when its
    // own down message arrives, and would hand out the dead handle again.
    self->delayed_send(self, reconnect_interval, retry_atom::value);
  });
  return relays(self, gcs_actor::signatures{}, [self](retry_atom) {
    try_connect(self);
  });
}

} // namespace

gcs_actor make_gcs_client(caf::actor_system& sys, gcs_actor gcs,
                          std::string host, std::uint16_t port,
                          std::string token) {
  return caf::actor_cast<gcs_actor>(
    sys.spawn(gcs_client, caf::actor_cast<caf::actor>(std::move(gcs)),
              std::move(host), port, std::move(token)));
}

namespace detail {

gcs_connection connect_gcs(caf::actor_system& sys, const std::string& host,
                           std::uint16_t port, const std::string& token,
                           std::chrono::milliseconds timeout) {
  gcs_connection out;
  auto where = host + ":" + std::to_string(port);
  auto started = std::chrono::steady_clock::now();
  auto whom = connect_actor(sys, host, port,
                            sys.message_types<gated_gcs_actor>(), timeout);
  if (!whom) {
    out.error =
      "cannot reach the head at " + where + ": " + sys.render(whom.error()) +
      (uses_tls(sys) ? " (this node uses TLS: does the head, with a "
                       "certificate from the same CA?)"
                     : " (this node does not use TLS: if the head does, give "
                       "this node tls-certificate, tls-key and tls-ca)");
    return out;
  }
  auto gate = caf::actor_cast<gated_gcs_actor>(std::move(*whom));
  auto left = timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started);
  auto why = say_hello(sys, caf::actor_cast<door_actor>(gate), token,
                       std::max(left, std::chrono::milliseconds{1000}));
  if (!why.empty()) {
    out.error = "the head at " + where + " did not admit this node: " + why;
    return out;
  }
  out.gcs = caf::actor_cast<gcs_actor>(std::move(gate));
  return out;
}

} // namespace detail

} // namespace lumen

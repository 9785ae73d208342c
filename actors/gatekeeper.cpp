// gatekeeper and door: the hello, the admitted nodes, and the relay of
// gcs_actor's messages (one handler per signature, as in gcs_client.cpp).
#include "actors/gatekeeper.hpp"

#include <map>
#include <set>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/node_id.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "log/log.hpp"
#include "net/token.hpp"

namespace lumen {

namespace {

/// What a gatekeeper or a door knows.
struct gate_state {
  /// The cluster token; empty admits every node.
  std::string token;
  /// The GCS behind a gatekeeper; null for a door.
  gcs_actor inner;
  /// Nodes that presented the token.
  std::set<caf::node_id> admitted;
  /// Nodes whose dropped messages were logged already.
  std::set<caf::node_id> logged;
  /// The last refusal logged per node: a node that keeps retrying with
  /// the same wrong token is logged once.
  std::map<caf::node_id, std::string> refused;
  const char* name = "lumen.gatekeeper";
};

/// Entries of `logged` and `refused` kept at most: past it they start
/// afresh (a stranger could claim any number of node ids).
constexpr std::size_t max_log_memory = 4096;

/// Renders the node of the current sender for the log.
std::string sender_node(caf::local_actor* self) {
  auto& sender = self->current_sender();
  return sender ? to_string(sender->node()) : std::string{"(anonymous)"};
}

/// The answer to (hello, given); admits the sender's node when right.
std::tuple<bool, std::string>
answer_hello(caf::local_actor* self, gate_state& st, const std::string& given) {
  if (st.token.empty())
    return {true, ""};
  std::string why;
  if (given.empty())
    why = "this cluster requires a token and none was given";
  else if (!detail::constant_time_equal(given, st.token))
    why = "wrong cluster token";
  auto& sender = self->current_sender();
  if (why.empty() && !sender)
    why = "an anonymous hello cannot be admitted";
  if (!why.empty()) {
    auto node = sender ? sender->node() : caf::node_id{};
    if (st.refused.size() >= max_log_memory)
      st.refused.clear();
    auto& last = st.refused[node];
    if (last != why)
      detail::log_warn("refused node ", sender_node(self), ": ", why,
                       " (logged once per node and reason)");
    last = why;
    return {false, why};
  }
  st.admitted.insert(sender->node());
  return {true, ""};
}

template <class Self>
bool admitted(Self* self) {
  auto& st = self->state;
  if (st.token.empty())
    return true;
  auto& sender = self->current_sender();
  if (sender &&
      (sender->node() == self->node() || st.admitted.count(sender->node()) > 0))
    return true;
  auto node = sender ? sender->node() : caf::node_id{};
  if (st.logged.size() >= max_log_memory)
    st.logged.clear();
  if (st.logged.insert(node).second)
    detail::log_warn("dropped a message from node ", sender_node(self),
                     ": it has not presented the cluster token (further "
                     "messages from it are dropped without a log line)");
  return false;
}

using gate_ptr = gated_gcs_actor::stateful_pointer<gate_state>;
using door_ptr = door_actor::stateful_pointer<gate_state>;

/// The handler of one message of gcs_actor: delegated once admitted.
template <class Signature>
struct gate;

template <class... Is, class... Os>
struct gate<
  caf::typed_mpi<caf::detail::type_list<Is...>, caf::output_tuple<Os...>>> {
  gate_ptr self;

  caf::result<Os...> operator()(Is&... xs) const {
    if (!admitted(self))
      return caf::make_error(caf::sec::runtime_error,
                             "not admitted: this node has not presented the "
                             "cluster token");
    return self->delegate(self->state.inner, std::move(xs)...);
  }
};

template <class... Signatures>
gated_gcs_actor::behavior_type gates(gate_ptr self,
                                     caf::detail::type_list<Signatures...>) {
  return {
    [self](hello_atom, const std::string& given) {
      return answer_hello(self, self->state, given);
    },
    gate<Signatures>{self}...,
  };
}

gated_gcs_actor::behavior_type gatekeeper(gate_ptr self, gcs_actor gcs,
                                          std::string token) {
  self->state.inner = std::move(gcs);
  self->state.token = std::move(token);
  return gates(self, gcs_actor::signatures{});
}

door_actor::behavior_type door(door_ptr self, std::string token) {
  self->state.name = "lumen.door";
  self->state.token = std::move(token);
  return {
    [self](hello_atom, const std::string& given) {
      return answer_hello(self, self->state, given);
    },
  };
}

} // namespace

gated_gcs_actor make_gatekeeper(caf::actor_system& sys, gcs_actor gcs,
                                std::string token) {
  return sys.spawn(gatekeeper, std::move(gcs), std::move(token));
}

door_actor make_door(caf::actor_system& sys, std::string token) {
  return sys.spawn(door, std::move(token));
}

std::string say_hello(caf::actor_system& sys, const door_actor& door,
                      const std::string& token,
                      std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys};
  std::string why;
  self->request(door, timeout, hello_atom::value, token)
    .receive(
      [&](bool accepted, const std::string& reason) {
        if (!accepted)
          why = "it refused this node's cluster token (" + reason +
                "); give this node the cluster's token: token or token-file "
                "in its config, LUMEN_TOKEN, or lumen::config::token";
      },
      [&](const caf::error& err) {
        why = "no answer to the token check (" + sys.render(err) + ")";
      });
  return why;
}

} // namespace lumen

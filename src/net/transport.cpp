// configure_transport and connect_actor.
#include "net/transport.hpp"

#include <map>
#include <mutex>

#include <caf/actor_cast.hpp>
#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/network/scribe_impl.hpp>
#include <caf/node_id.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

#include "net/tls_files.hpp"
#include "net/tls_transport.hpp"
#include "net/transport_guard.hpp"

namespace lumen::detail {

namespace {

/// CAF's doorman whose connections are plain, unguarded bulk scribes
/// (CAF's own would come from the guarded multiplexer, which expects BASP).
class plain_stream_doorman : public caf::io::network::doorman_impl {
 public:
  plain_stream_doorman(caf::io::network::default_multiplexer& mx,
                       caf::io::network::native_socket fd,
                       bulk_accept_hook hook)
    : caf::io::network::doorman_impl(mx, fd), hook_(std::move(hook)) {}

  bool new_connection() override {
    if (detached())
      return false;
    auto& dm = acceptor_.backend();
    auto fd = acceptor_.accepted_socket();
    caf::io::network::nonblocking(fd, true);
    auto scribe = caf::make_counted<bulk_scribe>(dm, fd, make_plain_io());
    if (hook_)
      hook_(scribe);
    auto hdl = scribe->hdl();
    parent()->add_scribe(std::move(scribe));
    return doorman::new_connection(&dm, hdl);
  }

 private:
  bulk_accept_hook hook_;
};

/// The TLS middleman actor of each actor system that has one (a process
/// may hold several systems: a node's, `lumen status`'s, a test's).
std::mutex tls_mtx;
std::map<const caf::actor_system*, caf::io::middleman_actor> tls_actors;

caf::io::middleman_actor tls_actor_of(caf::actor_system& sys) {
  std::lock_guard guard{tls_mtx};
  auto i = tls_actors.find(&sys);
  return i == tls_actors.end() ? caf::io::middleman_actor{} : i->second;
}

} // namespace

void configure_transport(caf::actor_system_config& cfg) {
  // Plain TCP connections refuse messages above max-message-size
  // (net/transport_guard.hpp).
  cfg.load<caf::io::middleman, guarded_multiplexer>();
  cfg.set("middleman.enable-automatic-connections", false);
}

void start_transport(caf::actor_system& sys, const tls_config& tls) {
  if (!tls_configured(tls))
    return;
  auto actor = make_tls_middleman(sys, tls);
  std::lock_guard guard{tls_mtx};
  tls_actors[&sys] = std::move(actor);
}

void stop_transport(caf::actor_system& sys) {
  caf::io::middleman_actor actor;
  {
    std::lock_guard guard{tls_mtx};
    auto i = tls_actors.find(&sys);
    if (i == tls_actors.end())
      return;
    actor = std::move(i->second);
    tls_actors.erase(i);
  }
  // `kill`, as CAF's OpenSSL module stops its actor: the middleman
  // actor's behavior does not end on a plain exit message.
  caf::scoped_actor self{sys};
  self->send_exit(actor, caf::exit_reason::kill);
  self->wait_for(actor);
  forget_tls_context(sys);
}

bool uses_tls(caf::actor_system& sys) {
  return static_cast<bool>(tls_actor_of(sys));
}

caf::io::middleman_actor transport_actor(caf::actor_system& sys) {
  if (auto actor = tls_actor_of(sys))
    return actor;
  return sys.middleman().actor_handle();
}

caf::expected<std::uint16_t> publish_actor(caf::actor_system& sys,
                                           caf::strong_actor_ptr whom,
                                           std::set<std::string> interface,
                                           std::uint16_t port,
                                           const std::string& host) {
  caf::scoped_actor self{sys};
  caf::expected<std::uint16_t> result{caf::sec::cannot_open_port};
  self
    ->request(transport_actor(sys), caf::infinite, caf::publish_atom::value,
              port, std::move(whom), std::move(interface), host, true)
    .receive(
      [&](std::uint16_t actual) {
        result = actual;
      },
      [&](caf::error& err) {
        result = std::move(err);
      });
  return result;
}

caf::expected<caf::strong_actor_ptr>
connect_actor(caf::actor_system& sys, const std::string& host,
              std::uint16_t port, const std::set<std::string>& interface,
              std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys};
  caf::expected<caf::strong_actor_ptr> result{caf::sec::cannot_connect_to_node};
  self
    ->request(transport_actor(sys), timeout, caf::connect_atom::value, host,
              port)
    .receive(
      [&](const caf::node_id&, caf::strong_actor_ptr& whom,
          const std::set<std::string>& offered) {
        if (!whom)
          result = caf::sec::no_actor_published_at_port;
        else if (!sys.assignable(offered, interface))
          result = caf::sec::unexpected_actor_messaging_interface;
        else
          result = std::move(whom);
      },
      [&](caf::error& err) {
        result = std::move(err);
      });
  return result;
}

bulk_scribe_ptr stream_scribe(caf::actor_system& sys,
                              caf::io::network::native_socket fd,
                              bool accepted) {
  if (uses_tls(sys))
    return tls_stream_scribe(sys, fd, accepted);
  auto& mpx = static_cast<caf::io::network::default_multiplexer&>(
    sys.middleman().backend());
  return caf::make_counted<bulk_scribe>(mpx, fd, make_plain_io());
}

caf::io::doorman_ptr stream_doorman(caf::actor_system& sys,
                                    caf::io::network::native_socket fd,
                                    bulk_accept_hook hook) {
  if (uses_tls(sys))
    return tls_stream_doorman(sys, fd, std::move(hook));
  auto& mpx = static_cast<caf::io::network::default_multiplexer&>(
    sys.middleman().backend());
  return caf::make_counted<plain_stream_doorman>(mpx, fd, std::move(hook));
}

} // namespace lumen::detail

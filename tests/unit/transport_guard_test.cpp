// Tests of the message size guard below CAF's BASP
// (src/net/transport_guard.hpp): real actor systems in this process,
// connected over loopback TCP, and raw sockets that speak bad BASP.
#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/node_id.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "lumen/error.hpp"
#include "net/guard_state.hpp"
#include "net/transport_guard.hpp"

using lumen::detail::drop_oversized_frames;
using lumen::detail::guarded_multiplexer;

namespace {

/// A BASP header (CAF 0.17, network byte order) with `payload` bytes after.
std::vector<char> frame(std::uint8_t op, std::uint32_t payload_len,
                        std::size_t payload, std::uint64_t dest = 0,
                        std::uint64_t op_data = 0) {
  std::vector<char> out(32 + payload, 'p');
  out[0] = static_cast<char>(op);
  out[1] = out[2] = out[3] = 0;
  for (int i = 0; i < 4; ++i)
    out[static_cast<std::size_t>(4 + i)] =
      static_cast<char>((payload_len >> (24 - 8 * i)) & 0xff);
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(8 + i)] =
      static_cast<char>((op_data >> (56 - 8 * i)) & 0xff);
  for (int i = 16; i < 24; ++i)
    out[static_cast<std::size_t>(i)] = 0;
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(24 + i)] =
      static_cast<char>((dest >> (56 - 8 * i)) & 0xff);
  return out;
}

std::vector<char> cat(std::vector<std::vector<char>> parts) {
  std::vector<char> out;
  for (auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct guarded_config : caf::actor_system_config {
  explicit guarded_config(std::size_t limit) {
    load<caf::io::middleman, guarded_multiplexer>();
    lumen::detail::set_max_message_size(*this, limit);
    set("scheduler.max-threads", std::size_t{2});
  }
};

/// A raw TCP connection to 127.0.0.1:`port`, with a 5 s receive timeout.
int connect_raw(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

/// Reads until the peer closes the connection (a reset, when it closed
/// with our bytes unread); false on a timeout.
bool closed_by_peer(int fd) {
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      return true;
    if (n < 0)
      return false;
  }
}

} // namespace

TEST_CASE("transport guard: oversized frames leave a write buffer",
          "[transport_guard]") {
  auto small = frame(2, 10, 10);
  auto big = frame(2, 100, 100);
  auto heartbeat = frame(6, 0, 0);
  auto buf = cat({small, big, heartbeat, big, small});
  CHECK(drop_oversized_frames(buf, 50, "peer") == 2);
  CHECK(buf == cat({small, heartbeat, small}));
  CHECK(drop_oversized_frames(buf, 50, "peer") == 0);
  // A frame announcing more than the buffer holds is not judged, nor is
  // anything after it.
  auto cut = cat({big, frame(2, 200, 10)});
  CHECK(drop_oversized_frames(cut, 50, "peer") == 1);
  CHECK(cut == frame(2, 200, 10));
  std::vector<char> empty;
  CHECK(drop_oversized_frames(empty, 50, "peer") == 0);
  // From an offset on: what came before is left as it is.
  auto tail = cat({big, small, big});
  CHECK(drop_oversized_frames(tail, 50, "peer", big.size()) == 1);
  CHECK(tail == cat({big, small}));
  // A config without the key yields the default.
  caf::actor_system_config plain;
  CHECK(lumen::detail::max_message_size(plain) ==
        lumen::default_max_message_size);
  lumen::config c;
  c.max_message_size = 1024;
  CHECK_THROWS_AS(lumen::detail::check_size_limits(c), lumen::error);
}

TEST_CASE("transport guard: headers BASP must not see are named",
          "[transport_guard]") {
  using lumen::detail::basp_header_problem;
  std::size_t len = 0;
  std::uint8_t op = 0;
  auto problem = [&](const std::vector<char>& h) {
    return basp_header_problem(h.data(), 32, &len, &op);
  };
  // Handshakes without payload: CAF 0.17.6 would read a null payload.
  CHECK_THAT(problem(frame(0, 0, 0, 0, 1)),
             Catch::Matchers::Contains("handshake without payload"));
  CHECK_THAT(problem(frame(1, 0, 0)),
             Catch::Matchers::Contains("handshake without payload"));
  // No BASP header at all.
  CHECK_THAT(problem(frame(9, 0, 0)),
             Catch::Matchers::Contains("not a BASP message"));
  CHECK_THAT(problem(frame(2, 10, 0, 0)), // a message to actor 0
             Catch::Matchers::Contains("not a BASP message"));
  // Fine, and the announced length comes back.
  CHECK(problem(frame(1, 40, 0)).empty());
  CHECK(len == 40);
  CHECK(op == 1);
  CHECK(problem(frame(6, 0, 0)).empty()); // a heartbeat
  CHECK(problem(frame(2, 77, 0, 5)).empty());
  CHECK(len == 77);
}

TEST_CASE("transport guard: bad frames close their connection only",
          "[transport_guard]") {
  constexpr std::size_t limit = 1 << 20;
  guarded_config server_cfg{limit};
  caf::actor_system server{server_cfg};
  auto echo = server.spawn([]() -> caf::behavior {
    return {
      [](const std::vector<char>& v) {
        return static_cast<std::uint64_t>(v.size());
      },
    };
  });
  auto port = server.middleman().publish(echo, 0, "127.0.0.1");
  REQUIRE(port);
  // A client handshake announcing 4 GiB - 16 before any handshake, and a
  // direct message announcing 2 GiB: each connection is closed at once,
  // nothing is allocated (with CAF alone the first resizes a buffer to
  // 4 GiB on the I/O thread).
  // Handshakes without payload: without the guard each one ends this
  // process with SIGSEGV.
  for (auto& bad : {frame(1, 0xFFFFFFF0u, 0), frame(2, 0x7FFFFFFFu, 0, 1),
                    frame(2, static_cast<std::uint32_t>(limit) + 1, 0, 1),
                    frame(1, 0, 0), frame(0, 0, 0, 0, 1)}) {
    int fd = connect_raw(*port);
    REQUIRE(::send(fd, bad.data(), bad.size(), 0) ==
            static_cast<ssize_t>(bad.size()));
    CHECK(closed_by_peer(fd));
    ::close(fd);
  }
  // Garbage, and a truncated header followed by a close.
  {
    std::vector<char> junk(4096);
    for (std::size_t i = 0; i < junk.size(); ++i)
      junk[i] = static_cast<char>(i * 7919 % 251);
    int fd = connect_raw(*port);
    ::send(fd, junk.data(), junk.size(), 0);
    CHECK(closed_by_peer(fd));
    ::close(fd);
    fd = connect_raw(*port);
    auto half = frame(1, 40, 0);
    ::send(fd, half.data(), 13, 0);
    ::close(fd);
  }
  // A real client still gets through, on the same port.
  guarded_config client_cfg{limit};
  caf::actor_system client{client_cfg};
  auto remote = client.middleman().remote_actor("127.0.0.1", *port);
  REQUIRE(remote);
  caf::scoped_actor self{client};
  auto ask = [&](std::size_t n) {
    std::uint64_t got = 0;
    self->request(*remote, std::chrono::seconds(3), std::vector<char>(n, 'x'))
      .receive(
        [&](std::uint64_t x) {
          got = x;
        },
        [&](caf::error&) {
          got = static_cast<std::uint64_t>(-1);
        });
    return got;
  };
  CHECK(ask(1000) == 1000);
  // Too large to send: dropped at the client (logged), so its request
  // times out, but the connection stays and the next one arrives.
  CHECK(ask(limit + 1) == static_cast<std::uint64_t>(-1));
  CHECK(ask(limit / 2) == limit / 2);
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
}

namespace {

/// A system config with a node's connection limits (token, deadlines,
/// frame memory) as lumen::init sets them.
struct limits_config : caf::actor_system_config {
  explicit limits_config(const lumen::config& c) {
    load<caf::io::middleman, guarded_multiplexer>();
    lumen::detail::set_connection_limits(*this, c);
    set("scheduler.max-threads", std::size_t{2});
  }
};

caf::behavior echo_size() {
  return {
    [](const std::vector<char>& v) {
      return static_cast<std::uint64_t>(v.size());
    },
  };
}

/// Asks `whom` for the size of `n` bytes; -1 on an error or a timeout.
std::uint64_t ask_size(caf::actor_system& sys, const caf::actor& whom,
                       std::size_t n) {
  caf::scoped_actor self{sys};
  std::uint64_t got = static_cast<std::uint64_t>(-1);
  self->request(whom, std::chrono::seconds(5), std::vector<char>(n, 'x'))
    .receive(
      [&](std::uint64_t x) {
        got = x;
      },
      [&](caf::error&) {});
  return got;
}

/// A valid CAF 0.17.6 client handshake (header and node id).
std::vector<char> client_handshake() {
  std::vector<char> payload;
  caf::binary_serializer sink{nullptr, payload};
  caf::node_id::default_data::host_id_type host;
  host.fill(0x17);
  REQUIRE(!sink(caf::make_node_id(1717, host)));
  return cat(
    {frame(1, static_cast<std::uint32_t>(payload.size()), 0), payload});
}

} // namespace

TEST_CASE("transport guard: limits reach the guard from the config",
          "[transport_guard]") {
  using namespace lumen::detail;
  lumen::config c;
  c.max_message_size = 32 << 20;
  c.handshake_timeout = 1.5;
  c.idle_timeout = 0;
  c.token = "a-token-of-enough-length";
  caf::actor_system_config cfg;
  set_connection_limits(cfg, c);
  auto l = connection_limits_of(cfg);
  CHECK(l.max_message_size == 32u << 20);
  CHECK(l.frame_memory == 32u << 20); // 0: max_message_size
  CHECK(l.handshake_timeout == std::chrono::milliseconds{1500});
  CHECK(l.idle_timeout.count() == 0);
  CHECK(l.proof == transport_proof(c.token));
  CHECK(l.proof.size() == proof_size);
  CHECK(l.proof.compare(0, 8, std::string(proof_magic.data(), 8)) == 0);
  CHECK(transport_proof("another-token-of-length") != l.proof);
  CHECK(transport_proof("").empty());
  CHECK(transport_proof_matches(l.proof, transport_proof(c.token)));
  CHECK_FALSE(transport_proof_matches(l.proof, transport_proof("x")));
  // Without keys: defaults, no token.
  caf::actor_system_config plain;
  auto d = connection_limits_of(plain);
  CHECK(d.handshake_timeout == std::chrono::seconds{10});
  CHECK(d.idle_timeout == std::chrono::seconds{60});
  CHECK(d.proof.empty());
  // Frame memory: taken and given back, never past the limit.
  guard_state st{l};
  CHECK(st.reserve(20 << 20));
  CHECK_FALSE(st.reserve(13 << 20));
  CHECK(st.reserve(12 << 20));
  CHECK(st.held() == 32u << 20);
  st.release(20 << 20);
  CHECK(st.held() == 12u << 20);
  // Config checks.
  c.frame_memory = 1 << 20;
  CHECK_THROWS_AS(check_size_limits(c), lumen::error);
  c.frame_memory = 0;
  c.idle_timeout = -1;
  CHECK_THROWS_AS(check_size_limits(c), lumen::error);
}

TEST_CASE("transport guard: 4 KiB until the peer proves the token, then "
          "large messages arrive whole",
          "[transport_guard]") {
  lumen::config server_c;
  server_c.max_message_size = 16 << 20;
  server_c.token = "the-right-token-0123456789";
  limits_config server_cfg{server_c};
  caf::actor_system server{server_cfg};
  auto echo = server.spawn(echo_size);
  auto port = server.middleman().publish(echo, 0, "127.0.0.1");
  REQUIRE(port);
  auto client_with = [&](const std::string& token) {
    lumen::config c;
    c.max_message_size = 16 << 20;
    c.token = token;
    return std::make_unique<limits_config>(c);
  };
  {
    // The right token: its proof lifts the cap; messages larger than a
    // read piece are read in pieces and arrive whole.
    auto cfg = client_with(server_c.token);
    caf::actor_system client{*cfg};
    auto remote = client.middleman().remote_actor("127.0.0.1", *port);
    REQUIRE(remote);
    for (std::size_t n :
         {100ul, 5000ul, 200ul << 10, 3ul << 20, 9ul << 20, 1000ul})
      CHECK(ask_size(client, *remote, n) == n);
  }
  for (std::string token :
       {std::string{}, std::string{"wrong-token-0123456789"}}) {
    INFO("client token: '" << token << "'");
    // No proof (or a wrong one): small messages pass, a larger one closes
    // the connection.
    auto cfg = client_with(token);
    caf::actor_system client{*cfg};
    auto remote = client.middleman().remote_actor("127.0.0.1", *port);
    REQUIRE(remote);
    CHECK(ask_size(client, *remote, 100) == 100);
    CHECK(ask_size(client, *remote, 8000) == static_cast<std::uint64_t>(-1));
  }
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
}

TEST_CASE("transport guard: partly received messages stay within "
          "frame-memory, and deadlines close connections",
          "[transport_guard]") {
  lumen::config c;
  c.max_message_size = 16 << 20;
  c.frame_memory = 16 << 20;
  c.handshake_timeout = 1;
  c.idle_timeout = 3;
  limits_config cfg{c};
  caf::actor_system server{cfg};
  auto echo = server.spawn(echo_size);
  auto port = server.middleman().publish(echo, 0, "127.0.0.1");
  REQUIRE(port);
  // Two strangers after a handshake (no token: nothing more to prove)
  // each send 10 MiB of a 12 MiB message: buffers grow with what arrived,
  // and the second passes frame-memory, so the node closes it.
  auto partial = cat({client_handshake(), frame(2, 12u << 20, 0, 1),
                      std::vector<char>(10u << 20, 'y')});
  int first = connect_raw(*port);
  ::send(first, partial.data(), partial.size(), MSG_NOSIGNAL);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  int second = connect_raw(*port);
  std::size_t off = 0;
  while (off < partial.size()) {
    auto n =
      ::send(second, partial.data() + off, partial.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      break;
    off += static_cast<std::size_t>(n);
  }
  CHECK(closed_by_peer(second));
  ::close(second);
  // The first, silent now, is closed after the idle timeout (3 s).
  timeval tv{8, 0};
  ::setsockopt(first, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  CHECK(closed_by_peer(first));
  ::close(first);
  // A connection that never sends a whole header: handshake timeout (1 s).
  int loris = connect_raw(*port);
  ::send(loris, "\x01\x00\x00", 3, MSG_NOSIGNAL);
  auto started = std::chrono::steady_clock::now();
  CHECK(closed_by_peer(loris));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(4));
  ::close(loris);
  // A real client, heartbeats on, outlives the idle timeout.
  lumen::config cc;
  cc.max_message_size = 16 << 20;
  limits_config client_cfg{cc};
  client_cfg.set("middleman.heartbeat-interval",
                 caf::timespan{std::chrono::milliseconds(500)});
  caf::actor_system client{client_cfg};
  auto remote = client.middleman().remote_actor("127.0.0.1", *port);
  REQUIRE(remote);
  CHECK(ask_size(client, *remote, 6u << 20) == 6u << 20);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  CHECK(ask_size(client, *remote, 6u << 20) == 6u << 20);
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
}

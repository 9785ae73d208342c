// Tests of the message size guard below CAF's BASP
// (src/net/transport_guard.hpp): real actor systems in this process,
// connected over loopback TCP, and raw sockets that speak bad BASP.
#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "lumen/error.hpp"
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

// The object channel (net/bulk_channel.hpp) on 127.0.0.1: a broker in
// a real actor system's middleman (plain TCP, with the node's guarded
// multiplexer loaded, as on a node), real sockets; refused connections
// are logged to stderr.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "lumen/codec.hpp"
#include "lumen/detail/buffer_pool.hpp"
#include "lumen/error.hpp"
#include "net/bulk_channel.hpp"
#include "net/transport.hpp"

using lumen::detail::bulk_channel;
using lumen::detail::bulk_ticket;
using lumen::detail::byte_buffer;

namespace {

using namespace std::chrono_literals;

/// An actor system with the middleman loaded as a node loads it.
struct node_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  node_system() {
    cfg.set("scheduler.max-threads", std::size_t{2});
    lumen::detail::configure_transport(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

/// The outcome of one expected transfer.
struct arrival {
  std::promise<std::pair<byte_buffer, std::string>> promise;
  int calls = 0;

  bulk_channel::receive_callback callback() {
    return [this](byte_buffer bytes, const std::string& error) {
      if (++calls == 1)
        promise.set_value({std::move(bytes), error});
    };
  }
};

std::shared_ptr<std::vector<char>> pattern(std::size_t n) {
  auto v = std::make_shared<std::vector<char>>(n);
  for (std::size_t i = 0; i < n; ++i)
    (*v)[i] = static_cast<char>((i * 7 + (i >> 16)) & 0xff);
  return v;
}

/// Sends `bytes` for `t` to the ticket's own address (the holder's store
/// checks that address against the cluster view first; see
/// object_store.cpp).
std::string send_and_wait(bulk_channel& from, const bulk_ticket& t,
                          const std::vector<char>& bytes,
                          std::shared_ptr<const void> keep) {
  std::promise<std::string> done;
  auto f = done.get_future();
  from.send(t, lumen::detail::address_of(t), bytes.data(), bytes.size(),
            std::move(keep), [&done](const std::string& e) {
              done.set_value(e);
            });
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  return f.get();
}

/// A plain client socket connected to `port` on 127.0.0.1.
int connect_raw(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  return fd;
}

/// The channel's header: magic, nonce, size.
std::string header(const bulk_ticket& t, std::uint64_t size) {
  std::string h = "LUMENOBJ";
  h.append(t.nonce.data(), t.nonce.size());
  h.append(reinterpret_cast<const char*>(&size), sizeof(size));
  return h;
}

/// Reads until the peer closes; returns what came.
std::string drain(int fd) {
  std::string got;
  char buf[256];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0)
    got.append(buf, static_cast<std::size_t>(n));
  return got;
}

bool wait_refused(const bulk_channel& b, std::size_t n) {
  for (int i = 0; i < 500 && b.refused() < n; ++i)
    std::this_thread::sleep_for(10ms);
  return b.refused() >= n;
}

} // namespace

TEST_CASE("bulk channel: a large value arrives whole and once in a pooled "
          "buffer",
          "[bulk_channel]") {
  node_system node;
  bulk_channel receiver{*node.sys, "127.0.0.1"};
  bulk_channel sender{*node.sys, "127.0.0.1"};
  auto bytes = pattern(48u << 20);
  arrival a;
  auto t = receiver.expect(bytes->size(), a.callback());
  CHECK(t.port == receiver.port());
  CHECK(send_and_wait(sender, t, *bytes, bytes).empty());
  auto f = a.promise.get_future();
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  auto [got, error] = f.get();
  CHECK(error.empty());
  REQUIRE(got.size() == bytes->size());
  CHECK(std::memcmp(got.data(), bytes->data(), bytes->size()) == 0);
  // A ticket serves one connection: sending again is refused.
  auto again = send_and_wait(sender, t, *bytes, bytes);
  CHECK_FALSE(again.empty());
  CHECK(receiver.refused() == 1);
  CHECK(a.calls == 1);
}

/// Established TCP connections whose local port is `port` (/proc/net/tcp).
int established_at(std::uint16_t port) {
  std::ifstream in{"/proc/net/tcp"};
  std::string line;
  std::getline(in, line); // header
  char hex[8];
  std::snprintf(hex, sizeof(hex), ":%04X", port);
  int n = 0;
  while (std::getline(in, line)) {
    std::istringstream fields{line};
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (state == "01" && local.size() >= 5 &&
        local.compare(local.size() - 5, 5, hex) == 0)
      ++n;
  }
  return n;
}

TEST_CASE("bulk channel: transfers one after another share one connection "
          "and all arrive whole",
          "[bulk_channel]") {
  node_system node;
  bulk_channel receiver{*node.sys, "127.0.0.1"};
  bulk_channel sender{*node.sys, "127.0.0.1"};
  for (std::size_t n : {std::size_t{9u << 20}, std::size_t{0},
                        std::size_t{1000}, std::size_t{5u << 20}}) {
    auto bytes = pattern(n);
    arrival a;
    auto t = receiver.expect(n, a.callback());
    CHECK(send_and_wait(sender, t, *bytes, bytes).empty());
    auto f = a.promise.get_future();
    REQUIRE(f.wait_for(30s) == std::future_status::ready);
    auto [got, error] = f.get();
    CHECK(error.empty());
    REQUIRE(got.size() == n);
    CHECK((n == 0 || std::memcmp(got.data(), bytes->data(), n) == 0));
  }
  CHECK(established_at(receiver.port()) == 1);
  CHECK(receiver.refused() == 0);
}

TEST_CASE("bulk channel: frames that arrive in one piece with the next "
          "header, or a byte at a time, land whole in their own buffers",
          "[bulk_channel]") {
  // The body of a frame goes straight into its object's buffer; the bytes
  // after it (the next header) must not, and a body trickling in must.
  node_system node;
  bulk_channel receiver{*node.sys, "127.0.0.1"};
  arrival a1, a2, a3;
  auto body1 = pattern(300000);
  auto body2 = pattern(70001);
  auto t1 = receiver.expect(body1->size(), a1.callback());
  auto t2 = receiver.expect(body2->size(), a2.callback());
  auto t3 = receiver.expect(5, a3.callback());
  std::string wire = header(t1, body1->size());
  wire.append(body1->data(), body1->size());
  wire += header(t2, body2->size());
  wire.append(body2->data(), body2->size());
  wire += header(t3, 5);
  int fd = connect_raw(receiver.port());
  // Everything but the last frame's body in one send.
  REQUIRE(::send(fd, wire.data(), wire.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(wire.size()));
  for (char c : std::string("hello")) {
    REQUIRE(::send(fd, &c, 1, MSG_NOSIGNAL) == 1);
    std::this_thread::sleep_for(2ms);
  }
  auto check_body = [](arrival& a, const char* want, std::size_t n) {
    auto f = a.promise.get_future();
    REQUIRE(f.wait_for(30s) == std::future_status::ready);
    auto [got, error] = f.get();
    CHECK(error.empty());
    REQUIRE(got.size() == n);
    CHECK(std::memcmp(got.data(), want, n) == 0);
    CHECK(a.calls == 1);
  };
  check_body(a1, body1->data(), body1->size());
  check_body(a2, body2->data(), body2->size());
  check_body(a3, "hello", 5);
  // Three acknowledgments, one per frame.
  std::string acks;
  char buf[8];
  while (acks.size() < 3) {
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    REQUIRE(n > 0);
    acks.append(buf, static_cast<std::size_t>(n));
  }
  CHECK(acks == "KKK");
  ::close(fd);
  CHECK(receiver.refused() == 0);
}

TEST_CASE("bulk channel: tickets survive their wire form", "[bulk_channel]") {
  node_system node;
  bulk_channel receiver{*node.sys, "127.0.0.1"};
  auto t = receiver.expect(10, [](byte_buffer, const std::string&) {});
  auto wire = lumen::detail::encode_ticket(t);
  auto back = lumen::detail::decode_ticket(wire.data(), wire.size());
  CHECK(back.host == "127.0.0.1");
  CHECK(back.port == t.port);
  CHECK(back.nonce == t.nonce);
  CHECK_THROWS_AS(lumen::detail::decode_ticket(wire.data(), 5),
                  lumen::decode_error);
  auto u = receiver.expect(10, [](byte_buffer, const std::string&) {});
  CHECK(u.nonce != t.nonce); // fresh random nonces
}

TEST_CASE("bulk channel: garbage and unknown tickets are refused and the "
          "channel keeps working",
          "[bulk_channel]") {
  node_system node;
  bulk_channel receiver{*node.sys, "127.0.0.1"};
  bulk_channel sender{*node.sys, "127.0.0.1"};
  arrival a;
  auto bytes = pattern(1u << 20);
  auto t = receiver.expect(bytes->size(), a.callback());

  int garbage = connect_raw(receiver.port());
  std::string junk(64, 'x');
  ::send(garbage, junk.data(), junk.size(), MSG_NOSIGNAL);
  CHECK(drain(garbage).empty()); // closed without an acknowledgment
  ::close(garbage);
  CHECK(wait_refused(receiver, 1));

  bulk_ticket forged = t;
  forged.nonce[0] = static_cast<char>(forged.nonce[0] ^ 1);
  CHECK_FALSE(send_and_wait(sender, forged, *bytes, bytes).empty());
  CHECK(wait_refused(receiver, 2));

  int silent = connect_raw(receiver.port()); // sends nothing at all
  ::shutdown(silent, SHUT_WR);
  CHECK(drain(silent).empty());
  ::close(silent);
  CHECK(wait_refused(receiver, 3));

  // The real ticket is untouched by all that.
  CHECK(send_and_wait(sender, t, *bytes, bytes).empty());
  auto f = a.promise.get_future();
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  auto [got, error] = f.get();
  CHECK(error.empty());
  CHECK(got.size() == bytes->size());
}

TEST_CASE("bulk channel: a sender that stops mid-transfer fails it",
          "[bulk_channel]") {
  node_system node;
  bulk_channel receiver{*node.sys, "127.0.0.1"};
  arrival a;
  auto t = receiver.expect(1u << 20, a.callback());
  int fd = connect_raw(receiver.port());
  auto h = header(t, 1u << 20);
  std::string part(1000, 'y');
  ::send(fd, h.data(), h.size(), MSG_NOSIGNAL);
  ::send(fd, part.data(), part.size(), MSG_NOSIGNAL);
  ::close(fd); // as a killed node's kernel would
  auto f = a.promise.get_future();
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  auto [got, error] = f.get();
  CHECK(got.size() == 0);
  // The body goes straight into the object's buffer, so the error counts
  // the 1000 bytes that came.
  CHECK(error.find("broke off after 1000 of 1048576 bytes") !=
        std::string::npos);
}

TEST_CASE("bulk channel: a wrong size fails the transfer and a withdrawn "
          "ticket is refused",
          "[bulk_channel]") {
  node_system node;
  bulk_channel receiver{*node.sys, "127.0.0.1"};
  bulk_channel sender{*node.sys, "127.0.0.1"};
  arrival a;
  auto t = receiver.expect(100, a.callback());
  std::vector<char> other(200, 'z');
  CHECK_FALSE(send_and_wait(sender, t, other, nullptr).empty());
  auto f = a.promise.get_future();
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  CHECK_FALSE(f.get().second.empty());

  bool called = false;
  auto u = receiver.expect(200, [&called](byte_buffer, const std::string&) {
    called = true;
  });
  CHECK(receiver.cancel(u));
  CHECK_FALSE(receiver.cancel(u));
  CHECK_FALSE(send_and_wait(sender, u, other, nullptr).empty());
  CHECK_FALSE(called);
}

TEST_CASE("bulk channel: a sender with nobody listening reports it",
          "[bulk_channel]") {
  node_system node;
  bulk_ticket t;
  {
    bulk_channel gone{*node.sys, "127.0.0.1"};
    t = gone.expect(10, [](byte_buffer, const std::string&) {});
  } // its broker is gone, and its port closed with it
  std::this_thread::sleep_for(200ms);
  bulk_channel sender{*node.sys, "127.0.0.1"};
  std::vector<char> bytes(10, 'a');
  auto error = send_and_wait(sender, t, bytes, nullptr);
  CHECK(error.find("cannot connect") != std::string::npos);
}

TEST_CASE("buffer pool: freed large buffers are reused", "[bulk_channel]") {
  using namespace lumen::detail;
  const char* first = nullptr;
  {
    byte_buffer b;
    b.reserve(20u << 20);
    std::memset(b.grow(20u << 20), 1, 20u << 20);
    first = b.data();
  }
  CHECK(buffer_pool_cached() >= (20u << 20));
  byte_buffer c;
  c.reserve(19u << 20);
  CHECK(c.data() == first); // the same, already faulted memory
  byte_buffer small;
  small.reserve(1000);
  CHECK(small.data() != nullptr);
}

TEST_CASE("buffer pool: large arrays and strings round-trip through the "
          "codec's one-copy path",
          "[bulk_channel][codec]") {
  std::vector<double> xs(3u << 20); // 24 MiB: pooled and advised
  for (std::size_t i = 0; i < xs.size(); ++i)
    xs[i] = static_cast<double>(i) * 0.5;
  auto obj = lumen::detail::to_object(xs);
  CHECK(obj.bytes.size() >= xs.size() * sizeof(double));
  CHECK(lumen::detail::from_object<std::vector<double>>(obj) == xs);
  std::string s(9u << 20, 'q');
  s.back() = 'z';
  CHECK(lumen::detail::from_object<std::string>(lumen::detail::to_object(s)) ==
        s);
}

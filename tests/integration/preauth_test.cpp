// What a stranger can make a node hold before it proved who it is, on
// real node processes on 127.0.0.1 (src/net/transport_guard.hpp,
// src/net/guard_state.hpp): raw sockets announce 1000 MiB messages, hold
// connections without a handshake, and stay silent; the node's resident
// memory stays flat, each refusal is logged with the peer's address, and
// members (with the token, when the cluster has one) still move large
// values over the same ports.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <caf/binary_serializer.hpp>
#include <caf/node_id.hpp>

#include "cluster_support.hpp"
#include "cluster_tasks.hpp"
#include "security_support.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

constexpr std::uint32_t announced = 1000u << 20; // 1000 MiB
constexpr const char* token = "preauth-token-0123456789abcdef";

/// A BASP header (CAF 0.17, network byte order).
std::string basp_header(std::uint8_t op, std::uint32_t payload_len,
                        std::uint64_t dest = 0) {
  std::string out(32, '\0');
  out[0] = static_cast<char>(op);
  for (int i = 0; i < 4; ++i)
    out[static_cast<std::size_t>(4 + i)] =
      static_cast<char>((payload_len >> (24 - 8 * i)) & 0xff);
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(24 + i)] =
      static_cast<char>((dest >> (56 - 8 * i)) & 0xff);
  return out;
}

/// A valid CAF 0.17.6 client handshake: header and a node id.
std::string client_handshake() {
  std::vector<char> payload;
  caf::binary_serializer sink{nullptr, payload};
  caf::node_id::default_data::host_id_type host;
  host.fill(0x42);
  auto err = sink(caf::make_node_id(4242, host));
  REQUIRE(!err);
  return basp_header(1, static_cast<std::uint32_t>(payload.size())) +
         std::string(payload.begin(), payload.end());
}

/// A raw TCP connection to 127.0.0.1:`port` (receive timeout `wait`).
int connect_raw(std::uint16_t port, std::chrono::seconds wait = 5s) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  timeval tv{static_cast<time_t>(wait.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

/// "127.0.0.1:PORT" of this end of `fd`: the address the node logs.
std::string local_address(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

void send_all(int fd, const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    auto n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      return;
    off += static_cast<std::size_t>(n);
  }
}

/// Reads until the peer closes the connection; false if it stays open
/// past the socket's receive timeout.
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

/// Whether the peer has closed `fd` already (reads what is pending).
bool closed_now(int fd) {
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      return true;
    if (n < 0)
      return false;
  }
}

/// Resident memory of process `pid`, in KiB (VmRSS).
long rss_kib(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}

std::string token_file(const std::string& dir) {
  auto path = dir + "/token";
  std::ofstream{path} << token << "\n";
  ::chmod(path.c_str(), 0600);
  return path;
}

/// Waits (bounded) until every socket of `fds` is closed by the node.
bool all_closed(const std::vector<int>& fds, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (int fd : fds)
      all = closed_now(fd) && all;
    if (all)
      return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

} // namespace

TEST_CASE("preauth: 1000 MiB announced by strangers allocate nothing",
          "[preauth]") {
  bool with_token = GENERATE(false, true);
  INFO("cluster token: " << (with_token ? "set" : "not set"));
  security_it::temp_dir tmp;
  // A short idle timeout: members' heartbeats (every second) keep their
  // connections, silent strangers are closed.
  std::string opts = "--idle-timeout 4 --object-transfer middleman";
  if (with_token)
    opts += " --token-file " + token_file(tmp.path);
  cluster_it::test_cluster cluster{0, 1, {}, opts};
  cluster_it::watchdog dog{cluster, std::chrono::seconds(200)};
  auto head = cluster.head();
  int pid = std::stoi(head.at("pid"));
  auto port = security_it::port_of(cluster.address());
  auto before = rss_kib(pid);
  REQUIRE(before > 0);

  // 1. Before any handshake: a client handshake announcing 1000 MiB.
  std::vector<std::string> refused_peers;
  for (int i = 0; i < 2; ++i) {
    int fd = connect_raw(port, 10s);
    refused_peers.push_back(local_address(fd));
    send_all(fd, basp_header(1, announced));
    CHECK(closed_by_peer(fd));
    ::close(fd);
  }
  // 2. After CAF's handshake: a message announcing 1000 MiB, its first
  // 64 KiB sent, the connection held open.
  std::vector<int> held;
  std::vector<std::string> held_peers;
  for (int i = 0; i < 3; ++i) {
    int fd = connect_raw(port, 10s);
    held.push_back(fd);
    held_peers.push_back(local_address(fd));
    send_all(fd, client_handshake() + basp_header(2, announced, 1) +
                   std::string(64 << 10, 'x'));
  }
  std::this_thread::sleep_for(1500ms);
  auto during = rss_kib(pid);
  INFO("head VmRSS before " << before << " KiB, with the strangers " << during
                            << " KiB");
  CHECK(during - before < 64 * 1024);

  auto log = [&] {
    return security_it::logs(cluster.dir(), "head");
  };
  for (auto& peer : refused_peers)
    CHECK(security_it::wait_for_log(cluster.dir(), "head",
                                    "closed the connection with " + peer +
                                      ": a message announced 1048576000 "
                                      "bytes, more than a peer may send "
                                      "(4096 bytes) before"));
  if (with_token) {
    // Without the token's proof, 4 KiB is all a peer may send.
    for (auto& peer : held_peers)
      CHECK(security_it::wait_for_log(
        cluster.dir(), "head",
        "closed the connection with " + peer +
          ": a message announced 1048576000 bytes, more than a peer may "
          "send (4096 bytes) before it proved the cluster token"));
    CHECK(all_closed(held, 10s));
  } else {
    // Without a token the handshake is all there is to prove: the message
    // is taken, read as it arrives, and the silent peer is closed after
    // the idle timeout.
    CHECK(all_closed(held, 20s));
    for (auto& peer : held_peers)
      CHECK(security_it::wait_for_log(cluster.dir(), "head",
                                      "closed the connection with " + peer +
                                        ": nothing received for 4"));
  }
  for (int fd : held)
    ::close(fd);

  // Members still move large values through the same port (middleman
  // transfers: 4 MiB messages), past the idle timeout.
  lumen::config driver{.address = cluster.address()};
  driver.object_transfer = lumen::object_transfer_mode::middleman;
  if (with_token)
    driver.token = token;
  lumen::init_guard g{driver};
  constexpr std::int64_t blob = 9 << 20;
  auto made = lumen::task(cluster_tasks::make_blob).remote(blob, 7);
  auto bytes = lumen::get(made, 60s); // from the head
  CHECK(bytes == cluster_tasks::make_blob(blob, 7));
  std::this_thread::sleep_for(6s);
  auto checked = // to the head
    lumen::task(cluster_tasks::check_blob).remote(bytes, blob, 7);
  CHECK_THAT(lumen::get(checked, 60s), Contains(":ok"));
  // Only the strangers were cut off.
  auto text = log();
  INFO(text);
  std::size_t cut = 0;
  for (auto at = text.find("closed the connection with");
       at != std::string::npos;
       at = text.find("closed the connection with", at + 1))
    ++cut;
  CHECK(cut == refused_peers.size() + held_peers.size());
}

TEST_CASE("preauth: a connection that never finishes its handshake is cut "
          "at the deadline",
          "[preauth]") {
  cluster_it::test_cluster cluster{1, 1, {}, "--handshake-timeout 2"};
  cluster_it::watchdog dog{cluster, std::chrono::seconds(120)};
  for (auto& f : cluster.nodes()) {
    INFO(f.at("role"));
    auto port = security_it::port_of(f.at("address"));
    // Slow loris: a third of a header, then nothing.
    int fd = connect_raw(port, 15s);
    auto peer = local_address(fd);
    send_all(fd, basp_header(1, 40).substr(0, 10));
    auto started = std::chrono::steady_clock::now();
    CHECK(closed_by_peer(fd));
    auto waited = std::chrono::steady_clock::now() - started;
    CHECK(waited < 10s);
    ::close(fd);
    // Not even a byte.
    fd = connect_raw(port, 15s);
    auto silent = local_address(fd);
    CHECK(closed_by_peer(fd));
    ::close(fd);
    auto role = f.at("role");
    CHECK(security_it::wait_for_log(cluster.dir(), role,
                                    "closed the connection with " + peer +
                                      ": no handshake within 2"));
    CHECK(security_it::wait_for_log(cluster.dir(), role,
                                    "closed the connection with " + silent +
                                      ": no handshake within 2"));
  }
  // The cluster itself, handshakes done in time, works.
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  auto r = lumen::task(cluster_tasks::where).spread().remote(5);
  CHECK_THAT(lumen::get(r, 60s), Contains(":5"));
}

TEST_CASE("preauth: a TLS node cuts a connection that never finishes its "
          "TLS handshake",
          "[preauth][tls]") {
  security_it::temp_dir tmp;
  security_it::pki p{tmp.path, "pki"};
  cluster_it::test_cluster cluster{
    0, 1, {}, "--handshake-timeout 2", p.args(1)};
  cluster_it::watchdog dog{cluster, std::chrono::seconds(120)};
  auto port = security_it::port_of(cluster.address());
  // Half a TLS ClientHello record header, then nothing.
  int fd = connect_raw(port, 15s);
  auto peer = local_address(fd);
  send_all(fd, std::string("\x16\x03\x01", 3));
  auto started = std::chrono::steady_clock::now();
  CHECK(closed_by_peer(fd));
  CHECK(std::chrono::steady_clock::now() - started < 10s);
  ::close(fd);
  CHECK(security_it::wait_for_log(cluster.dir(), "head",
                                  "closed the connection with " + peer +
                                    ": no handshake within 2 s"));
}

TEST_CASE("preauth: members of a token cluster prove the token on every "
          "connection they open, and move large messages between workers",
          "[preauth][token]") {
  security_it::temp_dir tmp;
  auto opts =
    "--object-transfer middleman --token-file " + token_file(tmp.path);
  cluster_it::test_cluster cluster{2, 1, {}, opts};
  cluster_it::watchdog dog{cluster, std::chrono::seconds(200)};
  lumen::config driver{.address = cluster.address(), .token = token};
  driver.object_transfer = lumen::object_transfer_mode::middleman;
  lumen::init_guard g{driver};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  std::vector<std::string> workers;
  for (auto& n : lumen::nodes())
    if (n.alive && !n.driver && !n.head)
      workers.push_back(n.id);
  REQUIRE(workers.size() == 2);
  // 6 MiB values made on one worker and checked on the other: 4 MiB
  // messages on the connection between the two workers.
  constexpr std::int64_t blob = 6 << 20;
  for (int i = 0; i < 2; ++i) {
    auto made = lumen::task(cluster_tasks::make_blob)
                  .node_affinity(workers[static_cast<std::size_t>(i)])
                  .remote(blob, i);
    auto checked = lumen::task(cluster_tasks::check_blob)
                     .node_affinity(workers[static_cast<std::size_t>(1 - i)])
                     .remote(made, blob, i);
    CHECK(lumen::get(checked, 60s) ==
          workers[static_cast<std::size_t>(1 - i)] + ":ok");
  }
  // Nothing was cut, nor a proof found wrong.
  for (auto role : {"head", "worker"}) {
    auto text = security_it::logs(cluster.dir(), role);
    INFO(text);
    CHECK(text.find("closed the connection with") == std::string::npos);
    CHECK(text.find("transport proof") == std::string::npos);
  }
}

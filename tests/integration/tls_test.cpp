// TLS between real node processes on 127.0.0.1: a cluster whose nodes all
// hold certificates from one CA (made with `lumen tls init`), peers from
// another CA, a peer without a certificate, and plain TCP clients.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fstream>
#include <netinet/in.h>
#include <set>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <caf/scoped_actor.hpp>

#include "cluster_support.hpp"
#include "cluster_tasks.hpp"
#include "security_support.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

/// Whether a TCP connection to or from local `port` on 127.0.0.1 is
/// established (from /proc/net/tcp).
bool established_on(std::uint16_t port) {
  std::ifstream in{"/proc/net/tcp"};
  std::string line;
  std::getline(in, line); // header
  char hex[8];
  std::snprintf(hex, sizeof(hex), ":%04X", port);
  while (std::getline(in, line)) {
    std::istringstream fields{line};
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (state == "01" && (local.find(hex) != std::string::npos ||
                          remote.find(hex) != std::string::npos))
      return true;
  }
  return false;
}

/// Opens a TLS connection to 127.0.0.1:`port` that trusts `ca` but offers
/// no certificate of its own, and reads; true if the node refused it (the
/// read fails), false if bytes came (it would have spoken BASP).
bool refused_without_certificate(std::uint16_t port, const std::string& ca) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval limit{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  auto* ctx = SSL_CTX_new(TLS_client_method());
  REQUIRE(SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) == 1);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  auto* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  auto ret = SSL_connect(ssl); // TLS 1.3: done before the server decides
  if (ret == 1) {
    char buf[64];
    ret = SSL_read(ssl, buf, sizeof(buf));
  }
  ERR_clear_error();
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  return ret <= 0;
}

/// `lumen status` through a config file holding `p`'s node `i` files.
std::pair<int, std::string> tls_status(const cluster_it::test_cluster& c,
                                       const security_it::pki& p, int i) {
  auto ini = c.dir() + "/status.ini";
  std::ofstream{ini} << "address = " << c.address() << "\n"
                     << "tls-certificate = " << p.cert(i) << "\n"
                     << "tls-key = " << p.key(i) << "\n"
                     << "tls-ca = " << p.ca() << "\n"
                     << "token-file = " << p.token_file() << "\n";
  return c.cli("status --config " + ini);
}

} // namespace

TEST_CASE("tls: a two-node TLS cluster runs tasks, actors and objects",
          "[tls]") {
  security_it::temp_dir tmp;
  security_it::pki p{tmp.path, "pki"};
  cluster_it::test_cluster cluster{1, 2, {p.args(2)}, "", p.args(1)};
  cluster_it::watchdog dog{cluster, std::chrono::seconds(240)};
  lumen::init_guard g{lumen::config{
    .address = cluster.address(), .tls = p.tls(3), .token = p.token()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  std::string head, worker, worker_address;
  for (auto& n : lumen::nodes()) {
    if (n.head)
      head = n.id;
    else if (!n.driver) {
      worker = n.id;
      worker_address = n.address;
    }
  }
  REQUIRE(!head.empty());
  REQUIRE(!worker.empty());
  // Tasks on both nodes.
  auto on_worker =
    lumen::task(cluster_tasks::where).node_affinity(worker).remote(1);
  auto on_head =
    lumen::task(cluster_tasks::where).node_affinity(head).remote(2);
  CHECK(lumen::get(on_worker, 60s) == worker + ":1");
  CHECK(lumen::get(on_head, 60s) == head + ":2");
  // 4 MiB made on the head, checked on the worker: node to node.
  constexpr std::int64_t size = 4 << 20;
  auto blob =
    lumen::task(cluster_tasks::make_blob).node_affinity(head).remote(size, 5);
  auto checked = lumen::task(cluster_tasks::check_blob)
                   .node_affinity(worker)
                   .remote(blob, size, 5);
  CHECK(lumen::get(checked, 120s) == worker + ":ok");
  // Made on the worker, read here.
  auto back = lumen::task(cluster_tasks::make_blob)
                .node_affinity(worker)
                .remote(std::int64_t{1} << 20, 9);
  CHECK(lumen::get(back, 120s) == cluster_tasks::make_blob(1 << 20, 9));
  // An actor on the worker keeps its state.
  auto tally =
    lumen::actor(cluster_tasks::Tally::create).node_affinity(worker).remote(10);
  CHECK(lumen::get(tally.task(&cluster_tasks::Tally::add).remote(5), 60s) ==
        15);
  CHECK(lumen::get(tally.task(&cluster_tasks::Tally::node).remote(), 60s) ==
        worker);
  // The key-value table through the head.
  CHECK(lumen::kv::put("tls/key", "value"));
  CHECK(lumen::kv::get("tls/key") == std::optional<std::string>{"value"});
  // This driver and the worker connected to each other directly (the
  // node with the smaller id dials); their ports speak TLS only.
  auto driver_port = security_it::port_of(lumen::nodes().front().address);
  auto port = security_it::port_of(worker_address);
  bool direct = false;
  for (int i = 0; i < 200 && !direct; ++i) {
    direct = established_on(port) || established_on(driver_port);
    if (!direct)
      std::this_thread::sleep_for(100ms);
  }
  INFO("driver port " << driver_port << ", worker port " << port << "\n"
                      << cluster_it::run("cat /proc/net/tcp").second);
  CHECK(direct);
  // `lumen status` reaches the head with the same keys.
  auto [status, out] = tls_status(cluster, p, 4);
  CHECK(status == 0);
  CHECK_THAT(out, Contains("3 alive"));
  // Nothing was refused or dropped along the way.
  CHECK(security_it::logs(cluster.dir(), "head").find("failed") ==
        std::string::npos);
  CHECK(security_it::logs(cluster.dir(), "worker")
          .find("lost the "
                "connection") == std::string::npos);
}

/// The port of the object channel a node's log names; 0 if none.
static std::uint16_t channel_port_in(const std::string& log,
                                     const std::string& kind) {
  const std::string line =
    "objects move between nodes on a direct channel, listening on ";
  auto at = log.find(line);
  if (at == std::string::npos)
    return 0;
  auto rest = log.substr(at + line.size());
  rest = rest.substr(0, rest.find('\n'));
  if (rest.find("(a broker of the middleman, " + kind + ")") ==
      std::string::npos)
    return 0;
  auto addr = rest.substr(0, rest.find(' '));
  return security_it::port_of(addr);
}

TEST_CASE("tls: a large object moves between TLS nodes on the object "
          "channel's broker, which speaks only TLS",
          "[tls][object_transfer]") {
  security_it::temp_dir tmp;
  security_it::pki p{tmp.path, "pki"};
  cluster_it::test_cluster cluster{1, 2, {p.args(2)}, "", p.args(1)};
  cluster_it::watchdog dog{cluster, std::chrono::seconds(240)};
  lumen::init_guard g{lumen::config{
    .address = cluster.address(), .tls = p.tls(3), .token = p.token()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  std::string head, worker;
  for (auto& n : lumen::nodes()) {
    if (n.head)
      head = n.id;
    else if (!n.driver)
      worker = n.id;
  }
  REQUIRE(!worker.empty());
  auto head_port =
    channel_port_in(security_it::logs(cluster.dir(), "head"), "TLS");
  auto worker_port =
    channel_port_in(security_it::logs(cluster.dir(), "worker"), "TLS");
  REQUIRE(head_port > 0);
  REQUIRE(worker_port > 0);
  // 48 MiB made on the head, checked on the worker (the worker pulls it),
  // then made on the worker and read here (this driver pulls it).
  constexpr std::int64_t size = 48 << 20;
  auto blob =
    lumen::task(cluster_tasks::make_blob).node_affinity(head).remote(size, 7);
  CHECK(lumen::get(lumen::task(cluster_tasks::check_blob)
                     .node_affinity(worker)
                     .remote(blob, size, 7),
                   120s) == worker + ":ok");
  auto there =
    lumen::task(cluster_tasks::make_blob).node_affinity(worker).remote(size, 8);
  auto got = lumen::get(there, 120s);
  CHECK(cluster_tasks::check_blob(got, size, 8).find(":ok") !=
        std::string::npos);
  // The bytes took the channel: its connections are up (kept for the next
  // transfer), and no pull fell back to the middleman or was refused.
  CHECK(established_on(worker_port));
  for (auto role : {"head", "worker"}) {
    auto log = security_it::logs(cluster.dir(), role);
    CHECK_THAT(log, !Contains("goes through the middleman"));
    CHECK_THAT(log, !Contains("refused"));
  }
  // A plain TCP client on the channel's port gets no further than the TLS
  // handshake, which the node logs.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(worker_port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  std::string hello = "LUMENOBJ" + std::string(24, '\0');
  ::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL);
  char buf[64];
  while (::recv(fd, buf, sizeof(buf), 0) > 0) {
  }
  ::close(fd);
  CHECK(security_it::wait_for_log(cluster.dir(), "worker", "TLS handshake"));
  // And the node goes on moving objects.
  auto again =
    lumen::task(cluster_tasks::make_blob).node_affinity(worker).remote(size, 9);
  CHECK(
    cluster_tasks::check_blob(lumen::get(again, 120s), size, 9).find(":ok") !=
    std::string::npos);
}

TEST_CASE("tls: a node with a certificate from another CA cannot join",
          "[tls]") {
  security_it::temp_dir tmp;
  security_it::pki p{tmp.path, "pki"};
  security_it::pki foreign{tmp.path, "foreign"};
  cluster_it::test_cluster cluster{0, 1, {}, "", p.args(1)};
  cluster_it::watchdog dog{cluster, std::chrono::seconds(240)};
  auto head_log = [&] {
    return security_it::logs(cluster.dir(), "head");
  };
  SECTION("a node whose certificate and CA are another cluster's") {
    auto [status, out] = cluster.cli(
      "start --address " + cluster.address() + " --runtime-dir " +
      cluster.dir() + " --num-cpus 1 --tls-certificate " + foreign.cert(1) +
      " --tls-key " + foreign.key(1) + " --tls-ca " + foreign.ca() +
      " --token-file " + p.token_file());
    CHECK(status != 0);
    CHECK_THAT(out, Contains("cannot reach the head"));
    CHECK_THAT(out, Contains("certificate verify failed"));
    CHECK(security_it::wait_for_log(cluster.dir(), "head", "TLS handshake"));
  }
  SECTION("a peer that trusts this cluster's CA but has a foreign "
          "certificate: the head verifies the client") {
    security_it::raw_client stranger{
      lumen::tls_config{foreign.cert(1), foreign.key(1), p.ca()}};
    auto gate = stranger.connect<lumen::gated_gcs_actor>(cluster.address());
    CHECK_FALSE(gate);
    CHECK(security_it::wait_for_log(cluster.dir(), "head",
                                    "(it connected here): "));
    CHECK_THAT(head_log(), Contains("certificate verify failed"));
  }
  SECTION("a peer without a certificate") {
    CHECK(refused_without_certificate(security_it::port_of(cluster.address()),
                                      p.ca()));
    CHECK(security_it::wait_for_log(cluster.dir(), "head",
                                    "peer did not return a certificate"));
  }
  SECTION("a driver with a foreign certificate") {
    CHECK_THROWS_WITH(lumen::init(lumen::config{.address = cluster.address(),
                                                .tls = foreign.tls(2),
                                                .token = p.token()}),
                      Contains("cannot reach the head"));
    CHECK_FALSE(lumen::is_initialized());
  }
  // The head still admits a node of its own CA afterwards.
  CHECK_NOTHROW(cluster.add_worker(p.args(3)));
  auto [status, out] = tls_status(cluster, p, 4);
  CHECK(status == 0);
  CHECK_THAT(out, Contains("2 alive"));
}

TEST_CASE("tls: a plain TCP client is refused by a TLS node", "[tls]") {
  security_it::temp_dir tmp;
  security_it::pki p{tmp.path, "pki"};
  cluster_it::test_cluster cluster{1, 1, {p.args(2)}, "", p.args(1)};
  cluster_it::watchdog dog{cluster, std::chrono::seconds(240)};
  std::string worker_address;
  for (auto& f : cluster.nodes())
    if (f.at("role") == "worker")
      worker_address = f.at("address");
  REQUIRE(!worker_address.empty());
  // `lumen start` without TLS files.
  auto [status, out] =
    cluster.cli("start --address " + cluster.address() + " --runtime-dir " +
                cluster.dir() + " --num-cpus 1 --token-file " + p.token_file());
  CHECK(status != 0);
  CHECK_THAT(out, Contains("cannot reach the head"));
  CHECK_THAT(out, Contains("give this node tls-certificate, tls-key and "
                           "tls-ca"));
  // A bare plain CAF client, to the head and to the worker.
  {
    security_it::raw_client plain;
    CHECK_FALSE(plain.connect<lumen::gated_gcs_actor>(cluster.address()));
    CHECK_FALSE(plain.connect<lumen::door_actor>(worker_address));
  }
  // `lumen status` without TLS.
  auto [st_status, st_out] =
    cluster.cli("status --address " + cluster.address());
  CHECK(st_status == 1);
  CHECK(
    security_it::wait_for_log(cluster.dir(), "head", "(it connected here)"));
  CHECK(
    security_it::wait_for_log(cluster.dir(), "worker", "(it connected here)"));
  // The refused connections cost the cluster nothing: the worker kept its
  // connection to the head (each refusal used to drop it: see
  // src/net/tls_transport.hpp), and a TLS driver uses both nodes.
  CHECK(security_it::logs(cluster.dir(), "worker")
          .find("lost the "
                "connection") == std::string::npos);
  lumen::init_guard g{lumen::config{
    .address = cluster.address(), .tls = p.tls(3), .token = p.token()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  std::vector<lumen::object_ref<std::string>> refs;
  for (int i = 0; i < 20; ++i)
    refs.push_back(lumen::task(cluster_tasks::where).spread().remote(i));
  std::set<std::string> ran_on;
  for (auto& r : lumen::get(refs, 60s))
    ran_on.insert(r.substr(0, r.find(':')));
  CHECK(ran_on.size() == 2);
}

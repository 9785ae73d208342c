// Bad input against a running cluster: while a driver runs a workload
// (tasks spread over a head and a worker, 2 MiB values pulled between
// them), this test sends every port of both nodes raw garbage, truncated
// and oversized BASP frames and bad handshakes, and, through an actor
// system of its own, CAF messages of the right types whose Cap'n Proto
// bytes are wrong. The nodes must stay up, the workload must finish with
// the right results, and each node's log must name what it dropped.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/cluster_link.hpp"
#include "actors/gatekeeper.hpp"
#include "actors/messages.hpp"
#include "cluster_support.hpp"
#include "cluster_tasks.hpp"
#include "wire/cluster_types.hpp"
#include "wire/lineage_batch.hpp"
#include "wire/task_spec_codec.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

// -- raw sockets --------------------------------------------------------------

std::uint16_t port_of(const std::string& address) {
  return static_cast<std::uint16_t>(
    std::stoul(address.substr(address.rfind(':') + 1)));
}

/// A connection to 127.0.0.1:`port` with a 5 s receive timeout; -1 if it
/// cannot be made.
int connect_raw(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

void send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      return; // the node closed it already: fine
    sent += static_cast<std::size_t>(n);
  }
}

/// Reads until the node closes the connection (a reset when it closed with
/// our bytes unread); false if it stays open for the 5 s timeout.
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

/// A CAF 0.17 BASP header: operation, 3 bytes padding/flags, payload
/// length, operation data, source and destination actor (network order).
std::string basp_header(std::uint8_t op, std::uint32_t payload_len,
                        std::uint64_t dest = 0) {
  std::string h(32, '\0');
  h[0] = static_cast<char>(op);
  for (int i = 0; i < 4; ++i)
    h[static_cast<std::size_t>(4 + i)] =
      static_cast<char>((payload_len >> (24 - 8 * i)) & 0xff);
  for (int i = 0; i < 8; ++i)
    h[static_cast<std::size_t>(24 + i)] =
      static_cast<char>((dest >> (56 - 8 * i)) & 0xff);
  return h;
}

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::string out(n, '\0');
  for (auto& c : out)
    c = static_cast<char>(rng() & 0xff);
  return out;
}

/// Sends every kind of raw bad input to a BASP `port` once; returns how
/// many of the oversized frames were answered by closing the connection.
/// Truncated frames whose connections stay open go to `held`.
int attack_basp_port(std::uint16_t port, std::mt19937_64& rng,
                     std::vector<int>& held) {
  int closed = 0;
  auto once = [&](const std::string& bytes, bool expect_close) {
    int fd = connect_raw(port);
    if (fd < 0)
      return;
    send_all(fd, bytes);
    if (expect_close && closed_by_peer(fd))
      ++closed;
    ::close(fd);
  };
  once(random_bytes(rng, 64 * 1024), false);               // garbage
  once(basp_header(1, 0xFFFFFFF0u), true);                 // 4 GiB handshake
  once(basp_header(2, 20u << 20, 1), true);                // 20 MiB message
  once(basp_header(1, 40).substr(0, 13), false);           // truncated, closed
  once(basp_header(1, 24) + random_bytes(rng, 24), false); // bad handshake
  once(basp_header(2, 64, 1) + random_bytes(rng, 64), false); // no handshake
  once(basp_header(9, 0), false); // unknown operation
  // A handshake without payload: SIGSEGV in CAF 0.17.6 without the guard.
  once(basp_header(1, 0), true);
  if (int fd = connect_raw(port); fd >= 0) { // truncated, held
    send_all(fd, basp_header(2, 100, 1).substr(0, 20));
    held.push_back(fd);
  }
  return closed;
}

/// Raw bad input to a direct-transfer (bulk) port: garbage and a header
/// with a nonce no ticket was issued for.
void attack_bulk_port(std::uint16_t port, std::mt19937_64& rng) {
  for (auto& bytes : {random_bytes(rng, 4096),
                      std::string{"LUMENOBJ"} + random_bytes(rng, 16) +
                        std::string("\x00\x00\x00\x00\x00\x10\x00\x00", 8)}) {
    int fd = connect_raw(port);
    if (fd < 0)
      continue;
    send_all(fd, bytes);
    closed_by_peer(fd);
    ::close(fd);
  }
}

// -- logs ---------------------------------------------------------------------

/// Everything the nodes of `dir` logged so far, file by file.
std::vector<std::string> node_logs(const std::string& dir) {
  std::vector<std::string> out;
  auto logs = dir + "/logs";
  if (auto* d = opendir(logs.c_str())) {
    while (auto* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.size() < 4 || name.substr(name.size() - 4) != ".log")
        continue;
      std::ifstream in{logs + "/" + name};
      out.emplace_back(std::istreambuf_iterator<char>{in},
                       std::istreambuf_iterator<char>{});
    }
    closedir(d);
  }
  return out;
}

/// The log of the node whose log names `needle` (its id or its address).
std::string log_of(const std::string& dir, const std::string& needle) {
  for (auto& text : node_logs(dir))
    if (text.find(needle) != std::string::npos)
      return text;
  return {};
}

// -- CAF messages with wrong contents -----------------------------------------

struct attacker_config : caf::actor_system_config {
  attacker_config() {
    load<caf::io::middleman>();
    lumen::detail::register_wire_types(*this);
    set("scheduler.max-threads", std::size_t{2});
    set("middleman.enable-automatic-connections", false);
  }
};

std::vector<char> bytes_of(const lumen::detail::byte_buffer& b) {
  return std::vector<char>(b.data(), b.data() + b.size());
}

std::vector<char> garbage(std::mt19937_64& rng, std::size_t n) {
  auto s = random_bytes(rng, n);
  return std::vector<char>(s.begin(), s.end());
}

/// Joins the head as a node without resources, then sends the head's GCS
/// and the cluster links of `targets` (node ids) messages of the right
/// types whose bytes are garbage or well-formed Cap'n Proto with contents
/// that make no sense. Returns the number of cluster links reached.
std::size_t attack_with_messages(const std::string& head_address,
                                 const std::vector<std::string>& targets,
                                 std::mt19937_64& rng) {
  using namespace lumen;
  attacker_config cfg;
  caf::actor_system sys{cfg};
  auto host = head_address.substr(0, head_address.rfind(':'));
  auto gcs =
    sys.middleman().remote_actor<gated_gcs_actor>(host, port_of(head_address));
  REQUIRE(gcs);
  caf::scoped_actor self{sys};
  // The GCS: garbage records, lineage that is no TaskSpec of its task, a
  // placement group with an unknown strategy.
  std::string refused;
  self
    ->request(*gcs, 10s, register_atom::value, garbage(rng, 64), caf::actor{},
              caf::actor{})
    .receive(
      [&](std::vector<char>&, std::vector<caf::actor>&,
          std::vector<caf::actor>&) {
        refused = "accepted";
      },
      [&](caf::error& e) {
        refused = sys.render(e);
      });
  CHECK_THAT(refused, Contains("decode_node_record"));
  self->send(*gcs, heartbeat_atom::value, garbage(rng, 40));
  std::uint64_t rows = 99;
  auto spec = detail::task_spec{};
  spec.id = task_id{7, 7};
  spec.function = "f";
  auto spec_bytes = bytes_of(detail::encode_task_spec(spec));
  self
    ->request(*gcs, 10s, lineage_commit_atom::value,
              std::vector<std::string>{"not-a-task", task_id{8, 8}.to_string()},
              std::vector<std::string>{
                std::string{"\x00\x00\x00\x00garbage", 11},
                std::string(spec_bytes.begin(), spec_bytes.end())})
    .receive(
      [&](std::uint64_t n) {
        rows = n;
      },
      [&](caf::error&) {});
  CHECK(rows == 0);
  // The same as one packed batch (what stashes send): a batch that does not
  // split into rows is refused whole; in one that does, the row that is
  // not the TaskSpec of its task is dropped and the good one commits.
  std::string refused_batch;
  self
    ->request(*gcs, 10s, lineage_batch_atom::value,
              std::string{"\x05\x00\x00\x00ab", 6})
    .receive(
      [&](std::uint64_t) {
        refused_batch = "accepted";
      },
      [&](caf::error& e) {
        refused_batch = sys.render(e);
      });
  CHECK_THAT(refused_batch, Contains("malformed batch"));
  std::string batch;
  detail::append_lineage_row(batch, "not-a-task", "garbage!");
  detail::append_lineage_row(batch, task_id{7, 7}.to_string(),
                             std::string(spec_bytes.begin(), spec_bytes.end()));
  rows = 99;
  self->request(*gcs, 10s, lineage_batch_atom::value, batch)
    .receive(
      [&](std::uint64_t n) {
        rows = n;
      },
      [&](caf::error&) {});
  CHECK(rows == 1);
  std::string pg;
  self
    ->request(*gcs, 10s, pg_create_atom::value, std::string{"pg-x"},
              std::string{"x"}, std::uint8_t{200},
              std::vector<std::map<std::string, double>>{{{"CPU", 1}}})
    .receive(
      [&](std::string&) {
        pg = "created";
      },
      [&](caf::error& e) {
        pg = sys.render(e);
      });
  CHECK_THAT(pg, Contains("unknown placement strategy"));
  // Join as a node that offers nothing, to learn the cluster links.
  auto sink = sys.spawn([](caf::event_based_actor* s) -> caf::behavior {
    s->set_default_handler(caf::drop);
    return {[](tick_atom) {}};
  });
  detail::node_record me;
  me.id = task_id::random().to_string();
  detail::cluster_view view;
  std::vector<caf::actor> managers;
  std::vector<caf::actor> stores;
  self
    ->request(*gcs, 10s, register_atom::value,
              bytes_of(detail::encode_node_record(me)), sink, sink)
    .receive(
      [&](std::vector<char>& bytes, std::vector<caf::actor>& ms,
          std::vector<caf::actor>& ss) {
        view = detail::decode_cluster_view(bytes.data(), bytes.size());
        managers = std::move(ms);
        stores = std::move(ss);
      },
      [&](caf::error&) {});
  std::size_t reached = 0;
  for (std::size_t i = 0; i < view.nodes.size() && i < managers.size(); ++i) {
    auto& m = managers[i];
    if (!m || std::find(targets.begin(), targets.end(), view.nodes[i].id) ==
                targets.end())
      continue; // this test's driver, or this fake node itself
    auto nm = caf::actor_cast<cluster_link_actor>(m);
    ++reached;
    // A task: garbage, then a well-formed spec with an empty function and
    // a negative CPU count.
    self->send(nm, spillback_atom::value, sink, garbage(rng, 256));
    detail::task_spec bad;
    bad.id = task_id::random();
    bad.options.num_cpus = -4;
    self->send(nm, spillback_atom::value, sink,
               bytes_of(detail::encode_task_spec(bad)));
    // A result: garbage, and one whose error kind does not exist.
    self->send(nm, result_atom::value, garbage(rng, 128));
    detail::object_payload p;
    p.id = object_id{task_id::random(), 1};
    p.has_error = true;
    p.error.kind = static_cast<detail::error_kind>(200);
    self->send(nm, result_atom::value,
               bytes_of(detail::encode_object_payload(p)));
    // A view naming a node whose id is no id.
    detail::cluster_view v;
    v.version = 1u << 30;
    v.nodes.resize(1);
    v.nodes[0].id = "not hex";
    self->send(nm, view_atom::value, bytes_of(detail::encode_cluster_view(v)),
               std::vector<caf::actor>{}, std::vector<caf::actor>{});
    // An actor to host, with options that say max_concurrency 0.
    detail::remote_actor_options o;
    o.options.max_concurrency = 0;
    self->send(nm, spawn_atom::value, sink, sink,
               bytes_of(detail::encode_task_spec(spec)),
               bytes_of(detail::encode_actor_options(o)));
    // Object transfers, to the node's object store: ids of the wrong size,
    // a value announced at 1 EiB, a pull whose ticket names no node.
    if (i < stores.size() && stores[i]) {
      auto os = caf::actor_cast<object_store_actor>(stores[i]);
      self->send(os, free_atom::value, garbage(rng, 3));
      self->send(os, located_atom::value, garbage(rng, 20),
                 std::string{"nowhere"}, std::uint64_t{1} << 60);
      self->send(os, pull_atom::value, garbage(rng, 5), std::uint64_t{0},
                 std::uint64_t{1} << 40);
      auto req = garbage(rng, 20);
      auto junk = garbage(rng, 40);
      req.insert(req.end(), junk.begin(), junk.end());
      self->send(os, pull_atom::value, req, std::uint64_t{0},
                 std::uint64_t{1} << 20);
    }
    // A placement group bundle with a negative amount.
    self->send(nm, reserve_atom::value, std::string{"pg-x"}, std::uint64_t{0},
               std::map<std::string, double>{{"CPU", -1}});
  }
  // Leave: the GCS sees the connection drop and marks the node dead.
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  return reached;
}

} // namespace

TEST_CASE("bad input: garbage on every node port leaves a workload unharmed",
          "[bad_input]") {
  cluster_it::test_cluster cluster{1, 2, {}, "--max-message-size 16Mi"};
  cluster_it::watchdog dog{cluster, std::chrono::seconds(280)};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  std::vector<std::string> node_ids;
  for (auto& n : lumen::nodes())
    if (!n.driver && n.alive)
      node_ids.push_back(n.id);
  REQUIRE(node_ids.size() == 2);
  auto files = cluster.nodes();
  REQUIRE(files.size() == 2);

  // The workload: rounds of spread tasks and 2 MiB values made on one node
  // and checked on the other, until the attack is over.
  std::atomic<bool> attack_done{false};
  std::atomic<int> rounds{0};
  std::atomic<int> rounds_before_attack{-1};
  std::atomic<bool> workload_ended{false};
  std::vector<std::string> failures;
  std::thread workload{[&] {
    try {
      constexpr std::int64_t blob = 2 << 20;
      // Two more rounds after the attack: the nodes serve on as before.
      while (!attack_done || rounds < rounds_before_attack + 2) {
        int r = rounds;
        std::vector<lumen::object_ref<std::string>> where;
        for (int i = 0; i < 20; ++i)
          where.push_back(lumen::task(cluster_tasks::where).spread().remote(i));
        auto made = lumen::task(cluster_tasks::make_blob)
                      .node_affinity(node_ids[r % 2])
                      .remote(blob, r);
        auto checked = lumen::task(cluster_tasks::check_blob)
                         .node_affinity(node_ids[(r + 1) % 2])
                         .remote(made, blob, r);
        auto results = lumen::get(where, 60s);
        for (int i = 0; i < 20; ++i) {
          auto& s = results[static_cast<std::size_t>(i)];
          if (s.substr(s.find(':') + 1) != std::to_string(i))
            failures.push_back("where(" + std::to_string(i) + ") = " + s);
        }
        auto c = lumen::get(checked, 60s);
        if (c != node_ids[(r + 1) % 2] + ":ok")
          failures.push_back("check_blob in round " + std::to_string(r) +
                             " = " + c);
        ++rounds;
      }
    } catch (const std::exception& e) {
      failures.push_back(std::string{"workload: "} + e.what());
    }
    workload_ended = true;
  }};

  // The attack, on every port of both nodes, three times over.
  std::mt19937_64 rng{20261125};
  std::vector<int> held;
  int closed = 0;
  std::vector<std::uint16_t> bulk_ports;
  for (auto& f : files) {
    auto log = log_of(cluster.dir(), f.at("id"));
    std::smatch m;
    if (std::regex_search(
          log, m, std::regex{"direct channel, listening on [^:]+:(\\d+)"}))
      bulk_ports.push_back(static_cast<std::uint16_t>(std::stoul(m[1])));
  }
  // Attack while the workload runs: once its first round is through.
  for (auto deadline = std::chrono::steady_clock::now() + 60s;
       rounds == 0 && !workload_ended &&
       std::chrono::steady_clock::now() < deadline;)
    std::this_thread::sleep_for(10ms);
  rounds_before_attack = rounds.load();
  for (int round = 0; round < 3; ++round) {
    for (auto& f : files)
      closed += attack_basp_port(port_of(f.at("address")), rng, held);
    for (auto port : bulk_ports)
      attack_bulk_port(port, rng);
  }
  CHECK(closed == 3 * 2 * 3); // every oversized frame and empty handshake
  CHECK(attack_with_messages(cluster.address(), node_ids, rng) == 2);
  attack_done = true;
  workload.join();
  for (int fd : held)
    ::close(fd);

  INFO("workload failures: "
       << failures.size()
       << (failures.empty() ? "" : ", first: " + failures.front()));
  CHECK(failures.empty());
  CHECK(rounds_before_attack >= 1);
  CHECK(rounds >= rounds_before_attack + 2);
  // Both nodes still run and still serve: a fresh round of tasks.
  for (auto& f : files)
    CHECK(::kill(std::stoi(f.at("pid")), 0) == 0);
  auto after = lumen::task(cluster_tasks::where).spread().remote(99);
  CHECK_THAT(lumen::get(after, 60s), Contains(":99"));
  auto [status, out] = cluster.cli("status --runtime-dir " + cluster.dir());
  CHECK(status == 0);

  // Each node's log names what it dropped.
  auto head_log = log_of(cluster.dir(), "head node");
  auto worker_log = log_of(cluster.dir(), "worker node");
  for (auto* log : {&head_log, &worker_log}) {
    INFO(*log);
    // Before its handshake a stranger may send 4 KiB at most.
    CHECK_THAT(*log, Contains("a message announced 4294967280 bytes, more "
                              "than a peer may send (4096 bytes) before its "
                              "handshake"));
    CHECK_THAT(*log, Contains("a message announced 20971520 bytes"));
    CHECK_THAT(*log, Contains("a BASP handshake without payload"));
    CHECK_THAT(*log, Contains("not a BASP message"));
    CHECK_THAT(*log, Contains("dropped a task from another node"));
    CHECK_THAT(*log, Contains("dropped a result from another node"));
    CHECK_THAT(*log, Contains("dropped a bad cluster view"));
    CHECK_THAT(*log, Contains("refused an actor from another node"));
    CHECK_THAT(*log, Contains("refused a bundle"));
  }
  INFO(head_log);
  CHECK_THAT(head_log, Contains("gcs: rejected a registration"));
  CHECK_THAT(head_log, Contains("gcs: dropped a heartbeat"));
  CHECK_THAT(head_log, Contains("the GCS dropped a lineage row for task "
                                "'not-a-task'"));
  CHECK_THAT(head_log, Contains("its spec is the one of task"));
}

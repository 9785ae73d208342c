// Issue 24 across three nodes (a head and two workers, real `lumen`
// processes on 127.0.0.1): lumen::context() in tasks and actors on other
// nodes, was_actor_restarted in an actor re-created elsewhere after its
// node is SIGKILLed, namespaces carried to other nodes, named placement
// groups found from any node, captured child tasks, retry_exceptions,
// per-call names, and native actors placed on and found from any node.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <string>

#include "cluster_support.hpp"
#include "context_tasks.hpp"
#include "lumen/native_actor.hpp"

using namespace std::chrono_literals;
using context_tasks::Probe;

namespace {

/// Two workers that can each hold one Probe ("ctx"); the second also
/// hosts native actors ("nat").
const std::vector<std::string> ctx_nodes{
  "--resources '{\"ctx\": 1}'", "--resources '{\"ctx\": 1, \"nat\": 1}'"};

cluster_it::node_file node_file_of(const cluster_it::test_cluster& cluster,
                                   const std::string& id) {
  for (auto& f : cluster.nodes())
    if (f.at("id") == id)
      return f;
  throw std::runtime_error("no node file for node " + id);
}

bool holds(const std::vector<std::string>& info, const std::string& part) {
  for (std::size_t i = 6; i < info.size(); ++i)
    if (info[i].find(part) != std::string::npos)
      return true;
  return false;
}

int lines_in(const std::string& path) {
  std::ifstream in{path};
  int n = 0;
  std::string line;
  while (std::getline(in, line))
    ++n;
  return n;
}

} // namespace

TEST_CASE("runtime context on three nodes: tasks and actors elsewhere, "
          "restarted after their node is killed",
          "[context][cluster]") {
  cluster_it::test_cluster cluster{2, 2, ctx_nodes};
  cluster_it::watchdog dog{cluster, 240s};
  lumen::init_guard g{
    lumen::config{.address = cluster.address(), .ns = "crew"}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto me = lumen::context();
  // A task on a worker: the driver's job and namespace, its resources.
  auto t = lumen::get(lumen::task(context_tasks::info)
                        .num_cpus(0.5)
                        .resources({{"ctx", 0.5}})
                        .remote(),
                      60s);
  REQUIRE(t.size() >= 6);
  CHECK(t[0] == me.job_id.to_string());
  CHECK(t[3] != lumen::node_id());
  CHECK(t[4] == "crew");
  CHECK(holds(t, "ctx=0.5"));
  CHECK(holds(t, "CPU=0.5"));
  // Its child, wherever it runs, keeps both.
  auto c = lumen::get(
    lumen::task(context_tasks::child_info).resources({{"ctx", 0.5}}).remote(),
    60s);
  REQUIRE(c.size() >= 6);
  CHECK(c[0] == me.job_id.to_string());
  CHECK(c[4] == "crew");

  // An actor on a worker; its node dies; the new instance elsewhere knows.
  auto p = lumen::actor(Probe::create)
             .resources({{"ctx", 1}})
             .max_restarts(-1)
             .max_task_retries(-1)
             .remote();
  auto a = lumen::get(p.task(&Probe::info).remote(), 60s);
  REQUIRE(a.size() >= 6);
  CHECK(a[2] == p.id().to_string());
  CHECK(a[4] == "crew");
  CHECK(a[5].empty());
  CHECK(holds(a, "ctx=1"));
  auto first = a[3];
  CHECK(first != lumen::node_id());
  ::kill(std::stoi(node_file_of(cluster, first).at("pid")), SIGKILL);
  auto b = lumen::get(p.task(&Probe::info).remote(), 90s);
  REQUIRE(b.size() >= 6);
  CHECK(b[3] != first);
  CHECK(b[2] == p.id().to_string());
  CHECK(b[5] == "restarted");
  CHECK(b[4] == "crew");
}

TEST_CASE("namespaces and actor conveniences on three nodes",
          "[context][cluster]") {
  cluster_it::test_cluster cluster{2, 2, ctx_nodes};
  cluster_it::watchdog dog{cluster, 240s};
  lumen::init_guard g{
    lumen::config{.address = cluster.address(), .ns = "crew"}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  // A task on a worker names an actor in the driver's namespace.
  auto where = lumen::get(lumen::task(context_tasks::make_named_probe)
                            .resources({{"ctx", 0.1}})
                            .remote("made-there"),
                          60s);
  CHECK(where != lumen::node_id());
  auto found = lumen::get_actor<Probe>("made-there");
  REQUIRE(found);
  CHECK_FALSE(lumen::get_actor<Probe>("made-there", "other"));
  CHECK(lumen::get(lumen::task(context_tasks::probe_visible)
                     .resources({{"ctx", 0.1}})
                     .remote("made-there"),
                   60s));
  // get_if_exists from here finds the actor made there.
  auto same =
    lumen::actor(Probe::create).name("made-there").get_if_exists().remote();
  CHECK(same.id() == found->id());
  // A call's name in an error from another node.
  auto p = lumen::actor(Probe::create).resources({{"ctx", 0.5}}).remote();
  try {
    lumen::get(p.task(&Probe::fail).name("remote-call").remote(), 60s);
    FAIL("no error");
  } catch (const lumen::task_error& e) {
    CHECK(e.task_name() == "remote-call");
  }
  lumen::kill(*found);

  // Placement groups by name from a task on another node.
  auto pg = lumen::create_placement_group({{{"ctx", 0.5}, {"CPU", 1}}},
                                          lumen::pg_strategy::pack, "crew-pg");
  REQUIRE(pg.wait(60s));
  CHECK(pg.state() == lumen::pg_state::created);
  auto by_name = lumen::get_placement_group("crew-pg");
  REQUIRE(by_name);
  CHECK(by_name->id() == pg.id());
  CHECK_FALSE(lumen::get_placement_group("crew-pg", "other"));
  // Children of a task captured in the group run in its bundle.
  auto captured = lumen::get(lumen::task(context_tasks::child_info)
                               .num_cpus(0)
                               .resources({{"ctx", 0.2}})
                               .placement_group(pg.capture_child_tasks())
                               .remote(),
                             60s);
  CHECK(holds(captured, "_group_" + pg.id()));
  lumen::remove_placement_group(pg);
  CHECK(pg.state() == lumen::pg_state::removed);
  CHECK_FALSE(lumen::get_placement_group("crew-pg"));
}

TEST_CASE("retry_exceptions<E...> on three nodes", "[context][cluster]") {
  cluster_it::test_cluster cluster{2, 2, ctx_nodes};
  cluster_it::watchdog dog{cluster, 240s};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto path = cluster.dir() + "/runs";
  CHECK_THROWS_AS(lumen::get(lumen::task(context_tasks::fail_with)
                               .resources({{"ctx", 0.1}})
                               .max_retries(2)
                               .retry_exceptions<std::invalid_argument>()
                               .remote(path + "1", 1),
                             60s),
                  lumen::task_error);
  CHECK(lines_in(path + "1") == 3);
  CHECK_THROWS_AS(lumen::get(lumen::task(context_tasks::fail_with)
                               .resources({{"ctx", 0.1}})
                               .max_retries(2)
                               .retry_exceptions<std::invalid_argument>()
                               .remote(path + "2", 2),
                             60s),
                  lumen::task_error);
  CHECK(lines_in(path + "2") == 1);
}

TEST_CASE("native actors on three nodes: placed by resources, found by name "
          "from any node",
          "[context][cluster][native]") {
  cluster_it::test_cluster cluster{2, 2, ctx_nodes};
  cluster_it::watchdog dog{cluster, 240s};
  lumen::init_guard g{
    lumen::config{.address = cluster.address(), .ns = "crew"}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  using context_tasks::native_adder;
  // Only the second worker has "nat".
  auto a = lumen::spawn_native<native_adder>(
    lumen::native_options{.resources = {{"nat", 1}}, .name = "nat-adder"},
    context_tasks::make_native_adder, 1000);
  REQUIRE(a);
  auto node = context_tasks::native_node(a);
  CHECK(node != lumen::node_id());
  CHECK(context_tasks::ask_native(a, 1, 2) == 1003);
  // Found by name here and from a task on the other worker.
  auto found = lumen::get_native_actor<native_adder>("nat-adder");
  REQUIRE(found);
  CHECK(context_tasks::ask_native(*found, 2, 3) == 1005);
  CHECK_FALSE(lumen::get_native_actor<native_adder>("nat-adder", "other"));
  CHECK(lumen::get(lumen::task(context_tasks::add_via_native)
                     .resources({{"ctx", 0.1}})
                     .remote("nat-adder", 4, 5),
                   60s) == 1009);
  // The name is taken cluster-wide.
  CHECK_THROWS_AS(lumen::spawn_native<native_adder>(
                    lumen::native_options{.name = "nat-adder"},
                    context_tasks::make_native_adder, 0),
                  lumen::error);
  // node_affinity picks the node.
  std::string head = cluster.head().at("id");
  auto on_head = lumen::spawn_native<native_adder>(
    lumen::native_options{.node_affinity = head},
    context_tasks::make_native_adder, 1);
  CHECK(context_tasks::native_node(on_head) == head);
  CHECK(context_tasks::ask_native(on_head, 1, 1) == 3);
  // The adder holds "nat" on its node: a task that needs it waits until
  // the adder ends.
  auto waiting = lumen::task(context_tasks::info)
                   .num_cpus(0)
                   .resources({{"nat", 1}})
                   .remote();
  CHECK(lumen::wait(std::vector{waiting}, 1, 2s).ready.empty());
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  auto ran = lumen::get(waiting, 60s);
  REQUIRE(ran.size() >= 6);
  CHECK(ran[3] == node);
}

// Issue 24 on one node: lumen::context() in the driver, tasks and actors;
// config::ns and LUMEN_NAMESPACE; get_if_exists, max_pending_calls,
// per-call names, named placement groups and their state,
// capture_child_tasks, retry_exceptions<E...>, and a LUMEN_NATIVE factory.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "context_tasks.hpp"
#include "lumen/lumen.hpp"
#include "lumen/native_actor.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using context_tasks::Probe;
using lumen_it::patience;

namespace {

/// Released by the test: calls of rc_Gate::wait block until then.
std::mutex gate_mtx;
std::condition_variable gate_cv;
bool gate_open = false;

struct rc_Gate {
  static rc_Gate* create() {
    return new rc_Gate;
  }

  int wait() {
    std::unique_lock lock{gate_mtx};
    gate_cv.wait_for(lock, 60s, [] {
      return gate_open;
    });
    return 1;
  }
};

struct rc_Counter {
  static rc_Counter* create(int start) {
    return new rc_Counter{start};
  }

  int add(int x) {
    return value += x;
  }

  int value = 0;
};

/// Runs of rc_flaky, counted here (the task runs in this process).
std::atomic<int> flaky_runs{0};

int rc_flaky(int kind) {
  ++flaky_runs;
  if (kind == 1)
    throw std::invalid_argument("kind 1");
  if (kind == 2)
    throw std::out_of_range("kind 2");
  return 0;
}

std::string key_of(const std::vector<std::string>& info, std::size_t i) {
  return i < info.size() ? info[i] : std::string{};
}

/// Whether one of the "name=amount" entries from info() names `part`.
bool holds(const std::vector<std::string>& info, const std::string& part) {
  for (std::size_t i = 6; i < info.size(); ++i)
    if (info[i].find(part) != std::string::npos)
      return true;
  return false;
}

} // namespace

LUMEN_REMOTE(rc_Gate::create, &rc_Gate::wait);
LUMEN_REMOTE(rc_Counter::create, &rc_Counter::add);
LUMEN_REMOTE(rc_flaky);

TEST_CASE("runtime context: the driver, a task and an actor", "[context]") {
  lumen::init_guard g{lumen::config{.num_cpus = 2, .resources = {{"gpu", 2}}}};
  auto d = lumen::context();
  CHECK(d.node_id == lumen::node_id());
  CHECK(d.job_id.to_string() == lumen::node_id()); // a driver is its job
  CHECK_FALSE(d.task_id.nil());
  CHECK_FALSE(d.in_actor());
  CHECK_FALSE(d.was_actor_restarted());
  CHECK(d.ns.empty());
  CHECK(d.resources.empty());

  auto t = lumen::get(lumen::task(context_tasks::info)
                        .num_cpus(0.5)
                        .resources({{"gpu", 1}})
                        .remote(),
                      patience);
  REQUIRE(t.size() >= 6);
  CHECK(t[0] == d.job_id.to_string());
  CHECK(t[1] != d.task_id.to_string());
  CHECK(t[2].empty());
  CHECK(t[3] == lumen::node_id());
  CHECK(holds(t, "CPU=0.5"));
  CHECK(holds(t, "gpu=1"));
  // A child carries the job too.
  auto c =
    lumen::get(lumen::task(context_tasks::child_info).remote(), patience);
  REQUIRE(c.size() >= 6);
  CHECK(c[0] == d.job_id.to_string());

  auto p = lumen::actor(Probe::create)
             .num_cpus(1)
             .resources({{"gpu", 1}})
             .max_restarts(1)
             .remote();
  auto a = lumen::get(p.task(&Probe::info).remote(), patience);
  REQUIRE(a.size() >= 6);
  CHECK(a[2] == p.id().to_string());
  CHECK(a[5].empty());
  CHECK(holds(a, "CPU=1"));
  CHECK(holds(a, "gpu=1"));
  // Restarted by a kill that allows it: the new instance knows.
  lumen::kill(p, false);
  auto b = lumen::get(p.task(&Probe::info).remote(), patience);
  REQUIRE(b.size() >= 6);
  CHECK(b[5] == "restarted");
  CHECK(b[2] == p.id().to_string());
}

TEST_CASE("runtime context: context() needs lumen running", "[context]") {
  CHECK_THROWS_AS(lumen::context(), lumen::not_initialized_error);
}

TEST_CASE("namespaces: config::ns is where names go by default",
          "[context][namespace]") {
  lumen::init_guard g{lumen::config{.num_cpus = 2, .ns = "team"}};
  CHECK(lumen::context().ns == "team");
  auto t = lumen::get(lumen::task(context_tasks::info).remote(), patience);
  CHECK(key_of(t, 4) == "team");
  auto a = lumen::actor(rc_Counter::create).name("c").remote(1);
  CHECK(lumen::get_actor<rc_Counter>("c"));
  CHECK(lumen::get_actor<rc_Counter>("c", "team"));
  CHECK_FALSE(lumen::get_actor<rc_Counter>("c", "elsewhere"));
  // The same name in another namespace is another actor.
  auto b = lumen::actor(rc_Counter::create).name("c", "elsewhere").remote(100);
  CHECK(lumen::get(lumen::get_actor<rc_Counter>("c", "elsewhere")
                     ->task(&rc_Counter::add)
                     .remote(1),
                   patience) == 101);
  // Code in a task names in its job's namespace.
  CHECK(lumen::get(lumen::task(context_tasks::probe_visible).remote("nobody"),
                   patience) == false);
  lumen::get(lumen::task(context_tasks::make_named_probe).remote("p1"),
             patience);
  CHECK(lumen::get_actor<Probe>("p1", "team"));
  CHECK_FALSE(lumen::get_actor<Probe>("p1", "elsewhere"));
  lumen::kill(*lumen::get_actor<Probe>("p1", "team"));
  // Placement groups too.
  auto pg = lumen::create_placement_group({{{"CPU", 1}}},
                                          lumen::pg_strategy::pack, "g");
  CHECK(lumen::get_placement_group("g"));
  CHECK(lumen::get_placement_group("g", "team"));
  CHECK_FALSE(lumen::get_placement_group("g", "elsewhere"));
  lumen::remove_placement_group(pg);
}

TEST_CASE("namespaces: LUMEN_NAMESPACE when config::ns is empty",
          "[context][namespace]") {
  ::setenv("LUMEN_NAMESPACE", "from-env", 1);
  {
    lumen::init_guard g{lumen::config{.num_cpus = 1}};
    CHECK(lumen::context().ns == "from-env");
  }
  {
    lumen::init_guard g{lumen::config{.num_cpus = 1, .ns = "given"}};
    CHECK(lumen::context().ns == "given");
  }
  ::unsetenv("LUMEN_NAMESPACE");
}

TEST_CASE("actor conveniences: get_if_exists returns the live actor",
          "[context][actors]") {
  lumen::init_guard g{lumen::config{.num_cpus = 2}};
  auto a =
    lumen::actor(rc_Counter::create).name("shared").get_if_exists().remote(10);
  auto b =
    lumen::actor(rc_Counter::create).name("shared").get_if_exists().remote(500);
  CHECK(a.id() == b.id());
  CHECK(lumen::get(a.task(&rc_Counter::add).remote(1), patience) == 11);
  CHECK(lumen::get(b.task(&rc_Counter::add).remote(1), patience) == 12);
  // Without it, the name is taken.
  CHECK_THROWS_AS(lumen::actor(rc_Counter::create).name("shared").remote(0),
                  lumen::error);
  CHECK_THROWS_AS(lumen::actor(rc_Counter::create).get_if_exists().remote(0),
                  lumen::error);
  // Once it is gone, a new one is made.
  lumen::kill(a);
  CHECK(lumen_it::eventually([] {
    return !lumen::get_actor<rc_Counter>("shared").has_value();
  }));
  auto c =
    lumen::actor(rc_Counter::create).name("shared").get_if_exists().remote(7);
  CHECK(c.id() != a.id());
  CHECK(lumen::get(c.task(&rc_Counter::add).remote(0), patience) == 7);
}

TEST_CASE("actor conveniences: max_pending_calls fails excess calls at once",
          "[context][actors]") {
  lumen::init_guard g{lumen::config{.num_cpus = 2}};
  {
    std::lock_guard lock{gate_mtx};
    gate_open = false;
  }
  auto gate = lumen::actor(rc_Gate::create).max_pending_calls(2).remote();
  auto r1 = gate.task(&rc_Gate::wait).remote();
  auto r2 = gate.task(&rc_Gate::wait).remote();
  CHECK_THROWS_AS(gate.task(&rc_Gate::wait).remote(),
                  lumen::pending_calls_exceeded_error);
  {
    std::lock_guard lock{gate_mtx};
    gate_open = true;
  }
  gate_cv.notify_all();
  CHECK(lumen::get(r1, patience) == 1);
  CHECK(lumen::get(r2, patience) == 1);
  // Answered calls count no more.
  CHECK(lumen_it::eventually([&] {
    try {
      return lumen::get(gate.task(&rc_Gate::wait).remote(), patience) == 1;
    } catch (const lumen::pending_calls_exceeded_error&) {
      return false;
    }
  }));
  CHECK_THROWS_AS(lumen::actor(rc_Gate::create).max_pending_calls(0).remote(),
                  lumen::error);
}

TEST_CASE("actor conveniences: a call's name shows in its error",
          "[context][actors]") {
  lumen::init_guard g{lumen::config{.num_cpus = 2}};
  auto p = lumen::actor(Probe::create).remote();
  try {
    lumen::get(p.task(&Probe::fail).name("probe-call-7").remote(), patience);
    FAIL("no error");
  } catch (const lumen::task_error& e) {
    CHECK(e.task_name() == "probe-call-7");
    CHECK(e.message() == "probe failed");
  }
  try {
    lumen::get(p.task(&Probe::fail).remote(), patience);
    FAIL("no error");
  } catch (const lumen::task_error& e) {
    CHECK(e.task_name() == "context_tasks::Probe::fail");
  }
}

TEST_CASE("placement groups: found by name, with their state",
          "[context][pg]") {
  lumen::init_guard g{lumen::config{.num_cpus = 2}};
  CHECK_FALSE(lumen::get_placement_group("none"));
  auto pg = lumen::create_placement_group({{{"CPU", 1}}},
                                          lumen::pg_strategy::pack, "mine");
  REQUIRE(pg.wait(patience));
  CHECK(pg.state() == lumen::pg_state::created);
  auto found = lumen::get_placement_group("mine");
  REQUIRE(found);
  CHECK(found->id() == pg.id());
  CHECK(found->bundle_count() == 1);
  // A name is taken while its group lives.
  CHECK_THROWS_AS(lumen::create_placement_group(
                    {{{"CPU", 1}}}, lumen::pg_strategy::pack, "mine"),
                  lumen::error);
  // One that can never be placed stays pending.
  auto big = lumen::create_placement_group({{{"CPU", 64}}},
                                           lumen::pg_strategy::pack, "big");
  CHECK(big.state() == lumen::pg_state::pending);
  lumen::remove_placement_group(pg);
  lumen::remove_placement_group(big);
  CHECK(pg.state() == lumen::pg_state::removed);
  CHECK_FALSE(lumen::get_placement_group("mine"));
  // The name is free again.
  auto again = lumen::create_placement_group({{{"CPU", 1}}},
                                             lumen::pg_strategy::pack, "mine");
  CHECK(lumen::get_placement_group("mine")->id() == again.id());
}

TEST_CASE("placement groups: capture_child_tasks puts children in the group",
          "[context][pg]") {
  lumen::init_guard g{lumen::config{.num_cpus = 4}};
  auto pg = lumen::create_placement_group({{{"CPU", 2}}});
  REQUIRE(pg.wait(patience));
  auto group_part = "_group_";
  // Captured: the child holds the bundle's CPU.
  auto captured = lumen::get(lumen::task(context_tasks::child_info)
                               .num_cpus(1)
                               .placement_group(pg.capture_child_tasks())
                               .remote(),
                             patience);
  CHECK(holds(captured, group_part));
  CHECK(holds(captured, pg.id()));
  // Not captured: the child takes the node's CPUs.
  auto free = lumen::get(lumen::task(context_tasks::child_info)
                           .num_cpus(1)
                           .placement_group(pg)
                           .remote(),
                         patience);
  CHECK_FALSE(holds(free, group_part));
  CHECK(holds(free, "CPU=1"));
  // An actor placed with capture captures its own tasks.
  auto p = lumen::actor(Probe::create)
             .placement_group(pg.capture_child_tasks())
             .remote();
  auto a = lumen::get(p.task(&Probe::info).remote(), patience);
  CHECK(key_of(a, 2) == p.id().to_string());
}

TEST_CASE("tasks: retry_exceptions<E...> retries only the listed types",
          "[context][retries]") {
  lumen::init_guard g{lumen::config{.num_cpus = 2}};
  flaky_runs = 0;
  CHECK_THROWS_AS(lumen::get(lumen::task(rc_flaky)
                               .max_retries(2)
                               .retry_exceptions<std::invalid_argument>()
                               .remote(1),
                             patience),
                  lumen::task_error);
  CHECK(flaky_runs == 3);
  flaky_runs = 0;
  CHECK_THROWS_AS(lumen::get(lumen::task(rc_flaky)
                               .max_retries(2)
                               .retry_exceptions<std::invalid_argument>()
                               .remote(2),
                             patience),
                  lumen::task_error);
  CHECK(flaky_runs == 1);
  flaky_runs = 0;
  CHECK_THROWS_AS(
    lumen::get(lumen::task(rc_flaky)
                 .max_retries(1)
                 .retry_exceptions<std::invalid_argument, std::out_of_range>()
                 .remote(2),
               patience),
    lumen::task_error);
  CHECK(flaky_runs == 2);
  // A base class listed does not match a derived type thrown.
  flaky_runs = 0;
  CHECK_THROWS_AS(lumen::get(lumen::task(rc_flaky)
                               .max_retries(2)
                               .retry_exceptions<std::logic_error>()
                               .remote(1),
                             patience),
                  lumen::task_error);
  CHECK(flaky_runs == 1);
}

TEST_CASE("native actors: a LUMEN_NATIVE factory on one node",
          "[context][native]") {
  lumen::init_guard g{lumen::config{.num_cpus = 2, .ns = "nat"}};
  auto a = lumen::spawn_native<context_tasks::native_adder>(
    lumen::native_options{.name = "adder"}, context_tasks::make_native_adder,
    100);
  CHECK(context_tasks::ask_native(a, 1, 2) == 103);
  CHECK(context_tasks::native_node(a) == lumen::node_id());
  // Named in the caller's namespace.
  CHECK(lumen::get_native_actor<context_tasks::native_adder>("adder"));
  CHECK(lumen::get_native_actor<context_tasks::native_adder>("adder", "nat"));
  CHECK_FALSE(
    lumen::get_native_actor<context_tasks::native_adder>("adder", "other"));
  CHECK(
    lumen::get(lumen::task(context_tasks::add_via_native).remote("adder", 2, 3),
               patience) == 105);
  CHECK_THROWS_AS(lumen::spawn_native<context_tasks::native_adder>(
                    lumen::native_options{.node_affinity = "no-such-node"},
                    context_tasks::make_native_adder, 0),
                  lumen::error);
}

// Integration tests: resource-aware placement of Ray-style actors (issue
// 3, point 8): an actor holds its CPUs and custom resources while it
// lives, waits for them when they are taken, and gives them back when it
// ends.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "lumen/lumen.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using lumen_it::patience;

namespace {

lumen_it::gate ap_gate;

struct ap_Worker {
  static ap_Worker* create(int id) {
    return new ap_Worker{id};
  }

  int id_of() const {
    return id;
  }

  int id = 0;
};

int ap_one(int x) {
  return x;
}

int ap_gated(int x) {
  ap_gate.wait();
  return x;
}

double free_cpus() {
  auto s = lumen_it::snapshot();
  auto i = s.available.find("CPU");
  return i == s.available.end() ? 0.0 : i->second;
}

} // namespace

LUMEN_REMOTE(ap_Worker::create, &ap_Worker::id_of);
LUMEN_REMOTE(ap_one, ap_gated);

TEST_CASE("actor placement: an actor holding every CPU makes tasks wait "
          "until it is killed",
          "[actors][placement]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto big = lumen::actor(ap_Worker::create).num_cpus(2).remote(1);
  // Placed once its first call returns.
  REQUIRE(lumen::get(big.task(&ap_Worker::id_of).remote(), patience) == 1);
  CHECK(free_cpus() == 0);
  auto task = lumen::task(ap_one).remote(5);
  CHECK_THROWS_AS(lumen::get(task, 300ms), lumen::timeout_error);
  // The actor itself still takes calls.
  CHECK(lumen::get(big.task(&ap_Worker::id_of).remote(), patience) == 1);
  lumen::kill(big);
  CHECK(lumen::get(task, patience) == 5);
  CHECK(lumen_it::eventually([] {
    return free_cpus() == 2;
  }));
}

TEST_CASE("actor placement: an actor waits for CPUs that tasks hold",
          "[actors][placement]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  ap_gate.close();
  auto busy = lumen::task(ap_gated).num_cpus(2).remote(0);
  REQUIRE(lumen_it::eventually([] {
    return free_cpus() == 0;
  }));
  auto a = lumen::actor(ap_Worker::create).num_cpus(1).remote(7);
  auto call = a.task(&ap_Worker::id_of).remote();
  CHECK_THROWS_AS(lumen::get(call, 300ms), lumen::timeout_error);
  CHECK(lumen_it::eventually([] {
    return lumen_it::snapshot().pending_actors == 1;
  }));
  ap_gate.open();
  CHECK(lumen::get(call, patience) == 7);
  CHECK(lumen::get(busy, patience) == 0);
  CHECK(lumen_it::eventually([] {
    return free_cpus() == 1;
  }));
}

TEST_CASE("actor placement: actors queue for a custom resource",
          "[actors][placement]") {
  lumen::init_guard guard{
    lumen::config{.num_cpus = 2, .resources = {{"ap_dev", 1}}}};
  auto first =
    lumen::actor(ap_Worker::create).resources({{"ap_dev", 1}}).remote(1);
  REQUIRE(lumen::get(first.task(&ap_Worker::id_of).remote(), patience) == 1);
  auto second =
    lumen::actor(ap_Worker::create).resources({{"ap_dev", 1}}).remote(2);
  auto call = second.task(&ap_Worker::id_of).remote();
  CHECK_THROWS_AS(lumen::get(call, 300ms), lumen::timeout_error);
  // A task needing the resource waits as well.
  auto task = lumen::task(ap_one).resources({{"ap_dev", 1}}).remote(3);
  CHECK_THROWS_AS(lumen::get(task, 100ms), lumen::timeout_error);
  // Dropping the first actor's last handle frees the resource.
  first = {};
  CHECK(lumen::get(call, patience) == 2);
  second = {};
  CHECK(lumen::get(task, patience) == 3);
}

TEST_CASE("actor placement: an actor without num_cpus holds no CPU",
          "[actors][placement]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 1}};
  std::vector<lumen::actor_handle<ap_Worker>> actors;
  for (int i = 0; i < 3; ++i)
    actors.push_back(lumen::actor(ap_Worker::create).remote(i));
  for (int i = 0; i < 3; ++i)
    CHECK(
      lumen::get(
        actors[static_cast<std::size_t>(i)].task(&ap_Worker::id_of).remote(),
        patience) == i);
  CHECK(free_cpus() == 1);
  CHECK(lumen::get(lumen::task(ap_one).remote(9), patience) == 9);
}

TEST_CASE("actor placement: on a node without CPUs only num_cpus(0) actors "
          "are placed",
          "[actors][placement]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 0}};
  auto zero = lumen::actor(ap_Worker::create).num_cpus(0).remote(1);
  CHECK(lumen::get(zero.task(&ap_Worker::id_of).remote(), patience) == 1);
  // Without num_cpus an actor needs a node with a CPU (as in Ray).
  auto pending = lumen::actor(ap_Worker::create).remote(2);
  auto call = pending.task(&ap_Worker::id_of).remote();
  CHECK_THROWS_AS(lumen::get(call, 300ms), lumen::timeout_error);
  // A kill ends it while it waits.
  lumen::kill(pending);
  CHECK_THROWS_AS(lumen::get(call, patience), lumen::actor_died_error);
}

TEST_CASE("actor placement: an infeasible actor stays pending and can be "
          "killed",
          "[actors][placement]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto huge =
    lumen::actor(ap_Worker::create).num_cpus(100).name("ap_huge").remote(1);
  auto call = huge.task(&ap_Worker::id_of).remote();
  CHECK_THROWS_AS(lumen::get(call, 300ms), lumen::timeout_error);
  CHECK(lumen_it::eventually([] {
    return lumen_it::snapshot().pending_actors == 1;
  }));
  // It holds nothing meanwhile: tasks and other actors run.
  CHECK(free_cpus() == 2);
  CHECK(lumen::get(lumen::task(ap_one).remote(4), patience) == 4);
  auto small = lumen::actor(ap_Worker::create).num_cpus(1).remote(5);
  CHECK(lumen::get(small.task(&ap_Worker::id_of).remote(), patience) == 5);
  lumen::kill(huge);
  CHECK_THROWS_AS(lumen::get(call, patience), lumen::actor_died_error);
  // (Its name is released just after; see actor_basics_test.cpp.)
  CHECK(lumen_it::eventually([] {
    return !lumen::get_actor<ap_Worker>("ap_huge").has_value();
  }));
}

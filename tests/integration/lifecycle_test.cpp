// Integration tests: init, shutdown, the guard, and invalid configs
// (issue 2, "Public API": init/shutdown and lumen::config).

#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <caf/logger.hpp>

#include <catch2/catch.hpp>

#include "lumen/lumen.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using lumen_it::patience;

namespace {

lumen_it::gate lc_gate;

int lc_add(int a, int b) {
  return a + b;
}

int lc_gated(int x) {
  lc_gate.wait();
  return x;
}

} // namespace

LUMEN_REMOTE(lc_add, lc_gated);

TEST_CASE("lifecycle: the API refuses to work before init",
          "[lifecycle][errors]") {
  REQUIRE_FALSE(lumen::is_initialized());
  CHECK_THROWS_AS(lumen::put(1), lumen::not_initialized_error);
  CHECK_THROWS_AS(lumen::task(lc_add).remote(1, 2),
                  lumen::not_initialized_error);
  // A ref that outlived its runtime: get and wait need a running one.
  lumen::object_ref<int> old;
  {
    lumen::init_guard guard{lumen::config{.num_cpus = 1}};
    old = lumen::put(5);
    CHECK(lumen::get(old) == 5);
  }
  REQUIRE_FALSE(lumen::is_initialized());
  CHECK_THROWS_AS(lumen::get(old), lumen::not_initialized_error);
  CHECK_THROWS_AS(lumen::get(old, 10ms), lumen::not_initialized_error);
  CHECK_THROWS_AS(lumen::get(std::vector<lumen::object_ref<int>>{old}),
                  lumen::not_initialized_error);
  CHECK_THROWS_AS(
    lumen::wait(std::vector<lumen::object_ref<int>>{old}, 1, 10ms),
    lumen::not_initialized_error);
  CHECK_THROWS_AS(lumen::task(lc_add).remote(old, 1),
                  lumen::not_initialized_error);
  // The error is a lumen::error like every other.
  CHECK_THROWS_AS(lumen::put(1), lumen::error);
  old = {}; // dropping a ref after shutdown is harmless
}

TEST_CASE("lifecycle: init twice throws and leaves the first running",
          "[lifecycle][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  CHECK(lumen::is_initialized());
  CHECK_THROWS_AS(lumen::init(lumen::config{.num_cpus = 1}), lumen::error);
  CHECK_THROWS_AS(lumen::init(), lumen::error);
  CHECK(lumen::is_initialized());
  CHECK(lumen_it::snapshot().total.at("CPU") == 2);
  CHECK(lumen::get(lumen::task(lc_add).remote(1, 2), patience) == 3);
}

TEST_CASE("lifecycle: shutdown and init again", "[lifecycle]") {
  for (int round = 0; round < 3; ++round) {
    lumen::init(lumen::config{.num_cpus = 1 + round});
    CHECK(lumen::is_initialized());
    CHECK(lumen_it::snapshot().total.at("CPU") == 1 + round);
    CHECK(lumen::get(lumen::task(lc_add).remote(round, 1), patience) ==
          round + 1);
    lumen::shutdown();
    CHECK_FALSE(lumen::is_initialized());
    lumen::shutdown(); // a second shutdown does nothing
  }
  // The guard shuts down even when the scope is left by an exception.
  try {
    lumen::init_guard guard{lumen::config{.num_cpus = 1}};
    throw std::runtime_error("leaving the scope");
  } catch (const std::runtime_error&) {
  }
  CHECK_FALSE(lumen::is_initialized());
}

TEST_CASE("lifecycle: invalid configs are rejected with lumen::error",
          "[lifecycle][errors]") {
  auto nan = std::numeric_limits<double>::quiet_NaN();
  auto inf = std::numeric_limits<double>::infinity();
  std::vector<lumen::config> bad;
  bad.push_back(lumen::config{.num_cpus = -1});
  bad.push_back(lumen::config{.num_cpus = nan});
  bad.push_back(lumen::config{.num_cpus = inf});
  bad.push_back(lumen::config{.num_cpus = 2, .resources = {{"gpu", nan}}});
  bad.push_back(lumen::config{.num_cpus = 2, .resources = {{"gpu", -1}}});
  bad.push_back(lumen::config{.num_cpus = 2, .resources = {{"gpu", inf}}});
  bad.push_back(lumen::config{.num_cpus = 2, .resources = {{"", 1}}});
  bad.push_back(lumen::config{.num_cpus = 2, .resources = {{"CPU", 4}}});
  for (std::size_t i = 0; i < bad.size(); ++i) {
    INFO("config #" << i);
    CHECK_THROWS_AS(lumen::init(bad[i]), lumen::error);
    CHECK_FALSE(lumen::is_initialized());
    lumen::shutdown();
  }
  // A valid config still starts afterwards.
  lumen::init_guard guard{lumen::config{.num_cpus = 0.5}};
  CHECK(lumen::get(lumen::task(lc_add).num_cpus(0.5).remote(2, 2), patience) ==
        4);
}

TEST_CASE("lifecycle: init() sizes the node from the machine", "[lifecycle]") {
  lumen::init_guard guard;
  auto s = lumen_it::snapshot();
  auto hw = std::max(1u, std::thread::hardware_concurrency());
  CHECK(s.total.at("CPU") == static_cast<double>(hw));
  auto physical = static_cast<double>(sysconf(_SC_PHYS_PAGES)) *
                  static_cast<double>(sysconf(_SC_PAGE_SIZE));
  CHECK(static_cast<double>(s.object_capacity) ==
        Approx(physical * lumen::default_object_store_fraction).epsilon(0.01));
  CHECK(lumen::get(lumen::task(lc_add).remote(20, 22), patience) == 42);
}

TEST_CASE("lifecycle: config sizes are applied", "[lifecycle]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 3,
                                        .resources = {{"gpu", 2}, {"ssd", 0.5}},
                                        .object_store_memory = 123456789}};
  auto s = lumen_it::snapshot();
  CHECK(s.total.at("CPU") == 3);
  CHECK(s.total.at("gpu") == 2);
  CHECK(s.total.at("ssd") == 0.5);
  CHECK(s.object_capacity == 123456789u);
}

TEST_CASE("lifecycle: a node with no CPUs runs zero-CPU tasks",
          "[lifecycle][scheduling]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 0}};
  CHECK(lumen::get(lumen::task(lc_add).num_cpus(0).remote(1, 1), patience) ==
        2);
  auto needs_cpu = lumen::task(lc_add).remote(1, 2);
  CHECK_THROWS_AS(lumen::get(needs_cpu, 50ms), lumen::timeout_error);
}

TEST_CASE("lifecycle: shutdown fails blocked gets instead of hanging",
          "[lifecycle]") {
  lumen::init(lumen::config{.num_cpus = 1});
  lc_gate.close();
  auto running = lumen::task(lc_gated).remote(1);
  auto queued = lumen::task(lc_add).remote(1, 1);
  REQUIRE(lumen_it::eventually([] {
    auto s = lumen_it::snapshot();
    return s.running == 1 && s.queued == 1;
  }));
  std::atomic<int> outcome{0}; // 1: lumen::error, 2: timeout, 3: value
  std::thread reader([&] {
    try {
      lumen::get(queued, patience);
      outcome = 3;
    } catch (const lumen::timeout_error&) {
      outcome = 2;
    } catch (const lumen::error&) {
      outcome = 1;
    }
  });
  // shutdown (on the thread that called init) waits for the running task;
  // the gate opens only once the reader has been woken, so a shutdown that
  // does not wake blocked gets shows up as outcome 2 after 30 s.
  std::thread opener([&] {
    reader.join();
    lc_gate.open();
  });
  std::this_thread::sleep_for(20ms);
  lumen::shutdown();
  opener.join();
  CHECK(outcome == 1);
  CHECK_FALSE(lumen::is_initialized());
  // Refs that outlive the runtime can still be dropped.
  running = {};
  queued = {};
}

// Regression test: shutdown used to hang forever when called on another
// thread than init while the init thread was alive. CAF 0.17 keeps a
// thread-local reference to the actor system's logger on every thread that
// spawned an actor or made a scoped_actor, and ~actor_system waits until the
// logger is gone (actor-framework issues #951, #1261); the runtime now
// clears that reference on the threads it spawns from.
TEST_CASE("lifecycle: shutdown on another thread than init", "[lifecycle]") {
  lumen::init(lumen::config{.num_cpus = 2});
  CHECK(lumen::get(lumen::task(lc_add).remote(1, 2), patience) == 3);
  std::atomic<bool> done{false};
  std::thread stopper([&] {
    lumen::shutdown();
    done = true;
  });
  bool finished = lumen_it::eventually(
    [&] {
      return done.load();
    },
    10s);
  if (!finished) {
    // Release this thread's logger reference so the stuck shutdown can
    // finish and the test ends instead of hanging.
    caf::logger::set_current_actor_system(nullptr);
  }
  stopper.join();
  CHECK(finished);
  CHECK_FALSE(lumen::is_initialized());
}

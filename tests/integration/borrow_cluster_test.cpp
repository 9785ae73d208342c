// Ownership and borrowing of refs across nodes (docs/architecture.md,
// "Borrowing"), on a real 3-node loopback cluster (a head and two
// workers) with this test as a driver: refs nested in task arguments,
// results, put objects and actor calls resolve on any node; the owner
// keeps an object while a borrower on another node holds a ref and frees
// it when the last one goes; an owner's death fails its borrowers' gets
// with owner_died_error; a borrower's death corrects the owner's counts.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "borrow_tasks.hpp"
#include "cluster_support.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using borrow_tasks::Keeper;
using borrow_tasks::refs;

namespace {

/// A head and two workers, with this test as a driver.
struct three_nodes {
  cluster_it::test_cluster cluster{2};
  cluster_it::watchdog watchdog{cluster, std::chrono::seconds(240)};
  lumen::init_guard driver{lumen::config{.address = cluster.address()}};
  std::string head;
  std::vector<std::string> workers;

  three_nodes() {
    REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
    for (auto& n : lumen::nodes()) {
      if (!n.alive || n.driver)
        continue;
      if (n.head)
        head = n.id;
      else
        workers.push_back(n.id);
    }
    REQUIRE(!head.empty());
    REQUIRE(workers.size() == 2);
  }

  /// The pid of the worker node `id`.
  int pid_of(const std::string& id) const {
    for (auto& f : cluster.nodes())
      if (f.count("id") && f.at("id") == id)
        return std::stoi(f.at("pid"));
    return -1;
  }

  std::uint64_t objects_on(const std::string& node) const {
    return lumen::get(
      lumen::task(borrow_tasks::node_objects).node_affinity(node).remote(),
      30s);
  }
};

std::int64_t sum_of(std::int64_t base, int n) {
  return n * base + static_cast<std::int64_t>(n) * (n - 1) / 2;
}

/// Waits (bounded) until `f()` is true.
template <class F>
bool eventually(F f, std::chrono::seconds limit = 20s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f())
      return true;
    std::this_thread::sleep_for(100ms);
  }
  return f();
}

} // namespace

TEST_CASE("borrowing: a reducer gets a vector of refs made on the two other "
          "nodes",
          "[borrow][cluster]") {
  three_nodes c;
  auto a = lumen::get(lumen::task(borrow_tasks::make_refs)
                        .node_affinity(c.workers[0])
                        .remote(100, 0),
                      30s);
  auto b = lumen::get(lumen::task(borrow_tasks::make_refs)
                        .node_affinity(c.workers[1])
                        .remote(100, 1000),
                      30s);
  refs all = a;
  all.insert(all.end(), b.begin(), b.end());
  auto expected = sum_of(0, 100) + sum_of(1000, 100);
  // The tasks that made them have ended: their refs live on as borrowed.
  std::this_thread::sleep_for(200ms);
  CHECK(lumen::get(
          lumen::task(borrow_tasks::sum_refs).node_affinity(c.head).remote(all),
          30s) == expected);
  // On each owner's node too, and here.
  CHECK(lumen::get(lumen::task(borrow_tasks::sum_refs)
                     .node_affinity(c.workers[0])
                     .remote(all),
                   30s) == expected);
  auto here = lumen::get(all, 30s);
  CHECK(std::accumulate(here.begin(), here.end(), std::int64_t{0}) == expected);
  // Nested in a put object passed by ref.
  auto outer = lumen::put(all);
  CHECK(
    lumen::get(
      lumen::task(borrow_tasks::sum_refs).node_affinity(c.head).remote(outer),
      30s) == expected);
}

TEST_CASE("borrowing: refs a task made and returned reach the caller two "
          "hops away and stay valid after the tasks end",
          "[borrow][cluster]") {
  three_nodes c;
  // driver -> worker 0 -> worker 1, which makes them.
  auto rs = lumen::get(lumen::task(borrow_tasks::relay_refs)
                         .node_affinity(c.workers[0])
                         .remote(50, 7, c.workers[1]),
                       30s);
  REQUIRE(rs.size() == 50);
  std::this_thread::sleep_for(300ms);
  auto values = lumen::get(rs, 30s);
  for (std::size_t i = 0; i < values.size(); ++i)
    CHECK(values[i] == 7 + static_cast<std::int64_t>(i));
  // Read on the head as well, after the driver read them.
  CHECK(lumen::get(
          lumen::task(borrow_tasks::sum_refs).node_affinity(c.head).remote(rs),
          30s) == sum_of(7, 50));
}

TEST_CASE("borrowing: an object holding refs passes through an actor on "
          "another node, and the owner keeps the objects for it",
          "[borrow][cluster]") {
  three_nodes c;
  auto keeper =
    lumen::actor(Keeper::create).node_affinity(c.workers[0]).remote();
  auto before = lumen_it::object_count();
  {
    refs mine;
    for (int i = 0; i < 20; ++i)
      mine.push_back(lumen::put(std::int64_t{100 + i}));
    auto outer = lumen::put(mine);
    CHECK(lumen::get(keeper.task(&Keeper::keep).remote(outer), 30s) == 20);
  } // the driver's own refs are gone: the actor's node borrows them
  std::this_thread::sleep_for(300ms);
  CHECK(lumen::get(keeper.task(&Keeper::sum).remote(), 30s) == sum_of(100, 20));
  // Back to the driver, their owner, and on to a task on the other worker.
  auto back = lumen::get(keeper.task(&Keeper::give).remote(), 30s);
  REQUIRE(back.size() == 20);
  CHECK(lumen::get(lumen::task(borrow_tasks::sum_refs)
                     .node_affinity(c.workers[1])
                     .remote(back),
                   30s) == sum_of(100, 20));
  back.clear();
  // Once every borrower gave them back, the owner frees them.
  CHECK(eventually([&] {
    return lumen_it::object_count() <= before + 2;
  }));
}

TEST_CASE("borrowing: refs nested in values over 256 KiB, which travel by "
          "pull, resolve on every node and are freed once dropped",
          "[borrow][cluster]") {
  three_nodes c;
  auto maker = c.workers[0];
  auto maker_before = c.objects_on(maker);
  auto driver_before = lumen_it::object_count();
  {
    // A result too large to travel inline stays on its maker; the refs in
    // it are owned there too.
    auto bag = lumen::task(borrow_tasks::make_big_bag)
                 .node_affinity(maker)
                 .remote(40, 10);
    REQUIRE(lumen::wait(std::vector{bag}, 1, 30s).ready.size() == 1);
    std::this_thread::sleep_for(200ms);
    // Pulled by the other worker, where none of its refs was known.
    CHECK(lumen::get(lumen::task(borrow_tasks::sum_bag)
                       .node_affinity(c.workers[1])
                       .remote(bag),
                     30s) == sum_of(10, 40));
    // Pulled here, then read here and on the head.
    auto here = lumen::get(bag, 30s);
    REQUIRE(here.first.size() == 40);
    auto values = lumen::get(here.first, 30s);
    CHECK(std::accumulate(values.begin(), values.end(), std::int64_t{0}) ==
          sum_of(10, 40));
    // A put of this driver's, over 256 KiB, holding refs made on the
    // maker, read on the head.
    auto outer = lumen::put(here);
    CHECK(
      lumen::get(
        lumen::task(borrow_tasks::sum_bag).node_affinity(c.head).remote(outer),
        30s) == sum_of(10, 40));
  }
  // Every copy of the bags and every borrowed ref goes: nothing is left.
  bool back = eventually(
    [&] {
      return c.objects_on(maker) <= maker_before + 2 &&
             lumen_it::object_count() <= driver_before + 2;
    },
    40s);
  INFO("maker objects " << c.objects_on(maker) << " (from " << maker_before
                        << "), driver " << lumen_it::object_count() << " (from "
                        << driver_before << ")");
  CHECK(back);
}

TEST_CASE("borrowing: when the owner's node is SIGKILLed, borrowers' gets "
          "fail with owner_died_error",
          "[borrow][cluster][chaos]") {
  three_nodes c;
  auto victim = c.workers[0];
  auto rs = lumen::get(
    lumen::task(borrow_tasks::make_refs).node_affinity(victim).remote(10, 0),
    30s);
  // Another node borrows them too (and reads them at once).
  CHECK(lumen::get(lumen::task(borrow_tasks::hold_refs)
                     .node_affinity(c.workers[1])
                     .remote(rs, 0),
                   30s) == sum_of(0, 10));
  auto pid = c.pid_of(victim);
  REQUIRE(pid > 0);
  ::kill(pid, SIGKILL);
  // This driver never read them: its gets fail, as Ray's do.
  CHECK_THROWS_AS(lumen::get(rs[0], 30s), lumen::owner_died_error);
  CHECK_THROWS_AS(lumen::get(rs, 30s), lumen::owner_died_error);
  // The nodes stay up and work on.
  CHECK(lumen::get(lumen::task(borrow_tasks::sum_refs)
                     .node_affinity(c.workers[1])
                     .remote(borrow_tasks::make_refs(3, 1)),
                   30s) == 6);
}

TEST_CASE("borrowing: when a borrower's node is SIGKILLed, the owner frees "
          "its objects once the other borrowers are done, not before",
          "[borrow][cluster][chaos]") {
  three_nodes c;
  auto before = lumen_it::object_count();
  auto victim = c.workers[1];
  lumen::object_ref<std::int64_t> survivor_sum;
  lumen::object_ref<std::int64_t> victim_sum;
  {
    auto rs = borrow_tasks::make_refs(30, 5); // owned by the driver
    victim_sum = lumen::task(borrow_tasks::hold_refs)
                   .node_affinity(victim)
                   .max_retries(0)
                   .remote(rs, 60000);
    survivor_sum = lumen::task(borrow_tasks::hold_refs)
                     .node_affinity(c.workers[0])
                     .remote(rs, 2500);
  } // the driver drops its own refs to the 30 objects
  std::this_thread::sleep_for(500ms);
  ::kill(c.pid_of(victim), SIGKILL);
  // Nothing was freed early: the surviving borrower reads them all.
  CHECK(lumen::get(survivor_sum, 60s) == sum_of(5, 30));
  CHECK_THROWS(lumen::get(victim_sum, 60s)); // lost with its node
  // And nothing leaks: the dead borrower's registrations are dropped.
  CHECK(eventually(
    [&] {
      return lumen_it::object_count() <= before + 2;
    },
    40s));
}

TEST_CASE("borrowing: a million refs passed across nodes and dropped leave "
          "no object behind",
          "[borrow][cluster]") {
  three_nodes c;
  auto owner = c.workers[0];
  auto owner_before = c.objects_on(owner);
  auto driver_before = lumen_it::object_count();
  constexpr int rounds = 100;
  constexpr int per_round = 10'000;
  std::int64_t checked = 0;
  for (int r = 0; r < rounds; ++r) {
    auto rs = lumen::get(lumen::task(borrow_tasks::make_refs)
                           .node_affinity(owner)
                           .remote(per_round, r),
                         60s);
    REQUIRE(rs.size() == static_cast<std::size_t>(per_round));
    if (r % 25 == 0) // read some, on the third node
      checked += lumen::get(lumen::task(borrow_tasks::sum_refs)
                              .node_affinity(c.head)
                              .remote(refs(rs.begin(), rs.begin() + 100)),
                            60s);
  }
  CHECK(checked > 0);
  bool back = eventually(
    [&] {
      return c.objects_on(owner) <= owner_before + 2 &&
             lumen_it::object_count() <= driver_before + 2;
    },
    60s);
  INFO("owner objects " << c.objects_on(owner) << " (from " << owner_before
                        << "), driver " << lumen_it::object_count() << " (from "
                        << driver_before << ")");
  CHECK(back);
}

// num_returns and streaming generators across three node processes (a
// head and two workers on loopback), with a node killed under a
// num_returns task and under a generator (issue 24 items 2 and 3).
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "chain_support.hpp"
#include "cluster_support.hpp"
#include "lumen/lumen.hpp"
#include "stream_tasks.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using chain_it::kill_and_wait;

namespace {

/// The workers (not the head).
std::vector<cluster_it::node_file>
workers(const cluster_it::test_cluster& cluster) {
  std::vector<cluster_it::node_file> result;
  for (auto& f : cluster.nodes())
    if (f.at("role") != "head")
      result.push_back(f);
  REQUIRE(result.size() >= 2u);
  return result;
}

struct temp_path {
  explicit temp_path(const std::string& tag)
    : path((std::filesystem::temp_directory_path() /
            ("lumen_streams_cl_" + tag + "_" + std::to_string(::getpid())))
             .string()) {
    std::filesystem::remove(path);
  }
  ~temp_path() {
    std::filesystem::remove(path);
  }
  std::string path;
};

/// The lines of `path` once a stopped producer no longer adds any
/// (bounded by lumen_it::eventually).
std::size_t settled_lines(const std::string& path) {
  std::size_t last = 0;
  REQUIRE(lumen_it::eventually([&] {
    auto now = stream_tasks::count_lines(path);
    bool same = now == last;
    last = now;
    std::this_thread::sleep_for(300ms);
    return same && now == stream_tasks::count_lines(path);
  }));
  return last;
}

std::string first_line(const std::string& path) {
  std::ifstream in{path};
  std::string line;
  std::getline(in, line);
  return line;
}

} // namespace

TEST_CASE("returns cluster: num_returns on another node gives refs that "
          "resolve and free on their own",
          "[returns][cluster]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto w = workers(cluster);
  for (auto& worker : w) {
    auto [a, node, blob] = lumen::task(stream_tasks::split3)
                             .node_affinity(worker.at("id"))
                             .num_returns<3>()
                             .remote(4, 300'000);
    CHECK(lumen::get(node, 60s) == worker.at("id"));
    CHECK(lumen::get(a, 60s) == 8);
    blob = {};
    CHECK(lumen::get(a, 60s) == 8);
  }
  // An actor on a worker.
  auto s = lumen::actor(stream_tasks::Splitter::create)
             .node_affinity(w[1].at("id"))
             .remote(10);
  auto [v, where] =
    s.task(&stream_tasks::Splitter::both).num_returns<2>().remote(1);
  CHECK(lumen::get(v, 60s) == 11);
  CHECK(lumen::get(where, 60s) == w[1].at("id"));
}

TEST_CASE("returns cluster: a num_returns task whose node dies fails every "
          "ref with lumen::error, or runs again when it may",
          "[returns][cluster][chaos]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto w = workers(cluster);
  temp_path started{"nr_kill"};
  temp_path started_again{"nr_retry"};
  // No retries: both refs fail, clearly, and nothing hangs.
  auto [x, xnode] = lumen::task(stream_tasks::nap_pair)
                      .node_affinity(w[0].at("id"), true)
                      .max_retries(0)
                      .num_returns<2>()
                      .remote(started.path, 5000, 1);
  // With retries, on the same node: it runs again elsewhere.
  auto [y, ynode] = lumen::task(stream_tasks::nap_pair)
                      .node_affinity(w[0].at("id"), true)
                      .max_retries(2)
                      .num_returns<2>()
                      .remote(started_again.path, 5000, 2);
  REQUIRE(lumen_it::eventually([&] {
    return stream_tasks::count_lines(started.path) >= 1 &&
           stream_tasks::count_lines(started_again.path) >= 1;
  }));
  kill_and_wait(w[0]);
  CHECK_THROWS_AS(lumen::get(x, 60s), lumen::error);
  CHECK_THROWS_WITH(lumen::get(xnode, 60s), Catch::Contains("lost"));
  CHECK(lumen::get(y, 120s) == 2);
  CHECK(lumen::get(ynode, 60s) != w[0].at("id"));
}

TEST_CASE("streams cluster: a generator on another node streams its items "
          "in order",
          "[streams][cluster]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto w = workers(cluster);
  auto stream = lumen::task(stream_tasks::count_marked)
                  .node_affinity(w[0].at("id"))
                  .max_unconsumed(16)
                  .remote(std::string{}, std::int64_t{3000}, 0);
  std::int64_t n = 0;
  for (auto ref : stream) {
    auto s = lumen::get(ref, 60s);
    REQUIRE(s == w[0].at("id") + ":" + std::to_string(n));
    ++n;
  }
  CHECK(n == 3000);
  CHECK(lumen::get(stream.completed(), 60s) == 3000u);
}

TEST_CASE("streams cluster: an actor's generator method on another node "
          "streams its items while it runs, with backpressure, also through "
          "a borrowed handle",
          "[streams][cluster]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto w = workers(cluster);
  auto a = lumen::actor(stream_tasks::Splitter::create)
             .node_affinity(w[1].at("id"))
             .remote(100);
  // All items, in order, then the count.
  auto small = a.task(&stream_tasks::Splitter::upto).remote(50);
  int expected = 100;
  for (auto ref : small)
    CHECK(lumen::get(ref, 60s) == expected++);
  CHECK(expected == 150);
  CHECK(lumen::get(small.completed(), 60s) == 50u);
  temp_path file{"actor"};
  {
    // An endless producer pauses at 4 unread items: the items read here
    // came while it ran.
    auto stream = a.task(&stream_tasks::Splitter::marked)
                    .max_unconsumed(4)
                    .remote(file.path, std::int64_t{1'000'000});
    REQUIRE(lumen_it::eventually([&] {
      return stream_tasks::count_lines(file.path) >= 5;
    }));
    std::this_thread::sleep_for(500ms);
    CHECK(stream_tasks::count_lines(file.path) == 5u);
    for (int i = 0; i < 20; ++i) {
      auto ref = stream.next(60s);
      REQUIRE(ref.has_value());
      CHECK(lumen::get(*ref, 60s) == w[1].at("id") + ":" + std::to_string(i));
    }
    REQUIRE(lumen_it::eventually([&] {
      return stream_tasks::count_lines(file.path) >= 25;
    }));
  } // dropped: the producer stops
  CHECK(settled_lines(file.path) < 100u);
  // The actor goes on serving calls after its stopped generator.
  CHECK(std::get<0>(lumen::get(a.task(&stream_tasks::Splitter::both).remote(1),
                               60s)) == 101);
  // A task on the other worker borrows the handle: its calls go through
  // this driver's host, the items straight to that worker.
  CHECK(lumen::get(lumen::task(stream_tasks::sum_upto)
                     .node_affinity(w[0].at("id"))
                     .remote(a, 200),
                   60s) == 200 * 100 + 199 * 200 / 2);
}

TEST_CASE("streams cluster: backpressure, the producer's exception and a "
          "dropped stream across nodes",
          "[streams][cluster]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto w = workers(cluster);
  temp_path file{"bp"};
  {
    auto stream = lumen::task(stream_tasks::count_marked)
                    .node_affinity(w[1].at("id"))
                    .max_unconsumed(4)
                    .remote(file.path, std::int64_t{1'000'000}, 0);
    REQUIRE(lumen_it::eventually([&] {
      return stream_tasks::count_lines(file.path) >= 5;
    }));
    std::this_thread::sleep_for(500ms);
    CHECK(stream_tasks::count_lines(file.path) == 5u);
    for (int i = 0; i < 3; ++i)
      REQUIRE(stream.next(60s).has_value());
  } // dropped: the producer stops
  CHECK(settled_lines(file.path) < 100u);
  CHECK(lumen::detail::open_streams() == 0);

  auto failing = lumen::task(stream_tasks::throw_after)
                   .node_affinity(w[0].at("id"))
                   .remote(5);
  for (int i = 0; i < 5; ++i)
    REQUIRE(lumen::get(*failing.next(60s), 60s) == i);
  CHECK_THROWS_WITH(failing.next(60s), Catch::Contains("boom after 5"));
}

TEST_CASE("streams cluster: a generator whose node dies runs again and the "
          "stream goes on, or ends with lumen::error",
          "[streams][cluster][chaos]") {
  cluster_it::test_cluster cluster{2};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(3));
  auto w = workers(cluster);
  temp_path starts{"gen_kill"};
  temp_path starts0{"gen_kill0"};
  auto stream = lumen::task(stream_tasks::count_noted)
                  .node_affinity(w[0].at("id"), true)
                  .max_retries(1)
                  .max_unconsumed(8)
                  .remote(starts.path, std::int64_t{200}, 20);
  auto doomed = lumen::task(stream_tasks::count_noted)
                  .node_affinity(w[0].at("id"), true)
                  .max_retries(0)
                  .remote(starts0.path, std::int64_t{200}, 20);
  std::int64_t n = 0;
  for (; n < 20; ++n)
    REQUIRE(lumen::get(*stream.next(60s), 60s) == n);
  REQUIRE(lumen::get(*doomed.next(60s), 60s) == 0);
  kill_and_wait(w[0]);
  // Rebuilt: the generator runs again elsewhere; the items read are
  // skipped, the rest follow in order.
  while (auto ref = stream.next(120s)) {
    REQUIRE(lumen::get(*ref, 60s) == n);
    ++n;
  }
  CHECK(n == 200);
  CHECK(stream_tasks::count_lines(starts.path) == 2u);
  CHECK(first_line(starts.path) == w[0].at("id"));
  // No retries: the stream says it cannot go on.
  bool threw = false;
  try {
    while (doomed.next(120s)) {
    }
  } catch (const lumen::error& e) {
    threw = true;
    CHECK_THAT(e.what(), Catch::Contains("could not be rebuilt"));
  }
  CHECK(threw);
}

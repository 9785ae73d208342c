// num_returns (issue 24 item 2): a task or actor method returning a tuple
// gives one ref per element, each resolved and freed on its own; on one
// node here, across nodes in returns_cluster_test.cpp.
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "lumen/lumen.hpp"
#include "stream_tasks.hpp"
#include "test_support.hpp"

using lumen_it::patience;

TEST_CASE("returns: num_returns<3> gives three refs, each resolvable",
          "[returns]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto [a, b, c] =
    lumen::task(stream_tasks::split3).num_returns<3>().remote(21, 100'000);
  static_assert(std::is_same_v<decltype(a), lumen::object_ref<int>>);
  static_assert(std::is_same_v<decltype(b), lumen::object_ref<std::string>>);
  static_assert(
    std::is_same_v<decltype(c), lumen::object_ref<std::vector<char>>>);
  CHECK(a.id() != b.id());
  CHECK(b.id() != c.id());
  CHECK(lumen::get(c, patience).size() == 100'000u);
  CHECK(lumen::get(a, patience) == 42);
  CHECK(lumen::get(b, patience) == lumen::node_id());
}

TEST_CASE("returns: a pair's refs feed other tasks", "[returns]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto [q, r] =
    lumen::task(stream_tasks::divmod).num_returns<2>().remote(17, 5);
  auto [q2, r2] =
    lumen::task(stream_tasks::divmod).num_returns<2>().remote(q, r);
  CHECK(lumen::get(q, patience) == 3);
  CHECK(lumen::get(r, patience) == 2);
  CHECK(lumen::get(q2, patience) == 1);
  CHECK(lumen::get(r2, patience) == 1);
}

TEST_CASE("returns: each ref is freed on its own, and all leave nothing",
          "[returns][memory]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  REQUIRE(lumen_it::await_idle());
  auto before = lumen_it::object_count();
  auto bytes_before = lumen_it::snapshot().object_bytes;
  {
    auto [a, b, c] =
      lumen::task(stream_tasks::split3).num_returns<3>().remote(1, 500'000);
    REQUIRE(lumen::get(a, patience) == 2);
    REQUIRE(lumen::get(c, patience).size() == 500'000u);
    REQUIRE(lumen_it::await_idle());
    // The parts object went once every pick ran: three refs, three objects.
    CHECK(lumen_it::await_object_count(before + 3) == before + 3);
    c = {}; // the large element goes at once; the others stay
    CHECK(lumen_it::await_object_count(before + 2) == before + 2);
    CHECK(lumen_it::snapshot().object_bytes < bytes_before + 100'000);
    CHECK(lumen::get(b, patience) == lumen::node_id());
  }
  CHECK(lumen_it::await_object_count(before) == before);
  CHECK(lumen_it::snapshot().object_bytes == bytes_before);
}

TEST_CASE("returns: the function's exception reaches every ref", "[returns]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto before = lumen_it::object_count();
  {
    auto [q, r] =
      lumen::task(stream_tasks::divmod).num_returns<2>().remote(1, 0);
    CHECK_THROWS_WITH(lumen::get(q, patience),
                      Catch::Contains("divmod by zero"));
    CHECK_THROWS_AS(lumen::get(r, patience), lumen::task_error);
  }
  REQUIRE(lumen_it::await_idle());
  CHECK(lumen_it::await_object_count(before) == before);
}

TEST_CASE("returns: an actor method's tuple gives one ref per element",
          "[returns][actor]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto s = lumen::actor(stream_tasks::Splitter::create).remote(100);
  auto [v, node] =
    s.task(&stream_tasks::Splitter::both).num_returns<2>().remote(5);
  CHECK(lumen::get(v, patience) == 105);
  CHECK(lumen::get(node, patience) == lumen::node_id());
  // Calls keep their order with plain calls on the same actor.
  auto [v2, node2] =
    s.task(&stream_tasks::Splitter::both).num_returns<2>().remote(v);
  CHECK(lumen::get(v2, patience) == 205);
}

// Integration tests: put, get, get of a list, wait, timeouts, and refs
// nested inside objects (issue 2, "Public API" and "object_store").

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "lumen/lumen.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using lumen_it::patience;

namespace {

lumen_it::gate ob_gate;

int ob_gated(int x) {
  ob_gate.wait();
  return x;
}

int ob_twice(int x) {
  return 2 * x;
}

int ob_sum_refs(std::vector<lumen::object_ref<int>> refs) {
  int sum = 0;
  for (int v : lumen::get(refs, patience))
    sum += v;
  return sum;
}

} // namespace

LUMEN_REMOTE(ob_gated, ob_twice, ob_sum_refs);

TEST_CASE("objects: put then get returns the value", "[objects]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto i = lumen::put(7);
  auto s = lumen::put(std::string{"hello"});
  auto v = lumen::put(std::vector<double>{1.5, 2.5});
  CHECK(lumen::get(i) == 7);
  CHECK(lumen::get(s) == "hello");
  CHECK(lumen::get(v) == std::vector<double>{1.5, 2.5});
  // get does not consume: read again, and through a copy of the ref.
  auto copy = i;
  CHECK(copy == i);
  CHECK(copy.id() == i.id());
  CHECK(lumen::get(copy, 1s) == 7);
  // Each put is a new object.
  auto j = lumen::put(7);
  CHECK(j != i);
  CHECK_FALSE(j.id() == i.id());
  CHECK(j.id().is_put());
}

TEST_CASE("objects: get of a vector of refs returns values in order",
          "[objects]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  std::vector<lumen::object_ref<int>> refs;
  for (int k = 0; k < 100; ++k)
    refs.push_back(k % 2 == 0 ? lumen::put(k)
                              : lumen::task(ob_twice).remote(k));
  auto values = lumen::get(refs, patience);
  REQUIRE(values.size() == 100);
  for (int k = 0; k < 100; ++k)
    CHECK(values[static_cast<std::size_t>(k)] == (k % 2 == 0 ? k : 2 * k));
  // The same ref twice, and an empty list.
  auto dup =
    lumen::get(std::vector<lumen::object_ref<int>>{refs[3], refs[3]}, patience);
  CHECK(dup == std::vector<int>{6, 6});
  CHECK(lumen::get(std::vector<lumen::object_ref<int>>{}).empty());
}

TEST_CASE("objects: get past its timeout throws timeout_error", "[objects]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  ob_gate.close();
  auto slow = lumen::task(ob_gated).remote(3);
  CHECK_THROWS_AS(lumen::get(slow, 50ms), lumen::timeout_error);
  CHECK_THROWS_AS(lumen::get(slow, 0ms), lumen::timeout_error);
  CHECK_THROWS_AS(lumen::get(slow, -5ms), lumen::timeout_error);
  CHECK_THROWS_AS(lumen::get(slow, std::chrono::microseconds(10)),
                  lumen::timeout_error);
  auto ready = lumen::put(1);
  CHECK_THROWS_AS(
    lumen::get(std::vector<lumen::object_ref<int>>{ready, slow}, 20ms),
    lumen::timeout_error);
  // A ready object needs no time at all.
  CHECK(lumen::get(ready, 0ms) == 1);
  // The object still arrives after a timeout.
  ob_gate.open();
  CHECK(lumen::get(slow, patience) == 3);
  CHECK(lumen::get(std::vector<lumen::object_ref<int>>{ready, slow}, 0ms) ==
        std::vector<int>{1, 3});
}

TEST_CASE("objects: a blocked get wakes up when the object arrives",
          "[objects]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  ob_gate.close();
  auto slow = lumen::task(ob_gated).remote(11);
  std::atomic<int> got{0};
  std::thread reader([&] {
    got = lumen::get(slow, patience);
  });
  std::this_thread::sleep_for(30ms);
  ob_gate.open();
  reader.join();
  CHECK(got == 11);
}

TEST_CASE("objects: wait reports ready and unready refs in input order",
          "[objects][wait]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  ob_gate.close();
  auto slow = lumen::task(ob_gated).remote(0);
  auto r1 = lumen::put(1);
  auto r2 = lumen::put(2);
  auto r3 = lumen::put(3);
  std::vector<lumen::object_ref<int>> refs{slow, r1, r2, r3};

  // At most num_returns are reported ready: the first ready ones in order.
  auto w = lumen::wait(refs, 2, patience);
  REQUIRE(w.ready.size() == 2);
  CHECK(w.ready[0] == r1);
  CHECK(w.ready[1] == r2);
  REQUIRE(w.unready.size() == 2);
  CHECK(w.unready[0] == slow);
  CHECK(w.unready[1] == r3);

  // All three ready ones with num_returns = 3.
  w = lumen::wait(refs, 3, patience);
  CHECK(w.ready == std::vector<lumen::object_ref<int>>{r1, r2, r3});
  CHECK(w.unready == std::vector<lumen::object_ref<int>>{slow});

  // The default num_returns is 1.
  w = lumen::wait(refs);
  CHECK(w.ready == std::vector<lumen::object_ref<int>>{r1});
  CHECK(w.unready.size() == 3);

  // Moved in, the refs come back the same way, in the same order.
  auto moved = refs;
  w = lumen::wait(std::move(moved), 2, patience);
  CHECK(w.ready == std::vector<lumen::object_ref<int>>{r1, r2});
  CHECK(w.unready == std::vector<lumen::object_ref<int>>{slow, r3});
  w =
    lumen::wait(std::vector<lumen::object_ref<int>>{r3, slow, r1}, 1, patience);
  CHECK(w.ready == std::vector<lumen::object_ref<int>>{r3});
  CHECK(w.unready == std::vector<lumen::object_ref<int>>{slow, r1});
  // A default-constructed ref is refused, moved in or not.
  auto with_invalid = refs;
  with_invalid.emplace_back();
  CHECK_THROWS_AS(lumen::wait(with_invalid, 1, patience), lumen::error);
  CHECK_THROWS_AS(lumen::wait(std::move(with_invalid), 1, patience),
                  lumen::error);

  // Asking for all four times out with the three ready ones, no exception.
  w = lumen::wait(refs, 4, 50ms);
  CHECK(w.ready == std::vector<lumen::object_ref<int>>{r1, r2, r3});
  CHECK(w.unready == std::vector<lumen::object_ref<int>>{slow});

  // A zero timeout only looks.
  w = lumen::wait(std::vector<lumen::object_ref<int>>{slow}, 1, 0ms);
  CHECK(w.ready.empty());
  CHECK(w.unready.size() == 1);

  // num_returns = 0 returns at once; more than the refs is an error.
  w = lumen::wait(refs, 0, patience);
  CHECK(w.ready.empty());
  CHECK(w.unready.size() == 4);
  CHECK_THROWS_AS(lumen::wait(refs, 5, 10ms), lumen::error);

  // Once the slow one arrives, all four are ready, in input order.
  ob_gate.open();
  w = lumen::wait(refs, 4, patience);
  CHECK(w.ready == refs);
  CHECK(w.unready.empty());
}

TEST_CASE("objects: wait returns as soon as enough refs are ready",
          "[objects][wait]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 4}};
  ob_gate.close();
  std::vector<lumen::object_ref<int>> refs{lumen::task(ob_gated).remote(1),
                                           lumen::task(ob_twice).remote(2),
                                           lumen::task(ob_gated).remote(3)};
  // Blocks until the one ungated task is done; the gated ones stay out.
  auto w = lumen::wait(refs, 1, patience);
  REQUIRE(w.ready.size() == 1);
  CHECK(w.ready[0] == refs[1]);
  CHECK(w.unready == std::vector<lumen::object_ref<int>>{refs[0], refs[2]});
  // A wait that needs a gated one times out with what is ready.
  w = lumen::wait(refs, 2, 30ms);
  CHECK(w.ready.size() == 1);
  CHECK(w.unready.size() == 2);
  ob_gate.open();
  w = lumen::wait(refs, 3, patience);
  CHECK(w.ready.size() == 3);
  CHECK(lumen::get(refs, patience) == std::vector<int>{1, 4, 3});
}

TEST_CASE("objects: refs nested in a put value stay valid",
          "[objects][nested]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto baseline = lumen_it::object_count();
  lumen::object_ref<std::vector<lumen::object_ref<int>>> outer;
  {
    std::vector<lumen::object_ref<int>> inner;
    for (int k = 0; k < 5; ++k)
      inner.push_back(lumen::put(k * 100));
    inner.push_back(lumen::task(ob_twice).remote(21));
    outer = lumen::put(inner);
    // The originals are dropped here; the container holds them.
  }
  CHECK(lumen_it::object_count() == baseline + 7);
  auto refs = lumen::get(outer, patience);
  REQUIRE(refs.size() == 6);
  CHECK(lumen::get(refs, patience) ==
        std::vector<int>{0, 100, 200, 300, 400, 42});
  // Refs decoded from the container work as task arguments too.
  CHECK(lumen::get(lumen::task(ob_twice).remote(refs[2]), patience) == 400);
  CHECK(lumen::get(lumen::task(ob_sum_refs).remote(refs), patience) ==
        1000 + 42);
  CHECK(lumen::get(lumen::task(ob_sum_refs).remote(outer), patience) ==
        1000 + 42);
  // Dropping the decoded refs and then the container frees all of them.
  refs.clear();
  CHECK(lumen_it::await_object_count(baseline + 7) == baseline + 7);
  outer = {};
  CHECK(lumen_it::await_object_count(baseline) == baseline);
}

TEST_CASE("objects: refs nested in other containers", "[objects][nested]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto baseline = lumen_it::object_count();
  {
    std::map<std::string, lumen::object_ref<std::string>> named{
      {"a", lumen::put(std::string{"alpha"})},
      {"b", lumen::put(std::string{"beta"})}};
    std::optional<lumen::object_ref<int>> maybe = lumen::put(5);
    std::pair<lumen::object_ref<int>, int> pair{lumen::put(6), 7};
    auto m = lumen::put(named);
    auto o = lumen::put(maybe);
    auto p = lumen::put(pair);
    named.clear();
    maybe.reset();
    pair.first = {};
    auto named2 = lumen::get(m, patience);
    CHECK(lumen::get(named2.at("a"), patience) == "alpha");
    CHECK(lumen::get(named2.at("b"), patience) == "beta");
    auto maybe2 = lumen::get(o, patience);
    REQUIRE(maybe2.has_value());
    CHECK(lumen::get(*maybe2, patience) == 5);
    auto pair2 = lumen::get(p, patience);
    CHECK(lumen::get(pair2.first, patience) == 6);
    CHECK(pair2.second == 7);
    // A put value may hold a ref to another put value that holds refs.
    auto deeper = lumen::put(std::vector<decltype(m)>{m, m});
    m = {};
    auto ms = lumen::get(deeper, patience);
    CHECK(lumen::get(lumen::get(ms[1], patience).at("b"), patience) == "beta");
  }
  CHECK(lumen_it::await_object_count(baseline) == baseline);
}

// Regression test: detail::to_timeout used to convert its 100-year
// "forever" threshold into the caller's duration type, which wraps for
// std::chrono::duration<int> (3153600000 s in an int), so every timeout in
// that type meant "forever".
TEST_CASE("objects: timeouts in any std::chrono duration type expire",
          "[objects]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  ob_gate.close();
  auto slow = lumen::task(ob_gated).remote(5);
  // If the timeout is ignored, get returns once the gate opens.
  std::thread opener([] {
    std::this_thread::sleep_for(3s);
    ob_gate.open();
  });
  int outcome = 0; // 1: timeout_error, 2: returned the value
  try {
    lumen::get(slow, std::chrono::duration<int>(1));
    outcome = 2;
  } catch (const lumen::timeout_error&) {
    outcome = 1;
  }
  opener.join();
  CHECK(outcome == 1);
  // Other count types behave.
  ob_gate.close();
  auto slow2 = lumen::task(ob_gated).remote(6);
  CHECK_THROWS_AS(lumen::get(slow2, std::chrono::duration<int, std::milli>(20)),
                  lumen::timeout_error);
  CHECK_THROWS_AS(lumen::get(slow2, std::chrono::duration<double>(0.02)),
                  lumen::timeout_error);
  ob_gate.open();
  CHECK(lumen::get(slow2, patience) == 6);
}

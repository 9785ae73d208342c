// Integration tests: objects are freed when the last ref goes, resident
// memory stays flat, and the object store honours its capacity (issue 2,
// "object_store").

#include <cstddef>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "lumen/lumen.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using lumen_it::patience;

namespace {

lumen_it::gate me_gate;

int me_len(std::vector<char> v) {
  return static_cast<int>(v.size());
}

int me_first(std::vector<lumen::object_ref<int>> refs) {
  return lumen::get(refs.at(0), patience);
}

int me_gated_len(std::vector<char> v) {
  me_gate.wait();
  return static_cast<int>(v.size());
}

std::vector<char> me_make(int n) {
  return std::vector<char>(static_cast<std::size_t>(n), 'x');
}

int me_inc(int x) {
  return x + 1;
}

lumen::object_ref<std::string> me_put_inner(int n) {
  return lumen::put(std::string(static_cast<std::size_t>(n), 'i'));
}

int me_put_and_return(int x) {
  auto ref = lumen::put(x); // dropped at the end of the task
  return lumen::get(ref, patience);
}

} // namespace

LUMEN_REMOTE(me_len, me_first, me_gated_len, me_make, me_inc, me_put_and_return,
             me_put_inner);

TEST_CASE("memory: an object is freed when its last ref is dropped",
          "[memory]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto baseline = lumen_it::object_count();
  auto bytes = lumen_it::snapshot().object_bytes;
  {
    auto a = lumen::put(std::vector<char>(1000, 'a'));
    auto b = a; // a copy is the same object
    CHECK(lumen_it::object_count() == baseline + 1);
    CHECK(lumen_it::snapshot().object_bytes >= bytes + 1000);
    a = {};
    CHECK(lumen_it::object_count() == baseline + 1);
    CHECK(lumen::get(b).size() == 1000);
  }
  CHECK(lumen_it::object_count() == baseline);
  CHECK(lumen_it::snapshot().object_bytes == bytes);

  // Task results are objects too: pending ones included.
  {
    auto r = lumen::task(me_inc).remote(1);
    CHECK(lumen_it::object_count() == baseline + 1);
    CHECK(lumen::get(r, patience) == 2);
  }
  CHECK(lumen_it::await_object_count(baseline) == baseline);

  // A result nobody holds is dropped when it arrives.
  for (int i = 0; i < 100; ++i)
    lumen::task(me_inc).remote(i);
  REQUIRE(lumen_it::await_idle());
  CHECK(lumen_it::await_object_count(baseline) == baseline);
}

TEST_CASE("memory: refs held by tasks' arguments are released after the "
          "tasks",
          "[memory]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto baseline = lumen_it::object_count();
  auto bytes = lumen_it::snapshot().object_bytes;
  me_gate.close();
  lumen::object_ref<int> result;
  {
    auto arg = lumen::put(std::vector<char>(5000, 'q'));
    result = lumen::task(me_gated_len).remote(arg);
    // The driver's ref goes; the pending task still holds the argument.
  }
  CHECK(lumen_it::object_count() == baseline + 2);
  me_gate.open();
  CHECK(lumen::get(result, patience) == 5000);
  // Once the task is done, only its result remains.
  CHECK(lumen_it::await_object_count(baseline + 1) == baseline + 1);
  result = {};
  CHECK(lumen_it::await_object_count(baseline) == baseline);
  CHECK(lumen_it::snapshot().object_bytes == bytes);

  // Chains, refs nested in arguments, and puts inside tasks.
  {
    auto a = lumen::task(me_make).remote(300);
    auto b = lumen::task(me_len).remote(a);
    auto nested = std::vector<lumen::object_ref<int>>{lumen::put(9)};
    auto c = lumen::task(me_first).remote(nested);
    auto d = lumen::task(me_put_and_return).remote(4);
    CHECK(lumen::get(b, patience) == 300);
    CHECK(lumen::get(c, patience) == 9);
    CHECK(lumen::get(d, patience) == 4);
    // A ref a task put and returned lives as long as the result holding it
    // or a ref decoded from it.
    auto outer = lumen::task(me_put_inner).remote(100);
    auto inner = lumen::get(outer, patience);
    outer = {};
    CHECK(lumen::get(inner, patience).size() == 100);
    auto dropped = lumen::task(me_put_inner).remote(200);
    REQUIRE(lumen::wait(std::vector<decltype(dropped)>{dropped}, 1, patience)
              .ready.size() == 1);
  }
  REQUIRE(lumen_it::await_idle());
  CHECK(lumen_it::await_object_count(baseline) == baseline);
  CHECK(lumen_it::snapshot().object_bytes == bytes);
}

TEST_CASE("memory: one million put/get pairs keep resident memory flat",
          "[memory]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto baseline = lumen_it::object_count();
  long long sum = 0;
  auto round = [&](int n) {
    for (int i = 0; i < n; ++i)
      sum += lumen::get(lumen::put(i));
  };
  round(100000); // warm-up: allocator pools, hash tables
  auto before = lumen_it::resident_bytes();
  REQUIRE(before > 0);
  round(1000000);
  auto after = lumen_it::resident_bytes();
  INFO("VmRSS before " << before << " B, after " << after << " B");
  CHECK(after < before + (std::size_t{32} << 20));
  CHECK(sum == 99999LL * 100000 / 2 + 999999LL * 1000000 / 2);
  CHECK(lumen_it::object_count() == baseline);

  // Larger values: 20000 x 64 KiB would be 1.25 GiB if none were freed.
  auto before_big = lumen_it::resident_bytes();
  std::vector<char> chunk(64 * 1024, 'c');
  for (int i = 0; i < 20000; ++i)
    REQUIRE(lumen::get(lumen::put(chunk)).size() == chunk.size());
  CHECK(lumen_it::resident_bytes() < before_big + (std::size_t{32} << 20));
  CHECK(lumen_it::object_count() == baseline);
}

TEST_CASE("memory: many tasks leave no objects behind", "[memory]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto baseline = lumen_it::object_count();
  for (int round = 0; round < 20; ++round) {
    std::vector<lumen::object_ref<int>> refs;
    auto seed = lumen::put(round);
    for (int i = 0; i < 500; ++i)
      refs.push_back(
        lumen::task(me_inc).remote(i % 2 == 0 ? seed : lumen::put(i)));
    auto values = lumen::get(refs, patience);
    for (int i = 0; i < 500; ++i)
      REQUIRE(values[static_cast<std::size_t>(i)] ==
              (i % 2 == 0 ? round : i) + 1);
  }
  REQUIRE(lumen_it::await_idle());
  CHECK(lumen_it::await_object_count(baseline) == baseline);
}

TEST_CASE("memory: the object store refuses objects beyond its capacity",
          "[memory][capacity]") {
  // No room on disk either (a byte of spill capacity), so a full memory
  // means a full store; spilling_test.cpp covers the store with a disk.
  lumen::init_guard guard{lumen::config{
    .num_cpus = 2, .object_store_memory = 1 << 20, .spill_capacity = 1}};
  CHECK(lumen_it::snapshot().object_capacity == (1u << 20));
  // 2 MiB does not fit into 1 MiB.
  CHECK_THROWS_AS(lumen::put(std::vector<char>(2 << 20, 'x')),
                  lumen::object_store_full_error);
  CHECK(lumen_it::snapshot().object_bytes == 0);
  // Smaller puts still work.
  auto small = lumen::put(std::string(1000, 's'));
  CHECK(lumen::get(small).size() == 1000);
  auto a = lumen::put(std::vector<char>(600 << 10, 'a'));
  // 600 KiB more would exceed the capacity while `a` lives...
  CHECK_THROWS_AS(lumen::put(std::vector<char>(600 << 10, 'b')),
                  lumen::object_store_full_error);
  // ...and fits once `a` is dropped.
  a = {};
  auto b = lumen::put(std::vector<char>(600 << 10, 'b'));
  CHECK(lumen::get(b).size() == (600u << 10));
  b = {};
  small = {};
  CHECK(lumen_it::snapshot().object_bytes == 0);
  // The whole capacity is usable again.
  auto big = lumen::put(std::vector<char>(1000 << 10, 'c'));
  CHECK(lumen::get(big, patience).size() == (1000u << 10));
}

TEST_CASE("memory: a task result beyond the capacity fails with "
          "object_store_full_error",
          "[memory][capacity]") {
  lumen::init_guard guard{lumen::config{
    .num_cpus = 2, .object_store_memory = 1 << 20, .spill_capacity = 1}};
  auto huge = lumen::task(me_make).remote(2 << 20);
  CHECK_THROWS_AS(lumen::get(huge, patience), lumen::object_store_full_error);
  // Tasks that depend on it fail the same way.
  CHECK_THROWS_AS(lumen::get(lumen::task(me_len).remote(huge), patience),
                  lumen::object_store_full_error);
  // The node keeps serving work that fits.
  auto ok = lumen::task(me_make).remote(1000);
  CHECK(lumen::get(lumen::task(me_len).remote(ok), patience) == 1000);
  CHECK(lumen::get(lumen::task(me_inc).remote(1), patience) == 2);
}

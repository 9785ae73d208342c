// Unit tests of the sharded object table (src/objects/object_table.hpp):
// counted references, look-ups, nested references, references that outlive
// the table, and stats. Waiting, callbacks, capacity and close are in
// runtime_object_table_wait_test.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "lumen/detail/object_data.hpp"
#include "lumen/error.hpp"
#include "lumen/ids.hpp"
#include "objects/object_table.hpp"
#include "runtime_object_table_test_support.hpp"
#include "runtime_test_support.hpp"

using namespace lumen;
using namespace lumen::detail;
using namespace std::chrono_literals;
using runtime_test::finishes_within;
using runtime_test::hang_limit;
using namespace object_table_test;

namespace {

/// An object of `n` bytes whose destruction increments `*freed`.
object_ptr counted_object(std::size_t n,
                          std::shared_ptr<std::atomic<int>> freed,
                          std::vector<ref_ptr> refs = {}) {
  auto* raw = new object_data;
  std::string fill(n, 'y');
  raw->bytes.append(fill.data(), fill.size());
  raw->refs = std::move(refs);
  return object_ptr{raw, [freed](const object_data* p) {
                      ++*freed;
                      delete p;
                    }};
}

std::int64_t count_of(const ref_ptr& r) {
  return r->count.load();
}

} // namespace

// -- put, create_pending, fulfill --------------------------------------------

TEST_CASE("object_table: put stores a ready object until its last ref drops",
          "[runtime][object_table]") {
  object_table table{1024};
  auto freed = std::make_shared<std::atomic<int>>(0);
  auto data = counted_object(10, freed);
  auto* raw = data.get();
  auto ref = table.put(test_id(1), std::move(data));
  REQUIRE(ref);
  CHECK(ref.id() == test_id(1));
  CHECK(count_of(ref) == 1);
  {
    auto got = table.try_get(ref.get());
    REQUIRE(got);
    CHECK(got.get() == raw);
  }
  auto st = table.get_stats();
  CHECK(st.objects == 1);
  CHECK(st.pending == 0);
  CHECK(st.used_bytes == 10);
  CHECK(st.capacity_bytes == 1024);
  CHECK(*freed == 0);
  ref = ref_ptr{};
  CHECK(*freed == 1);
  st = table.get_stats();
  CHECK(st.objects == 0);
  CHECK(st.used_bytes == 0);
  CHECK_FALSE(table.lookup(test_id(1)));
}

TEST_CASE("object_table: fulfill makes a pending entry ready exactly once",
          "[runtime][object_table]") {
  object_table table{1024};
  auto ref = table.create_pending(test_id(2));
  REQUIRE(ref);
  CHECK(count_of(ref) == 1);
  CHECK(table.try_get(ref.get()) == nullptr);
  auto st = table.get_stats();
  CHECK(st.objects == 1);
  CHECK(st.pending == 1);
  CHECK(st.used_bytes == 0);

  auto data = bytes_object(7);
  CHECK(table.fulfill(test_id(2), data));
  CHECK(table.try_get(ref.get()) == data);
  st = table.get_stats();
  CHECK(st.pending == 0);
  CHECK(st.used_bytes == 7);

  // Ready already: refused, and the refused bytes are not counted.
  CHECK_FALSE(table.fulfill(test_id(2), bytes_object(3)));
  CHECK(table.try_get(ref.get()) == data);
  CHECK(table.get_stats().used_bytes == 7);

  ref = ref_ptr{};
  st = table.get_stats();
  CHECK(st.objects == 0);
  CHECK(st.used_bytes == 0);
}

TEST_CASE("object_table: an id can be created only once",
          "[runtime][object_table]") {
  object_table table{1024};
  auto pending = table.create_pending(test_id(3));
  CHECK_THROWS_AS(table.create_pending(test_id(3)), lumen::error);
  CHECK_THROWS_AS(table.put(test_id(3), bytes_object(5)), lumen::error);
  auto ready = table.put(test_id(4), bytes_object(4));
  CHECK_THROWS_AS(table.put(test_id(4), bytes_object(6)), lumen::error);
  CHECK_THROWS_AS(table.create_pending(test_id(4)), lumen::error);
  // The failed attempts neither took counts nor kept their bytes.
  CHECK(count_of(pending) == 1);
  CHECK(count_of(ready) == 1);
  auto st = table.get_stats();
  CHECK(st.objects == 2);
  CHECK(st.pending == 1);
  CHECK(st.used_bytes == 4);
  // The same task with another index is another object.
  auto other = table.put(test_id(4, 2), bytes_object(1));
  CHECK(other);
}

TEST_CASE("object_table: fulfill after every ref is gone returns false",
          "[runtime][object_table]") {
  object_table table{1024};
  auto ref = table.create_pending(test_id(5));
  ref = ref_ptr{};
  CHECK(table.get_stats().objects == 0);
  auto freed = std::make_shared<std::atomic<int>>(0);
  CHECK_FALSE(table.fulfill(test_id(5), counted_object(16, freed)));
  CHECK(*freed == 1); // the table did not keep the result
  CHECK_FALSE(table.fulfill(test_id(6), bytes_object(16))); // never existed
  auto st = table.get_stats();
  CHECK(st.objects == 0);
  CHECK(st.used_bytes == 0);
  CHECK_FALSE(table.lookup(test_id(5)));
}

// -- lookup
// --------------------------------------------------------------------

TEST_CASE("object_table: lookup counts a live entry and misses an erased one",
          "[runtime][object_table]") {
  object_table table{1024};
  CHECK_FALSE(table.lookup(test_id(10)));

  auto ref = table.put(test_id(10), bytes_object(3));
  auto found = table.lookup(test_id(10));
  REQUIRE(found);
  CHECK(found.get() == ref.get());
  CHECK(count_of(ref) == 2);

  ref = ref_ptr{};
  CHECK(count_of(found) == 1);
  CHECK(table.get_stats().objects == 1);
  CHECK(table.try_get(found.get()) != nullptr);

  found = ref_ptr{};
  CHECK(table.get_stats().objects == 0);
  CHECK_FALSE(table.lookup(test_id(10)));

  // Pending entries are found too, and stay pending.
  auto pending = table.create_pending(test_id(11));
  auto also = table.lookup(test_id(11));
  REQUIRE(also);
  CHECK(also.get() == pending.get());
  CHECK(table.try_get(also.get()) == nullptr);
  CHECK(count_of(pending) == 2);
}

TEST_CASE("object_table: lookups racing with the last drop never revive an "
          "entry",
          "[runtime][object_table][concurrency]") {
  auto table = std::make_shared<object_table>(1 << 20);
  auto freed = std::make_shared<std::atomic<int>>(0);
  std::atomic<std::uint64_t> current{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> bad{false};
  std::atomic<long> hits{0};
  std::vector<std::thread> lookers;
  for (int t = 0; t < 2; ++t)
    lookers.emplace_back([&] {
      while (!stop.load()) {
        auto id = test_id(current.load());
        auto r = table->lookup(id);
        if (!r)
          continue;
        ++hits;
        if (r.id() != id || count_of(r) < 1 || !table->try_get(r.get()))
          bad = true;
      }
    });
  constexpr int puts = 2000;
  for (int i = 1; i <= puts; ++i) {
    auto ref = table->put(test_id(i), counted_object(8, freed));
    current = i;
    for (int spin = 0; spin < 20; ++spin)
      std::this_thread::yield();
    ref = ref_ptr{}; // races with the lookers' counts
  }
  stop = true;
  for (auto& t : lookers)
    t.join();
  CHECK_FALSE(bad);
  CHECK(*freed == puts);
  auto st = table->get_stats();
  CHECK(st.objects == 0);
  CHECK(st.used_bytes == 0);
  for (int i = 1; i <= puts; i += 97)
    CHECK_FALSE(table->lookup(test_id(i)));
}

// -- counting from many threads
// ------------------------------------------------

TEST_CASE("object_table: refs copied and dropped from many threads erase "
          "each entry exactly once",
          "[runtime][object_table][concurrency]") {
  constexpr int entries = 64;
  constexpr int threads = 4;
  constexpr int rounds = 400;
  for (int iteration = 0; iteration < 5; ++iteration) {
    auto table = std::make_shared<object_table>(1 << 20);
    auto freed = std::make_shared<std::atomic<int>>(0);
    auto id_of = [&](int i) {
      return test_id(static_cast<std::uint64_t>(iteration * 1000 + i));
    };
    std::vector<ref_ptr> refs;
    for (int i = 0; i < entries; ++i)
      refs.push_back(i % 2 == 0
                       ? table->put(id_of(i), counted_object(16, freed))
                       : table->create_pending(id_of(i)));
    runtime_test::latch copied{threads};
    runtime_test::latch go{1};
    std::atomic<bool> bad{false};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        std::vector<ref_ptr> own = refs;
        copied.count_down();
        go.wait_for(hang_limit);
        std::mt19937 rng(static_cast<unsigned>(t * 7919 + iteration));
        for (int r = 0; r < rounds; ++r) {
          auto i = rng() % own.size();
          if (!own[i])
            continue;
          std::vector<ref_ptr> extra(3, own[i]);
          auto looked = table->lookup(own[i].id());
          if (!looked || looked.get() != own[i].get())
            bad = true;
          if (rng() % 8 == 0)
            own[i] = ref_ptr{};
        }
        own.clear(); // the final drops race across threads
      });
    REQUIRE(copied.wait_for(hang_limit));
    refs.clear(); // every entry now lives only in the threads' copies
    std::thread fulfiller{[&] {
      for (int i = 1; i < entries; i += 2)
        table->fulfill(id_of(i), counted_object(16, freed));
    }};
    go.count_down();
    fulfiller.join();
    for (auto& w : workers)
      w.join();
    CHECK_FALSE(bad);
    // Every data object died once: stored ones at erasure, refused ones
    // (fulfilled after their entry died) at once.
    CHECK(*freed == entries);
    auto st = table->get_stats();
    CHECK(st.objects == 0);
    CHECK(st.pending == 0);
    CHECK(st.used_bytes == 0);
  }
}

// -- nested refs
// ---------------------------------------------------------------

TEST_CASE("object_table: nested refs keep entries alive until the container "
          "is freed",
          "[runtime][object_table]") {
  object_table table{1024};
  auto freed_inner = std::make_shared<std::atomic<int>>(0);
  auto freed_outer = std::make_shared<std::atomic<int>>(0);
  auto inner = table.put(test_id(20), counted_object(5, freed_inner));
  auto outer = table.put(test_id(21), counted_object(8, freed_outer, {inner}));
  CHECK(count_of(inner) == 2);

  inner = ref_ptr{};
  CHECK(table.get_stats().objects == 2);
  CHECK(*freed_inner == 0);
  {
    auto again = table.lookup(test_id(20));
    REQUIRE(again);
    CHECK(table.try_get(again.get()) != nullptr);
  }

  outer = ref_ptr{};
  CHECK(*freed_outer == 1);
  CHECK(*freed_inner == 1);
  auto st = table.get_stats();
  CHECK(st.objects == 0);
  CHECK(st.used_bytes == 0);
  CHECK_FALSE(table.lookup(test_id(20)));
}

TEST_CASE("object_table: nested refs in a fulfilled result are released with "
          "it",
          "[runtime][object_table]") {
  object_table table{1024};
  auto freed = std::make_shared<std::atomic<int>>(0);
  auto inner = table.put(test_id(30), counted_object(4, freed));
  auto outer = table.create_pending(test_id(31));
  REQUIRE(table.fulfill(test_id(31), bytes_object(2, {inner})));
  inner = ref_ptr{};
  CHECK(table.get_stats().objects == 2);
  outer = ref_ptr{};
  CHECK(*freed == 1);
  CHECK(table.get_stats().objects == 0);
  CHECK(table.get_stats().used_bytes == 0);
}

TEST_CASE("object_table: a chain of nested refs within one shard is freed "
          "without deadlock",
          "[runtime][object_table]") {
  REQUIRE(std::hash<object_id>{}(same_hash_id(1)) ==
          std::hash<object_id>{}(same_hash_id(2)));
  struct outcome {
    int freed = -1;
    object_table::stats st;
  };
  auto table = std::make_shared<object_table>(1 << 20);
  auto out = std::make_shared<outcome>();
  bool finished = finishes_within(hang_limit, [table, out] {
    constexpr int depth = 200;
    auto freed = std::make_shared<std::atomic<int>>(0);
    auto link = table->put(same_hash_id(0), counted_object(1, freed));
    for (int i = 1; i < depth; ++i)
      link = table->put(same_hash_id(static_cast<std::uint64_t>(i)),
                        counted_object(1, freed, {link}));
    link = ref_ptr{}; // frees the whole chain, recursively
    out->freed = *freed;
    out->st = table->get_stats();
  });
  REQUIRE(finished);
  CHECK(out->freed == 200);
  CHECK(out->st.objects == 0);
  CHECK(out->st.used_bytes == 0);
}

// -- refs outliving the table
// --------------------------------------------------

TEST_CASE("object_table: refs that outlive the table are released safely",
          "[runtime][object_table]") {
  auto freed = std::make_shared<std::atomic<int>>(0);
  auto table = std::make_unique<object_table>(1024);
  auto inner = table->put(test_id(170), counted_object(4, freed));
  auto outer = table->put(test_id(171), counted_object(4, freed, {inner}));
  auto pending = table->create_pending(test_id(172));
  int calls = 0;
  table->when_ready(pending.get(), [&calls] {
    ++calls;
  });
  auto short_lived = table->put(test_id(173), counted_object(4, freed));
  short_lived = ref_ptr{};
  CHECK(*freed == 1);

  table.reset(); // refs still out: the entries stay

  CHECK(*freed == 1);
  CHECK(outer.id() == test_id(171));
  auto copy = outer; // counting still works
  CHECK(count_of(outer) == 2);
  inner = ref_ptr{};
  outer = ref_ptr{};
  CHECK(*freed == 1);
  copy = ref_ptr{}; // outer, then its nested inner
  CHECK(*freed == 3);
  pending = ref_ptr{}; // the last entry frees the shared state
  CHECK(calls == 0);
}

// -- stats and error objects
// ---------------------------------------------------

TEST_CASE("object_table: stats count objects, pending entries and bytes",
          "[runtime][object_table]") {
  object_table table{4096};
  std::vector<ref_ptr> refs;
  for (int i = 0; i < 10; ++i)
    refs.push_back(table.put(test_id(180 + i), bytes_object(10 + i)));
  for (int i = 0; i < 5; ++i)
    refs.push_back(table.create_pending(test_id(200 + i)));
  auto st = table.get_stats();
  CHECK(st.objects == 15);
  CHECK(st.pending == 5);
  CHECK(st.used_bytes == 145);
  CHECK(st.capacity_bytes == 4096);
  REQUIRE(table.fulfill(test_id(200), bytes_object(5)));
  st = table.get_stats();
  CHECK(st.pending == 4);
  CHECK(st.used_bytes == 150);
  refs.clear();
  st = table.get_stats();
  CHECK(st.objects == 0);
  CHECK(st.pending == 0);
  CHECK(st.used_bytes == 0);
}

TEST_CASE("object_table: make_error_object fills every field",
          "[runtime][object_table]") {
  auto obj =
    make_error_object(error_kind::actor_died, "gone", "my::type", "my_task");
  REQUIRE(obj);
  CHECK(obj->bytes.empty());
  CHECK(obj->refs.empty());
  REQUIRE(obj->error);
  CHECK(obj->error->kind == error_kind::actor_died);
  CHECK(obj->error->message == "gone");
  CHECK(obj->error->type_name == "my::type");
  CHECK(obj->error->task_name == "my_task");
  auto plain = make_error_object(error_kind::object_lost, "lost");
  CHECK(plain->error->type_name.empty());
  CHECK(plain->error->task_name.empty());
}

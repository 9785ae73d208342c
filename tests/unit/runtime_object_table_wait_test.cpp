// Unit tests of the sharded object table (src/objects/object_table.hpp),
// continued: waiting, when_ready callbacks, capacity and close.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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

using clock_type = object_table::clock;

std::vector<const ref_header*> headers_of(const std::vector<ref_ptr>& refs) {
  std::vector<const ref_header*> result;
  for (auto& r : refs)
    result.push_back(r.get());
  return result;
}

} // namespace

// -- wait
// ----------------------------------------------------------------------

TEST_CASE("object_table: wait for one of three wakes when another thread "
          "fulfills one",
          "[runtime][object_table][wait]") {
  auto table = std::make_shared<object_table>(1024);
  std::vector<ref_ptr> refs{table->create_pending(test_id(40)),
                            table->create_pending(test_id(41)),
                            table->create_pending(test_id(42))};
  auto data = bytes_object(4);
  auto result = std::make_shared<std::vector<object_ptr>>();
  std::thread fulfiller{[table, data] {
    std::this_thread::sleep_for(50ms); // most likely after wait blocked
    table->fulfill(test_id(41), data);
  }};
  // No deadline: only the fulfillment can end this wait.
  bool woke = finishes_within(hang_limit, [table, refs, result] {
    *result = table->wait(headers_of(refs), 1, std::nullopt);
  });
  fulfiller.join();
  REQUIRE(woke);
  REQUIRE(result->size() == 3);
  CHECK((*result)[0] == nullptr);
  CHECK((*result)[1] == data);
  CHECK((*result)[2] == nullptr);
}

TEST_CASE("object_table: wait for all wakes once several threads fulfilled "
          "them",
          "[runtime][object_table][wait]") {
  constexpr int n = 6;
  auto table = std::make_shared<object_table>(1024);
  std::vector<ref_ptr> refs;
  for (int i = 0; i < n; ++i)
    refs.push_back(table->create_pending(test_id(50 + i)));
  auto result = std::make_shared<std::vector<object_ptr>>();
  std::vector<std::thread> fulfillers;
  for (int i = 0; i < n; ++i)
    fulfillers.emplace_back([table, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds{10 * i});
      table->fulfill(test_id(50 + i), bytes_object(1));
    });
  bool woke = finishes_within(hang_limit, [table, refs, result] {
    *result = table->wait(headers_of(refs), refs.size(), std::nullopt);
  });
  for (auto& t : fulfillers)
    t.join();
  REQUIRE(woke);
  REQUIRE(result->size() == static_cast<std::size_t>(n));
  for (auto& obj : *result)
    CHECK(obj != nullptr);
}

TEST_CASE("object_table: wait counts the same ref twice once it is ready",
          "[runtime][object_table][wait]") {
  auto table = std::make_shared<object_table>(1024);
  auto ref = table->create_pending(test_id(60));
  auto result = std::make_shared<std::vector<object_ptr>>();
  std::thread fulfiller{[table] {
    std::this_thread::sleep_for(30ms);
    table->fulfill(test_id(60), bytes_object(2));
  }};
  bool woke = finishes_within(hang_limit, [table, ref, result] {
    *result = table->wait({ref.get(), ref.get()}, 2, std::nullopt);
  });
  fulfiller.join();
  REQUIRE(woke);
  REQUIRE(result->size() == 2);
  CHECK((*result)[0] != nullptr);
  CHECK((*result)[1] != nullptr);
}

TEST_CASE("object_table: wait with a deadline returns nullptr for pending "
          "entries",
          "[runtime][object_table][wait]") {
  object_table table{1024};
  auto ready_data = bytes_object(3);
  std::vector<ref_ptr> refs{table.create_pending(test_id(70)),
                            table.put(test_id(71), ready_data),
                            table.create_pending(test_id(72))};

  SECTION("deadline in the future") {
    auto result = table.wait(headers_of(refs), 2, clock_type::now() + 100ms);
    REQUIRE(result.size() == 3);
    CHECK(result[0] == nullptr);
    CHECK(result[1] == ready_data);
    CHECK(result[2] == nullptr);
  }
  SECTION("deadline already passed") {
    auto result = table.wait(headers_of(refs), 3, clock_type::now() - 1s);
    REQUIRE(result.size() == 3);
    CHECK(result[0] == nullptr);
    CHECK(result[1] == ready_data);
    CHECK(result[2] == nullptr);
  }
  // The timed-out waiter left nothing behind that breaks later use.
  auto later = bytes_object(1);
  CHECK(table.fulfill(test_id(70), later));
  auto again = table.wait(headers_of(refs), 2, clock_type::now());
  CHECK(again[0] == later);
  CHECK(again[1] == ready_data);
  CHECK(again[2] == nullptr);
}

TEST_CASE("object_table: wait returns at once when enough are ready",
          "[runtime][object_table][wait]") {
  auto table = std::make_shared<object_table>(1024);
  auto data = bytes_object(2);
  std::vector<ref_ptr> refs{table->put(test_id(80), data),
                            table->create_pending(test_id(81))};
  auto one = std::make_shared<std::vector<object_ptr>>();
  auto none = std::make_shared<std::vector<object_ptr>>();
  // Without deadlines: returning at all shows no blocking took place.
  REQUIRE(finishes_within(hang_limit, [table, refs, one, none] {
    *one = table->wait(headers_of(refs), 1, std::nullopt);
    *none = table->wait({refs[1].get()}, 0, std::nullopt);
  }));
  REQUIRE(one->size() == 2);
  CHECK((*one)[0] == data);
  CHECK((*one)[1] == nullptr);
  REQUIRE(none->size() == 1);
  CHECK((*none)[0] == nullptr);
}

// -- when_ready
// ----------------------------------------------------------------

TEST_CASE("object_table: when_ready on a ready entry runs at once in the "
          "caller",
          "[runtime][object_table][when_ready]") {
  object_table table{1024};
  auto ref = table.put(test_id(90), bytes_object(1));
  int calls = 0;
  std::thread::id ran_on;
  table.when_ready(ref.get(), [&] {
    ++calls;
    ran_on = std::this_thread::get_id();
  });
  CHECK(calls == 1);
  CHECK(ran_on == std::this_thread::get_id());
}

TEST_CASE("object_table: when_ready on a pending entry runs once in the "
          "fulfilling thread",
          "[runtime][object_table][when_ready]") {
  object_table table{1024};
  auto ref = table.create_pending(test_id(91));
  std::atomic<int> calls{0};
  std::atomic<int> second_calls{0};
  std::thread::id ran_on;
  table.when_ready(ref.get(), [&] {
    ++calls;
    ran_on = std::this_thread::get_id();
  });
  table.when_ready(ref.get(), [&] {
    ++second_calls;
  });
  CHECK(calls == 0);
  std::thread::id fulfiller_id;
  std::thread fulfiller{[&] {
    fulfiller_id = std::this_thread::get_id();
    table.fulfill(test_id(91), bytes_object(1));
  }};
  fulfiller.join();
  CHECK(calls == 1);
  CHECK(second_calls == 1);
  CHECK(ran_on == fulfiller_id);
  CHECK_FALSE(table.fulfill(test_id(91), bytes_object(1)));
  CHECK(calls == 1);
}

TEST_CASE("object_table: when_ready callbacks may call back into the table",
          "[runtime][object_table][when_ready]") {
  struct outcome {
    bool looked_up = false;
    bool saw_data = false;
    bool put_ok = false;
    bool ready_now = false;
  };
  auto table = std::make_shared<object_table>(1024);
  auto out = std::make_shared<outcome>();
  bool finished = finishes_within(hang_limit, [table, out] {
    auto ref = table->create_pending(test_id(92));
    ref_ptr made;
    table->when_ready(ref.get(), [&] {
      auto again = table->lookup(test_id(92));
      out->looked_up = static_cast<bool>(again);
      out->saw_data = again && table->try_get(again.get()) != nullptr;
      made = table->put(test_id(93), bytes_object(1));
      out->put_ok = static_cast<bool>(made);
    });
    table->fulfill(test_id(92), bytes_object(1));
    // And a callback on a ready entry, run inside when_ready itself.
    table->when_ready(ref.get(), [&] {
      out->ready_now = table->try_get(ref.get()) != nullptr;
    });
  });
  REQUIRE(finished);
  CHECK(out->looked_up);
  CHECK(out->saw_data);
  CHECK(out->put_ok);
  CHECK(out->ready_now);
}

TEST_CASE("object_table: callbacks of an entry that dies unfulfilled are "
          "dropped, not run",
          "[runtime][object_table][when_ready]") {
  object_table table{1024};
  auto ref = table.create_pending(test_id(94));
  auto token = std::make_shared<int>(0);
  int calls = 0;
  table.when_ready(ref.get(), [&calls, token] {
    ++calls;
  });
  CHECK(token.use_count() == 2);
  ref = ref_ptr{};
  CHECK(calls == 0);
  CHECK(token.use_count() == 1);
  CHECK(table.get_stats().objects == 0);
}

// Regression (fixed): object_table::state::release
// (src/objects/object_table.cpp, the `e->home->entries.erase(id)` under
// `std::lock_guard guard{e->home->mtx}`) destroys the entry, and with it the
// std::function of every when_ready listener, while holding the shard mutex. A
// callback that owns a ref to another entry of the same shard then releases it
// under that lock and relocks the (non-recursive) mutex: the thread deadlocks.
// (The `data` is already moved out and freed outside the lock; the listeners
// are not.)
TEST_CASE("object_table: dropping an entry whose callback holds a ref in the "
          "same shard does not deadlock",
          "[runtime][object_table][when_ready]") {
  REQUIRE(std::hash<object_id>{}(same_hash_id(101)) ==
          std::hash<object_id>{}(same_hash_id(102)));
  auto table = std::make_shared<object_table>(1024);
  auto objects_after = std::make_shared<std::size_t>(99);
  bool finished = finishes_within(10s, [table, objects_after] {
    auto held = table->put(same_hash_id(101), bytes_object(1));
    auto waited = table->create_pending(same_hash_id(102));
    table->when_ready(waited.get(), [held] {});
    held = ref_ptr{};   // the callback now holds the only count
    waited = ref_ptr{}; // erases the entry, destroying the callback
    *objects_after = table->get_stats().objects;
  });
  REQUIRE(finished);
  CHECK(*objects_after == 0);
}

// -- capacity
// ------------------------------------------------------------------

TEST_CASE("object_table: put beyond capacity throws object_store_full_error",
          "[runtime][object_table][capacity]") {
  object_table table{100};
  auto a = table.put(test_id(110), bytes_object(60));
  CHECK_THROWS_AS(table.put(test_id(111), bytes_object(50)),
                  lumen::object_store_full_error);
  auto st = table.get_stats();
  CHECK(st.used_bytes == 60);
  CHECK(st.objects == 1);
  CHECK_FALSE(table.lookup(test_id(111)));
  // Exactly filling the store is fine; one more byte is not.
  auto b = table.put(test_id(112), bytes_object(40));
  CHECK(table.get_stats().used_bytes == 100);
  CHECK_THROWS_AS(table.put(test_id(113), bytes_object(1)),
                  lumen::object_store_full_error);
  // Dropping refs makes room again.
  a = ref_ptr{};
  auto c = table.put(test_id(111), bytes_object(50));
  CHECK(c);
  CHECK(table.get_stats().used_bytes == 90);
}

TEST_CASE("object_table: an object_store_full_error is a lumen::error",
          "[runtime][object_table][capacity]") {
  object_table table{0};
  CHECK_THROWS_AS(table.put(test_id(114), bytes_object(1)), lumen::error);
  // Empty objects always fit.
  CHECK(table.put(test_id(115), bytes_object(0)));
}

TEST_CASE("object_table: fulfill beyond capacity stores a store_full error",
          "[runtime][object_table][capacity]") {
  object_table table{100};
  auto keep = table.put(test_id(120), bytes_object(80));
  auto ref = table.create_pending(test_id(121));
  int calls = 0;
  table.when_ready(ref.get(), [&] {
    ++calls;
  });
  CHECK(table.fulfill(test_id(121), bytes_object(30)));
  CHECK(calls == 1);
  auto got = table.try_get(ref.get());
  REQUIRE(got);
  REQUIRE(got->error);
  CHECK(got->error->kind == error_kind::store_full);
  CHECK_FALSE(got->error->message.empty());
  CHECK(got->bytes.empty());
  CHECK_THROWS_AS(throw_error(*got->error), lumen::object_store_full_error);
  auto st = table.get_stats();
  CHECK(st.used_bytes == 80);
  CHECK(st.pending == 0);
  ref = ref_ptr{};
  CHECK(table.get_stats().used_bytes == 80);
}

TEST_CASE("object_table: concurrent puts never exceed capacity",
          "[runtime][object_table][capacity][concurrency]") {
  object_table table{100};
  std::atomic<int> full{0};
  std::atomic<int> other_errors{0};
  std::vector<std::vector<ref_ptr>> kept(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        try {
          kept[t].push_back(
            table.put(test_id(static_cast<std::uint64_t>(1000 + t * 100 + i)),
                      bytes_object(10)));
        } catch (const lumen::object_store_full_error&) {
          ++full;
        } catch (...) {
          ++other_errors;
        }
      }
    });
  for (auto& t : threads)
    t.join();
  std::size_t stored = 0;
  for (auto& v : kept)
    stored += v.size();
  CHECK(other_errors == 0);
  CHECK(stored <= 10);
  CHECK(stored + static_cast<std::size_t>(full.load()) == 40);
  CHECK(table.get_stats().used_bytes == stored * 10);
  // No reservation leaked: the rest of the store can still be filled.
  std::vector<ref_ptr> rest;
  for (std::size_t i = stored; i < 10; ++i)
    rest.push_back(table.put(test_id(5000 + i), bytes_object(10)));
  CHECK(table.get_stats().used_bytes == 100);
  CHECK_THROWS_AS(table.put(test_id(6000), bytes_object(1)),
                  lumen::object_store_full_error);
}

// -- close
// ---------------------------------------------------------------------

TEST_CASE("object_table: close fails pending entries and wakes waiters",
          "[runtime][object_table][close]") {
  auto table = std::make_shared<object_table>(1024);
  auto ready_data = bytes_object(3);
  auto ready = table->put(test_id(130), ready_data);
  auto pending = table->create_pending(test_id(131));
  auto other = table->create_pending(test_id(132));
  std::atomic<int> calls{0};
  table->when_ready(other.get(), [&calls] {
    ++calls;
  });
  auto reason = make_error_object(error_kind::runtime_error, "shut down");
  auto result = std::make_shared<std::vector<object_ptr>>();
  std::thread closer{[table, reason] {
    std::this_thread::sleep_for(50ms); // most likely after wait blocked
    table->close(reason);
  }};
  bool woke = finishes_within(hang_limit, [table, pending, result] {
    *result = table->wait({pending.get()}, 1, std::nullopt);
  });
  closer.join();
  REQUIRE(woke);
  REQUIRE(result->size() == 1);
  CHECK((*result)[0] == reason);
  CHECK(table->try_get(pending.get()) == reason);
  CHECK(table->try_get(other.get()) == reason);
  CHECK(calls == 1);
  CHECK(table->try_get(ready.get()) == ready_data); // untouched
  CHECK(table->get_stats().pending == 0);
  // A result arriving after close is refused.
  CHECK_FALSE(table->fulfill(test_id(131), bytes_object(1)));
  CHECK(table->try_get(pending.get()) == reason);
}

TEST_CASE("object_table: close rejects further puts",
          "[runtime][object_table][close]") {
  object_table table{1024};
  table.close(make_error_object(error_kind::runtime_error, "closed"));
  bool threw = false;
  try {
    table.put(test_id(140), bytes_object(1));
  } catch (const lumen::object_store_full_error&) {
    FAIL("close must not be reported as a full store");
  } catch (const lumen::error&) {
    threw = true;
  }
  CHECK(threw);
  auto st = table.get_stats();
  CHECK(st.objects == 0);
  CHECK(st.used_bytes == 0);
}

// Regression (fixed): object_table::create_pending
// (src/objects/object_table.cpp) ignores `closed`: after close() it still
// creates a pending entry, which nothing will ever fail. At shutdown
// (embedded_runtime::impl::~impl closes the table before stopping the node
// manager and the worker pool) a task still running can submit a child whose
// return entry is created this way; a `get` on it without a timeout then blocks
// forever and pool.stop() never joins that worker.
TEST_CASE("object_table: an entry created after close is not left pending",
          "[runtime][object_table][close]") {
  object_table table{1024};
  auto reason = make_error_object(error_kind::runtime_error, "closed");
  table.close(reason);
  ref_ptr late;
  bool refused = false;
  try {
    late = table.create_pending(test_id(150));
  } catch (const lumen::error&) {
    refused = true;
  }
  CHECK((refused || table.try_get(late.get()) != nullptr));
}

// Regression (fixed): close() stores `reason` in pending entries without adding
// its bytes to `used`, but state::release subtracts `doomed->bytes.size()` for
// every entry it frees (src/objects/object_table.cpp, release). A reason that
// carries bytes therefore drives used_bytes below zero (it wraps around), once
// per entry that held it. Reasons made by make_error_object have no bytes,
// so today's callers are not affected.
TEST_CASE("object_table: used bytes return to zero after close with a "
          "reason that has bytes",
          "[runtime][object_table][close]") {
  object_table table{1024};
  auto a = table.create_pending(test_id(160));
  auto b = table.create_pending(test_id(161));
  auto reason = std::make_shared<object_data>();
  std::string text = "diagnostic";
  reason->bytes.append(text.data(), text.size());
  auto info = std::make_shared<error_info>();
  info->message = "closed";
  reason->error = info;
  table.close(reason);
  CHECK(table.get_stats().used_bytes == 0);
  a = ref_ptr{};
  b = ref_ptr{};
  CHECK(table.get_stats().objects == 0);
  CHECK(table.get_stats().used_bytes == 0);
}

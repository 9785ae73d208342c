// Unit tests of spilling in the object table (object_table_spill.cpp):
// values past the high-water mark go to real files in a temporary
// directory, oldest unused first, and come back on demand.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lumen/detail/object_data.hpp"
#include "lumen/error.hpp"
#include "lumen/ids.hpp"
#include "objects/object_table.hpp"
#include "runtime_object_table_test_support.hpp"
#include "spill_test_support.hpp"

using namespace lumen;
using namespace lumen::detail;
using namespace object_table_test;
using spill_test::files_in;
using spill_test::has_file_for;
using spill_test::temp_dir;

namespace {

/// `n` bytes that differ with `seed`.
std::string sp_bytes(std::size_t n, unsigned seed) {
  std::string result(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    result[i] = static_cast<char>((i * 31 + seed * 101 + 7) & 0xff);
  return result;
}

object_ptr sp_object(std::size_t n, unsigned seed,
                     std::vector<ref_ptr> refs = {}) {
  auto data = std::make_shared<object_data>();
  auto bytes = sp_bytes(n, seed);
  data->bytes.append(bytes.data(), bytes.size());
  data->refs = std::move(refs);
  return data;
}

std::string bytes_of(const object_ptr& obj) {
  return std::string(obj->bytes.data(), obj->bytes.size());
}

/// A table of `capacity` bytes spilling into `dir` above `threshold`.
std::unique_ptr<object_table> spilling_table(std::size_t capacity,
                                             const std::string& dir,
                                             std::size_t spill_capacity = 0,
                                             double threshold = 0.5) {
  auto table = std::make_unique<object_table>(capacity);
  table->enable_spilling({dir, spill_capacity, threshold});
  return table;
}

bool on_disk(const std::string& dir, std::uint64_t n) {
  return has_file_for(dir, test_id(n).to_string());
}

} // namespace

TEST_CASE("object_table spilling: values past the high-water mark spill, "
          "oldest first",
          "[runtime][object_table][spill]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  auto table = spilling_table(1000, dir); // high-water mark 500
  std::vector<ref_ptr> refs;
  refs.push_back(table->put(test_id(1), sp_object(200, 1)));
  refs.push_back(table->put(test_id(2), sp_object(200, 2)));
  // Up to the mark nothing touches the disk.
  CHECK(files_in(dir).empty());
  CHECK(table->get_stats().spilled_objects == 0);
  // 600 > 500: the oldest goes.
  refs.push_back(table->put(test_id(3), sp_object(200, 3)));
  CHECK(on_disk(dir, 1));
  CHECK_FALSE(on_disk(dir, 2));
  auto st = table->get_stats();
  CHECK(st.objects == 3);
  CHECK(st.spilled_objects == 1);
  CHECK(st.spilled_bytes == 200);
  CHECK(st.used_bytes == 400);
  CHECK(st.spill_file_bytes == 200);
  // The next one pushes out the next oldest.
  refs.push_back(table->put(test_id(4), sp_object(200, 4)));
  CHECK(on_disk(dir, 2));
  CHECK_FALSE(on_disk(dir, 3));
  CHECK_FALSE(on_disk(dir, 4));
  st = table->get_stats();
  CHECK(st.spilled_objects == 2);
  CHECK(st.used_bytes == 400);
  // Spilled entries are still ready.
  CHECK(table->ready(refs[0].get()));
  CHECK(table->ready(refs[1].get()));
}

TEST_CASE("object_table spilling: a value a reader holds does not spill",
          "[runtime][object_table][spill]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  auto table = spilling_table(1000, dir);
  auto r1 = table->put(test_id(1), sp_object(200, 1));
  auto r2 = table->put(test_id(2), sp_object(200, 2));
  auto held = table->try_get(r1.get()); // a reader, or a running task
  auto r3 = table->put(test_id(3), sp_object(200, 3));
  CHECK_FALSE(on_disk(dir, 1));
  CHECK(on_disk(dir, 2));
  CHECK(bytes_of(held) == sp_bytes(200, 1));
  // Once the reader lets go, it is the oldest again.
  held.reset();
  auto r4 = table->put(test_id(4), sp_object(200, 4));
  CHECK(on_disk(dir, 1));
  CHECK(table->get_stats().spilled_objects == 2);
}

TEST_CASE("object_table spilling: try_get restores the exact bytes and "
          "counts them in memory again",
          "[runtime][object_table][spill]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  auto table = spilling_table(1000, dir);
  std::vector<ref_ptr> refs;
  for (unsigned i = 1; i <= 6; ++i)
    refs.push_back(table->put(test_id(i), sp_object(150 + i, i)));
  auto before = table->get_stats();
  REQUIRE(before.spilled_objects >= 3);
  CHECK(before.used_bytes <= 500);
  // Every value comes back as it went in, spilled or not.
  for (unsigned i = 1; i <= 6; ++i) {
    auto obj = table->try_get(refs[i - 1].get());
    REQUIRE(obj);
    CHECK_FALSE(obj->error);
    CHECK(bytes_of(obj) == sp_bytes(150 + i, i));
  }
  auto after = table->get_stats();
  CHECK(after.restored_objects >= 3);
  // Restoring made room by spilling others: memory stays at the mark.
  CHECK(after.used_bytes <= 500);
  CHECK(after.spilled_objects >= 3);
  // Through wait too.
  std::vector<const ref_header*> hs;
  for (auto& r : refs)
    hs.push_back(r.get());
  auto objs = table->wait(hs, hs.size(), std::nullopt);
  for (unsigned i = 1; i <= 6; ++i)
    CHECK(bytes_of(objs[i - 1]) == sp_bytes(150 + i, i));
}

TEST_CASE("object_table spilling: wait_ready and ready leave spilled values "
          "on disk",
          "[runtime][object_table][spill]") {
  temp_dir tmp;
  auto table = spilling_table(1000, tmp.sub("node"));
  std::vector<ref_ptr> refs;
  for (unsigned i = 1; i <= 5; ++i)
    refs.push_back(table->put(test_id(i), sp_object(200, i)));
  auto spilled = table->get_stats().spilled_objects;
  REQUIRE(spilled > 0);
  std::vector<const ref_header*> hs;
  for (auto& r : refs)
    hs.push_back(r.get());
  auto flags = table->wait_ready(hs, hs.size(), std::nullopt);
  for (bool f : flags)
    CHECK(f);
  for (auto* h : hs)
    CHECK(table->ready(h));
  auto st = table->get_stats();
  CHECK(st.restored_objects == 0);
  CHECK(st.spilled_objects == spilled);
}

TEST_CASE("object_table spilling: a restored value keeps its file and spills "
          "again without a write",
          "[runtime][object_table][spill]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  auto table = spilling_table(1000, dir);
  auto r1 = table->put(test_id(1), sp_object(200, 1));
  auto r2 = table->put(test_id(2), sp_object(200, 2));
  auto r3 = table->put(test_id(3), sp_object(200, 3)); // spills 1
  REQUIRE(on_disk(dir, 1));
  CHECK(bytes_of(table->try_get(r1.get())) == sp_bytes(200, 1)); // spills 2
  CHECK(files_in(dir).size() == 2);
  auto r4 = table->put(test_id(4), sp_object(200, 4)); // spills 3
  auto r5 = table->put(test_id(5), sp_object(200, 5)); // spills 1 again
  auto st = table->get_stats();
  CHECK(st.spilled_objects == 3);
  CHECK(files_in(dir).size() == 3); // 1's old file served again
  CHECK(st.spill_file_bytes == 600);
  CHECK(bytes_of(table->try_get(r1.get())) == sp_bytes(200, 1));
}

TEST_CASE("object_table spilling: freeing an object deletes its file",
          "[runtime][object_table][spill]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  auto table = spilling_table(1000, dir);
  auto r1 = table->put(test_id(1), sp_object(200, 1));
  auto r2 = table->put(test_id(2), sp_object(200, 2));
  auto r3 = table->put(test_id(3), sp_object(200, 3));
  REQUIRE(on_disk(dir, 1));
  r1 = {};
  CHECK_FALSE(on_disk(dir, 1));
  auto st = table->get_stats();
  CHECK(st.objects == 2);
  CHECK(st.spilled_objects == 0);
  CHECK(st.spill_file_bytes == 0);
  CHECK(st.used_bytes == 400);
  // A restored value's kept file goes with it too.
  auto r4 = table->put(test_id(4), sp_object(200, 4)); // spills 2
  REQUIRE(on_disk(dir, 2));
  CHECK(table->try_get(r2.get()));
  r2 = {};
  r3 = {};
  r4 = {};
  CHECK(files_in(dir).empty());
  st = table->get_stats();
  CHECK(st.objects == 0);
  CHECK(st.used_bytes == 0);
  CHECK(st.spill_file_bytes == 0);
}

TEST_CASE("object_table spilling: a put fails only when memory and the spill "
          "directory are both full",
          "[runtime][object_table][spill][capacity]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  // 1000 bytes of memory, mark at 500; 300 bytes of disk.
  auto table = spilling_table(1000, dir, 300);
  auto a = table->put(test_id(1), sp_object(200, 1));
  auto b = table->put(test_id(2), sp_object(200, 2));
  auto c = table->put(test_id(3), sp_object(200, 3)); // a spills
  REQUIRE(on_disk(dir, 1));
  // The disk cannot take b, but memory still has room up to the capacity.
  auto d = table->put(test_id(4), sp_object(200, 4));
  auto e = table->put(test_id(5), sp_object(200, 5));
  CHECK(table->get_stats().used_bytes == 800);
  std::string message;
  try {
    table->put(test_id(6), sp_object(300, 6));
    FAIL("the put must fail");
  } catch (const object_store_full_error& err) {
    message = err.what();
  }
  CHECK_THAT(message, Catch::Contains("object store full") &&
                        Catch::Contains("does not fit in memory") &&
                        Catch::Contains("800 of 1000 bytes used") &&
                        Catch::Contains(dir) &&
                        Catch::Contains("capacity 300 bytes") &&
                        Catch::Contains("is full"));
  // Nothing changed.
  auto st = table->get_stats();
  CHECK(st.objects == 5);
  CHECK(st.used_bytes == 800);
  CHECK(st.spill_file_bytes == 200);
  // Freeing the spilled value frees disk: the put succeeds again.
  a = {};
  auto f = table->put(test_id(6), sp_object(300, 6));
  CHECK(bytes_of(table->try_get(f.get())) == sp_bytes(300, 6));
  for (unsigned i = 2; i <= 5; ++i) {
    auto* r = i == 2 ? &b : i == 3 ? &c : i == 4 ? &d : &e;
    CHECK(bytes_of(table->try_get(r->get())) == sp_bytes(200, i));
  }
}

TEST_CASE("object_table spilling: a put fails when every value in memory is "
          "in use",
          "[runtime][object_table][spill][capacity]") {
  temp_dir tmp;
  auto table = spilling_table(1000, tmp.sub("node"));
  std::vector<ref_ptr> refs;
  std::vector<object_ptr> held;
  for (unsigned i = 1; i <= 4; ++i) {
    refs.push_back(table->put(test_id(i), sp_object(200, i)));
    held.push_back(table->try_get(refs.back().get()));
  }
  CHECK(table->get_stats().spilled_objects == 0);
  CHECK_THROWS_WITH(table->put(test_id(9), sp_object(300, 9)),
                    Catch::Contains("every object in memory is in use"));
  held.clear();
  CHECK(table->put(test_id(9), sp_object(300, 9)));
}

TEST_CASE("object_table spilling: an object larger than the store never fits",
          "[runtime][object_table][spill][capacity]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  auto table = spilling_table(1000, dir);
  CHECK_THROWS_WITH(table->put(test_id(1), sp_object(1001, 1)),
                    Catch::Contains("larger than the whole store"));
  CHECK(table->get_stats().used_bytes == 0);
  CHECK(files_in(dir).empty());
}

TEST_CASE("object_table spilling: fulfill spills to make room for a result",
          "[runtime][object_table][spill]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  auto table = spilling_table(1000, dir, 250);
  auto a = table->put(test_id(1), sp_object(200, 1));
  auto b = table->put(test_id(2), sp_object(200, 2));
  auto p = table->create_pending(test_id(3));
  REQUIRE(table->fulfill(test_id(3), sp_object(400, 3)));
  CHECK(on_disk(dir, 1));
  CHECK(bytes_of(table->try_get(p.get())) == sp_bytes(400, 3));
  // Another needs 500 more: memory holds 600 of 1000, the disk no more.
  auto q = table->create_pending(test_id(4));
  REQUIRE(table->fulfill(test_id(4), sp_object(500, 4)));
  auto got = table->try_get(q.get());
  REQUIRE(got->error);
  CHECK(got->error->kind == error_kind::store_full);
  CHECK_THAT(got->error->message,
             Catch::Contains("result of 500 bytes does not fit") &&
               Catch::Contains("spill"));
}

TEST_CASE("object_table spilling: references inside a spilled value stay "
          "alive and come back with it",
          "[runtime][object_table][spill]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  auto table = spilling_table(1000, dir);
  auto inner = table->put(test_id(10), sp_object(10, 10));
  auto outer = table->put(test_id(11), sp_object(300, 11, {inner}));
  inner = {};
  auto more = table->put(test_id(12), sp_object(300, 12)); // outer spills
  REQUIRE(on_disk(dir, 11));
  CHECK(table->lookup(test_id(10))); // the spilled value still holds it
  auto obj = table->try_get(outer.get());
  REQUIRE(obj->refs.size() == 1);
  CHECK(obj->refs[0].id() == test_id(10));
  CHECK(bytes_of(obj) == sp_bytes(300, 11));
  obj.reset();
  outer = {};
  CHECK_FALSE(table->lookup(test_id(10)));
}

TEST_CASE("object_table spilling: threads restoring one value at once all "
          "get its bytes",
          "[runtime][object_table][spill][concurrency]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  auto table = spilling_table(100000, dir);
  auto target = table->put(test_id(1), sp_object(20000, 1));
  std::vector<ref_ptr> refs;
  for (unsigned i = 2; i <= 5; ++i)
    refs.push_back(table->put(test_id(i), sp_object(20000, i)));
  REQUIRE(on_disk(dir, 1));
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      auto obj = table->try_get(target.get());
      if (obj && !obj->error && bytes_of(obj) == sp_bytes(20000, 1))
        ++good;
    });
  for (auto& t : threads)
    t.join();
  CHECK(good == 8);
  target = {};
  refs.clear();
  auto st = table->get_stats();
  CHECK(st.objects == 0);
  CHECK(st.used_bytes == 0);
  CHECK(st.spill_file_bytes == 0);
  CHECK(files_in(dir).empty());
}

TEST_CASE("object_table spilling: many threads putting and reading past the "
          "capacity see their own bytes",
          "[runtime][object_table][spill][concurrency]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  constexpr std::size_t capacity = 20000;
  auto table = spilling_table(capacity, dir, 0, 0.8);
  constexpr unsigned threads_n = 6;
  constexpr unsigned per_thread = 40; // 4.8x the capacity, in all
  std::atomic<int> bad{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < threads_n; ++t)
    threads.emplace_back([&, t] {
      std::vector<ref_ptr> mine;
      try {
        for (unsigned i = 0; i < per_thread; ++i) {
          auto n = t * 1000 + i + 1;
          mine.push_back(table->put(test_id(n), sp_object(400 + i, n)));
        }
        for (int round = 0; round < 2; ++round)
          for (unsigned i = 0; i < per_thread; ++i) {
            auto n = t * 1000 + i + 1;
            auto obj = table->try_get(mine[i].get());
            if (!obj || obj->error || bytes_of(obj) != sp_bytes(400 + i, n))
              ++bad;
          }
      } catch (const std::exception&) {
        ++failed;
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(bad == 0);
  CHECK(failed == 0);
  auto st = table->get_stats();
  CHECK(st.objects == 0);
  CHECK(st.used_bytes == 0);
  CHECK(st.spill_file_bytes == 0);
  CHECK(files_in(dir).empty());
}

TEST_CASE("object_table spilling: the table removes its spill directory",
          "[runtime][object_table][spill]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  ref_ptr survivor;
  {
    auto table = spilling_table(1000, dir);
    survivor = table->put(test_id(1), sp_object(200, 1));
    auto b = table->put(test_id(2), sp_object(200, 2));
    auto c = table->put(test_id(3), sp_object(200, 3));
    REQUIRE(on_disk(dir, 1));
  }
  CHECK_FALSE(std::filesystem::exists(dir));
  CHECK(std::filesystem::exists(tmp.path()));
  survivor = {}; // a ref past the table: its file is gone already
}

TEST_CASE("object_table spilling: the threshold must be above 0 and at "
          "most 1",
          "[runtime][object_table][spill]") {
  temp_dir tmp;
  object_table a{1000};
  CHECK_THROWS_WITH(a.enable_spilling({tmp.sub("a"), 0, 0.0}),
                    Catch::Contains("object_spilling_threshold"));
  object_table b{1000};
  CHECK_THROWS_AS(b.enable_spilling({tmp.sub("b"), 0, 1.5}), lumen::error);
  object_table c{1000};
  CHECK_NOTHROW(c.enable_spilling({tmp.sub("c"), 0, 1.0}));
}

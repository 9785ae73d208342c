// The lineage stash on a real RocksDB store in a fresh directory. Orphaned
// stashes: lineage_stash_orphans_test.cpp; the stash's actor:
// lineage_stash_actor_test.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/gcs.hpp"
#include "actors/lineage_stash.hpp"
#include "lineage/lineage_log.hpp"
#include "lineage/stash.hpp"
#include "lumen/error.hpp"
#include "storage/rocks_db.hpp"
#include "wire/lineage_batch.hpp"
#include "wire/task_spec.hpp"
#include "wire/task_spec_codec.hpp"

#include "lineage_stash_test_support.hpp"

using namespace std::chrono_literals;
using lumen::task_id;
using lumen::detail::lineage_stash;

namespace {

using namespace stash_test;

using batch = lineage_stash::commit_batch;

/// A batch's rows, in order (their count is checked too); they view
/// `b.rows`.
std::vector<lumen::detail::lineage_row_view> rows_of(const batch& b) {
  auto rows = lumen::detail::split_lineage_batch(*b.rows);
  REQUIRE(rows);
  REQUIRE(rows->size() == b.count);
  std::vector<lumen::detail::lineage_row_view> out;
  for (auto& row : *rows)
    out.push_back(row.first);
  return out;
}

std::vector<std::string> specs_of(const batch& b) {
  std::vector<std::string> out;
  for (auto& row : rows_of(b))
    out.emplace_back(row.spec);
  return out;
}

/// The ids as text.
std::vector<std::string> ids_of(const batch& b) {
  std::vector<std::string> out;
  for (auto& row : rows_of(b))
    out.emplace_back(row.id);
  return out;
}

/// A reference counted on its own (no object table).
lumen::detail::ref_ptr free_ref(lumen::object_id id) {
  auto* r = new lumen::detail::ref_header;
  r->id = id;
  r->on_zero = [](lumen::detail::ref_header* p) noexcept {
    delete p;
  };
  return lumen::detail::ref_ptr::adopt(r);
}

} // namespace

TEST_CASE("lineage stash: rows go to the GCS batch, then away", "[lineage]") {
  temp_dir dir{"flow"};
  lineage_stash s{dir.path};
  CHECK(s.append(tid(1), "one", {}));
  CHECK_FALSE(s.append(tid(2), "two", {tid(1)}));
  CHECK_FALSE(s.append(tid(1), "again", {})); // kept once
  auto batch = s.next_commit_batch(10);
  CHECK(specs_of(batch) == std::vector<std::string>{"one", "two"});
  CHECK(s.next_commit_batch(10).empty());     // in flight
  CHECK(s.append(tid(3), "three", {tid(2)})); // nothing waited to be sent
  CHECK(s.uncommitted() == 3);
  s.committed(batch.seq);
  CHECK(s.uncommitted() == 1);
  CHECK(s.committed_total() == 2);
  CHECK_FALSE(s.find(tid(1)));
  CHECK(s.find(tid(3)) == std::optional<std::string>{"three"});
}

TEST_CASE("lineage stash: a failed batch is sent again", "[lineage]") {
  temp_dir dir{"retry"};
  lineage_stash s{dir.path};
  s.append(tid(1), "one", {});
  auto batch = s.next_commit_batch(10);
  REQUIRE(batch.count == 1);
  CHECK(s.next_commit_batch(10).empty()); // in flight
  s.retry(batch.seq);
  auto again = s.next_commit_batch(10);
  CHECK(specs_of(again) == std::vector<std::string>{"one"});
}

TEST_CASE("lineage stash: a committed segment's buffer serves the next one",
          "[lineage]") {
  temp_dir dir{"recycle"};
  lineage_stash s{dir.path};
  s.append(tid(1), "one", {});
  s.append(tid(2), "two", {});
  auto first = s.next_commit_batch(10);
  const auto* buffer = first.rows.get();
  first.rows.reset();
  s.committed(first.seq);
  s.append(tid(3), "three", {});
  auto second = s.next_commit_batch(10);
  CHECK(second.rows.get() == buffer);
  CHECK(specs_of(second) == std::vector<std::string>{"three"});
  CHECK_FALSE(s.find(tid(1)));
  CHECK(s.find(tid(3)) == std::optional<std::string>{"three"});
  // A batch still held keeps its buffer: the next segment gets another.
  s.committed(second.seq);
  s.append(tid(4), "four", {});
  auto third = s.next_commit_batch(10);
  CHECK(third.rows.get() != second.rows.get());
  CHECK(specs_of(second) == std::vector<std::string>{"three"});
  CHECK(specs_of(third) == std::vector<std::string>{"four"});
}

TEST_CASE("lineage stash: a row goes to disk one flush after it came",
          "[lineage]") {
  temp_dir dir{"delay"};
  lineage_stash s{dir.path};
  s.append(tid(1), "one", {});
  s.append(tid(2), "two", {});
  CHECK(s.has_unflushed());
  CHECK(s.flush_to_disk() == 0); // too young
  auto batch = s.next_commit_batch(1);
  s.committed(batch.seq); // row 1 committed in time: never written
  CHECK(s.flush_to_disk() == 1);
  CHECK_FALSE(s.has_unflushed());
  CHECK(s.flush_to_disk() == 0);
  s.append(tid(3), "three", {});
  CHECK(s.flush_to_disk(true) == 1); // all, young or not
}

TEST_CASE("lineage stash: rows in flight are not written until a batch fails",
          "[lineage]") {
  temp_dir dir{"inflight"};
  lineage_stash s{dir.path};
  s.append(tid(1), "one", {});
  auto batch = s.next_commit_batch(10);
  CHECK(s.flush_to_disk() == 0);
  CHECK(s.flush_to_disk() == 0); // old enough, but in flight
  s.retry(batch.seq);            // the GCS did not answer
  CHECK(s.flush_to_disk() == 0); // young again
  CHECK(s.flush_to_disk() == 1); // waited a period unsent: on disk
  CHECK(s.uncommitted() == 1);
}

TEST_CASE("lineage stash: rows not committed survive a restart of the node",
          "[lineage]") {
  temp_dir dir{"restart"};
  {
    lineage_stash s{dir.path};
    s.append(tid(1), "one", {});
    s.append(tid(2), "two", {});
    s.flush_to_disk();
    CHECK(s.flush_to_disk() == 2);
    auto first = s.next_commit_batch(1);
    REQUIRE(ids_of(first) == std::vector<std::string>{tid(1).to_string()});
    s.committed(first.seq);        // deleted on disk
    s.append(tid(3), "three", {}); // written when the stash closes
  }
  lineage_stash s{dir.path};
  CHECK(s.uncommitted() == 2);
  auto batch = s.next_commit_batch(10);
  auto specs = specs_of(batch);
  auto ids = ids_of(batch);
  REQUIRE(specs.size() == 2);
  if (ids[0] == tid(3).to_string()) {
    std::swap(ids[0], ids[1]);
    std::swap(specs[0], specs[1]);
  }
  CHECK(ids[0] == tid(2).to_string());
  CHECK(specs[0] == "two");
  CHECK(ids[1] == tid(3).to_string());
}

TEST_CASE("lineage stash: uncommitted ancestors follow dependencies",
          "[lineage]") {
  temp_dir dir{"ancestors"};
  lineage_stash s{dir.path};
  // 1 <- 2 <- 4, 3 <- 4; 1 is committed.
  s.append(tid(1), "one", {});
  s.append(tid(2), "two", {tid(1)});
  s.append(tid(3), "three", {});
  s.append(tid(4), "four", {tid(2), tid(3)});
  auto first = s.next_commit_batch(1);
  REQUIRE(ids_of(first) == std::vector<std::string>{tid(1).to_string()});
  s.committed(first.seq);
  auto got = s.uncommitted_ancestors({tid(4)});
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"four", "three", "two"});
  CHECK(s.uncommitted_ancestors({tid(1)}).empty());
  CHECK(s.uncommitted_ancestors({tid(9)}).empty());
}

TEST_CASE("lineage stash: a task's spec and its dependencies", "[lineage]") {
  temp_dir dir{"spec"};
  lineage_stash s{dir.path};
  lumen::detail::task_spec t;
  t.id = tid(7);
  t.function = "f";
  t.return_id = lumen::object_id{t.id, 1};
  lumen::detail::task_arg by_task;
  by_task.ref = free_ref(lumen::object_id{tid(5), 1});
  lumen::detail::task_arg by_put;
  by_put.ref = free_ref(lumen::object_id{tid(6), lumen::object_id::put_flag});
  t.args = {by_task, by_put};
  t.lineage = {"an ancestor"}; // travels with the task, not stashed with it
  CHECK(lumen::detail::task_deps(t) == std::vector<task_id>{tid(5)});
  CHECK(lumen::detail::stash_task(s, t));
  auto spec = s.find(tid(7));
  REQUIRE(spec);
  auto [id, deps] = lumen::detail::spec_deps(*spec);
  CHECK(id == tid(7));
  CHECK(deps == std::vector<task_id>{tid(5)});
  CHECK_THROWS_AS(lumen::detail::spec_deps("garbage!"), lumen::decode_error);
}

TEST_CASE("lineage stash: a queued task is encoded when taken in, then let go",
          "[lineage]") {
  temp_dir dir{"queued"};
  lineage_stash s{dir.path};
  auto t = std::make_shared<lumen::detail::task_spec>();
  t->id = tid(7);
  t->function = "f";
  t->return_id = lumen::object_id{t->id, 1};
  lumen::detail::task_arg by_task;
  by_task.ref = free_ref(lumen::object_id{tid(5), 1});
  t->args = {by_task};
  // As the stash encodes it (task_spec_codec_test checks that it reads
  // back as the spec).
  std::string expected;
  lumen::detail::append_task_spec(expected, *t);
  CHECK(s.append(std::shared_ptr<const lumen::detail::task_spec>{t}));
  CHECK(t.use_count() == 2); // queued as it is
  CHECK(s.find(tid(7)) == std::optional<std::string>{expected});
  CHECK(t.use_count() == 1); // encoded: its arguments are not held
  auto batch = s.next_commit_batch();
  CHECK(specs_of(batch) == std::vector<std::string>{expected});
}

TEST_CASE("lineage stash: take_in takes queued rows in a chunk at a time",
          "[lineage]") {
  temp_dir dir{"take-in"};
  lineage_stash s{dir.path};
  constexpr std::uint64_t n = 1000;
  std::vector<std::shared_ptr<const lumen::detail::task_spec>> tasks;
  for (std::uint64_t k = 0; k < n; ++k) {
    tasks.push_back(task(k));
    s.append(tasks.back());
  }
  // Between chunks (while take_in yields) rows keep coming from another
  // thread, and a look-up takes in whatever is still queued.
  std::thread appender{[&] {
    for (std::uint64_t k = n; k < 2 * n; ++k)
      s.append(task(k));
  }};
  s.take_in(7);
  // Taken in: encoded, and the stash holds the tasks no more.
  for (auto& t : tasks)
    CHECK(t.use_count() == 1);
  appender.join();
  CHECK(s.find(lumen::task_id{7, 2 * n - 1}));
  CHECK(s.uncommitted() == 2 * n);
  // Every row once, in the order appended.
  std::vector<std::string> ids;
  for (auto b = s.next_commit_batch(); !b.empty(); b = s.next_commit_batch())
    for (auto& id : ids_of(b))
      ids.push_back(id);
  REQUIRE(ids.size() == 2 * n);
  for (std::uint64_t k = 0; k < 2 * n; ++k)
    CHECK(ids[k] == lumen::task_id{7, k}.to_string());
}

TEST_CASE("lineage stash: rows are found across full segments", "[lineage]") {
  temp_dir dir{"segments"};
  lineage_stash s{dir.path};
  // A chain 1 <- 2 <- ... longer than a segment.
  const std::uint64_t n = lineage_stash::segment_rows + 10;
  for (std::uint64_t k = 1; k <= n; ++k)
    s.append(tid(k), "spec " + std::to_string(k),
             k > 1 ? std::vector<task_id>{tid(k - 1)} : std::vector<task_id>{});
  CHECK(s.uncommitted() == n);
  CHECK(s.find(tid(1)) == std::optional<std::string>{"spec 1"});
  CHECK(s.find(tid(n)) ==
        std::optional<std::string>{"spec " + std::to_string(n)});
  CHECK_FALSE(s.find(tid(n + 1)));
  CHECK(s.uncommitted_ancestors({tid(n)}).size() == n);
  // One segment per batch; the second holds the rest.
  auto first = s.next_commit_batch();
  CHECK(first.count == lineage_stash::segment_rows);
  auto rest = s.next_commit_batch();
  CHECK(rest.count == 10);
  s.committed(first.seq);
  CHECK_FALSE(s.find(tid(1)));
  CHECK(s.uncommitted_ancestors({tid(n)}).size() == 10);
  s.committed(rest.seq);
  CHECK(s.uncommitted() == 0);
  CHECK(s.committed_total() == n);
}

TEST_CASE("lineage stash: on a full disk its writes fail with a clear "
          "error, the rows stay in memory and reach the disk once space is "
          "back",
          "[lineage][disk]") {
  if (::geteuid() != 0) {
    WARN("cannot mount a tmpfs here (not root)");
    return;
  }
  temp_dir mnt{"full"};
  std::filesystem::create_directories(mnt.path);
  REQUIRE(std::system(
            ("mount -t tmpfs -o size=64m tmpfs " + mnt.path + " 2>/dev/null")
              .c_str()) == 0);
  struct unmount {
    std::string path;
    ~unmount() {
      (void)std::system(("umount -l " + path).c_str());
    }
  } guard{mnt.path};
  lineage_stash s{mnt.path + "/stash"};
  // Leave less than a store needs.
  auto filler = mnt.path + "/filler";
  auto free = std::filesystem::space(mnt.path).available;
  REQUIRE(std::system(("fallocate -l " + std::to_string(free - (16u << 20)) +
                       " " + filler)
                        .c_str()) == 0);
  s.append(tid(1), std::string(1 << 20, 'a'), {});
  s.append(tid(2), "two", {});
  CHECK_THROWS_WITH(s.flush_to_disk(true),
                    Catch::Contains("disk is full") &&
                      Catch::Contains("free space there"));
  CHECK(s.uncommitted() == 2);
  CHECK(s.find(tid(2)) == std::optional<std::string>{"two"});
  std::filesystem::remove(filler);
  CHECK(s.flush_to_disk(true) == 2);
}

TEST_CASE("lineage stash: a row that comes again while its first copy is "
          "held is kept once, however many segments went meanwhile",
          "[lineage]") {
  temp_dir dir{"present"};
  lineage_stash s{dir.path};
  s.append(tid(1), "one", {});
  auto held = s.next_commit_batch(10); // in flight: stays
  REQUIRE(held.count == 1);
  for (std::uint64_t k = 2; k < 8; ++k) {
    s.append(tid(k), "row", {});
    auto b = s.next_commit_batch(10);
    REQUIRE(b.count == 1);
    b.rows.reset();
    s.committed(b.seq);
  }
  // A peer sends row 1 again (the lineage of another task it runs).
  s.append(tid(1), "again", {});
  CHECK(s.uncommitted() == 1);
  CHECK(s.find(tid(1)) == std::optional<std::string>{"one"});
  held.rows.reset();
  s.committed(held.seq);
  CHECK(s.uncommitted() == 0);
  // Gone now: it comes in again as a new row.
  s.append(tid(1), "later", {});
  CHECK(s.find(tid(1)) == std::optional<std::string>{"later"});
}

// The lineage stash drops the rows of collected tasks before they are
// committed (lineage_stash::discard), on a real RocksDB store.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "lineage/stash.hpp"
#include "wire/lineage_batch.hpp"
#include "wire/task_spec_codec.hpp"

#include "lineage_stash_test_support.hpp"

using lumen::task_id;
using lumen::detail::lineage_stash;
using namespace stash_test;

namespace {

/// The specs of a batch's rows, in order, checking every row reads.
std::vector<std::string> specs_of(const lineage_stash::commit_batch& b) {
  auto rows = lumen::detail::split_lineage_batch(*b.rows);
  REQUIRE(rows);
  REQUIRE(rows->size() == b.count);
  std::vector<std::string> out;
  for (auto& row : *rows)
    out.emplace_back(row.first.spec);
  return out;
}

} // namespace

TEST_CASE("lineage stash discard: a segment keeps its other rows, their "
          "specs and their dependencies",
          "[lineage]") {
  temp_dir dir{"discard-keep"};
  lineage_stash s{dir.path};
  // 1 <- 2 <- 4 <- 5, 3 <- 4: 2 and 3 are collected.
  s.append(tid(1), "one", {});
  s.append(tid(2), "two", {tid(1)});
  s.append(tid(3), "three", {});
  s.append(tid(4), "four", {tid(2), tid(3)});
  s.append(tid(5), "five", {tid(4)});
  REQUIRE(s.uncommitted() == 5); // taken in: in one segment
  auto d = s.discard({tid(3), tid(2), tid(9)});
  CHECK(d.dropped == 2);
  // 9 was never here: the GCS may hold its lineage, 2 and 3 it never got.
  CHECK(d.to_delete == std::vector<task_id>{tid(9)});
  CHECK(s.uncommitted() == 3);
  CHECK(s.committed_total() == 2); // dropped counts as committed
  CHECK_FALSE(s.find(tid(2)));
  CHECK_FALSE(s.find(tid(3)));
  CHECK(s.find(tid(4)) == std::optional<std::string>{"four"});
  auto got = s.uncommitted_ancestors({tid(5)});
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"five", "four"});
  auto batch = s.next_commit_batch(10);
  CHECK(specs_of(batch) == std::vector<std::string>{"one", "four", "five"});
  batch.rows.reset();
  s.committed(batch.seq);
  CHECK(s.uncommitted() == 0);
  CHECK(s.committed_total() == 5);
}

TEST_CASE("lineage stash discard: queued tasks go before they are encoded",
          "[lineage]") {
  temp_dir dir{"discard-queued"};
  lineage_stash s{dir.path};
  auto kept = task(1);
  auto dropped = task(2);
  s.append(kept);
  s.append(dropped);
  auto d = s.discard({dropped->id});
  CHECK(d.dropped == 0); // never taken in: no row to count
  CHECK(d.to_delete.empty());
  CHECK(dropped.use_count() == 1); // the stash let the task go
  CHECK(s.uncommitted() == 1);
  std::string expected;
  lumen::detail::append_task_spec(expected, *kept);
  CHECK(specs_of(s.next_commit_batch(10)) ==
        std::vector<std::string>{expected});
}

TEST_CASE("lineage stash discard: rows in flight stay, an emptied segment "
          "goes, and the open one takes rows again",
          "[lineage]") {
  temp_dir dir{"discard-flight"};
  lineage_stash s{dir.path};
  s.append(tid(1), "one", {});
  auto flight = s.next_commit_batch(10);
  s.append(tid(2), "two", {});
  s.append(tid(3), "three", {});
  REQUIRE(s.uncommitted() == 3);
  auto d = s.discard({tid(1), tid(2), tid(3)});
  CHECK(d.dropped == 2); // 1 is on its way: deleted once committed
  CHECK(d.to_delete == std::vector<task_id>{tid(1)});
  CHECK(s.uncommitted() == 1);
  CHECK(s.next_commit_batch(10).empty());
  s.append(tid(4), "four", {});
  s.retry(flight.seq);
  flight.rows.reset();
  auto again = s.next_commit_batch(10);
  CHECK(specs_of(again) == std::vector<std::string>{"one"});
  auto next = s.next_commit_batch(10);
  CHECK(specs_of(next) == std::vector<std::string>{"four"});
}

TEST_CASE("lineage stash discard: dropped rows on disk do not come back after "
          "a restart",
          "[lineage]") {
  temp_dir dir{"discard-disk"};
  {
    lineage_stash s{dir.path};
    s.append(tid(1), "one", {});
    s.append(tid(2), "two", {});
    s.flush_to_disk();
    REQUIRE(s.flush_to_disk() == 2);
    CHECK(s.discard({tid(1)}).dropped == 1);
  }
  lineage_stash s{dir.path};
  CHECK(s.uncommitted() == 1);
  CHECK_FALSE(s.find(tid(1)));
  CHECK(specs_of(s.next_commit_batch(10)) == std::vector<std::string>{"two"});
}

TEST_CASE("lineage stash discard: thousands of rows over full segments",
          "[lineage]") {
  temp_dir dir{"discard-many"};
  lineage_stash s{dir.path};
  constexpr std::uint64_t n = 3 * lineage_stash::segment_rows + 7;
  for (std::uint64_t i = 1; i <= n; ++i)
    s.append(tid(i), "spec" + std::to_string(i), {});
  REQUIRE(s.uncommitted() == n);
  std::vector<task_id> odd;
  for (std::uint64_t i = 1; i <= n; i += 2)
    odd.push_back(tid(i));
  CHECK(s.discard(odd).dropped == odd.size());
  CHECK(s.uncommitted() == n - odd.size());
  std::vector<std::string> all;
  for (auto b = s.next_commit_batch(); !b.empty(); b = s.next_commit_batch()) {
    auto specs = specs_of(b);
    all.insert(all.end(), specs.begin(), specs.end());
    auto seq = b.seq;
    b.rows.reset();
    s.committed(seq);
  }
  REQUIRE(all.size() == n - odd.size());
  for (std::size_t k = 0; k < all.size(); ++k)
    CHECK(all[k] == "spec" + std::to_string(2 * (k + 1)));
  CHECK(s.committed_total() == n);
}

TEST_CASE("lineage stash ripen: only rows taken in before the last ripen go, "
          "and a collected one never does",
          "[lineage]") {
  temp_dir dir{"ripen"};
  lineage_stash s{dir.path};
  constexpr auto max = lineage_stash::segment_rows;
  // Tasks submitted on this node: their rows wait to ripen.
  auto spec_of = [](const std::shared_ptr<const lumen::detail::task_spec>& t) {
    std::string out;
    lumen::detail::append_task_spec(out, *t);
    return out;
  };
  auto one = task(1), two = task(2), three = task(3);
  s.append(one);
  s.append(two);
  CHECK(s.next_commit_batch(max, true).empty()); // nothing ripe yet
  s.take_in();
  CHECK(s.ripen() == 2);
  CHECK(s.ripen() == 0); // ripe already
  s.append(three);       // came after: waits a period more
  s.take_in();
  CHECK(s.discard({two->id}).dropped == 1); // collected while it waited
  auto ripe = s.next_commit_batch(max, true);
  CHECK(specs_of(ripe) == std::vector<std::string>{spec_of(one)});
  CHECK(s.next_commit_batch(max, true).empty());
  CHECK(s.ripen() == 1);
  auto next = s.next_commit_batch(max, true);
  CHECK(specs_of(next) == std::vector<std::string>{spec_of(three)});
}

TEST_CASE("lineage stash ripen: rows that came from peers go without "
          "ripening",
          "[lineage]") {
  temp_dir dir{"ripen-peer"};
  lineage_stash s{dir.path};
  constexpr auto max = lineage_stash::segment_rows;
  // A task sent here and the lineage it carried: this node's pins never
  // collect them, so they need not wait.
  s.append(tid(1), "one", {});
  s.append(tid(2), "two", {tid(1)});
  s.take_in();
  auto batch = s.next_commit_batch(max, true);
  CHECK(specs_of(batch) == std::vector<std::string>{"one", "two"});
  // A segment that also holds a row submitted here waits for its ripen.
  batch.rows.reset();
  s.committed(batch.seq);
  s.append(tid(3), "three", {});
  s.append(task(4));
  s.take_in();
  CHECK(s.next_commit_batch(max, true).empty());
  CHECK(s.ripen() == 2);
  CHECK(s.next_commit_batch(max, true).count == 2);
}

TEST_CASE("lineage stash discard: a dropped row that went to another node "
          "is still deleted from the GCS",
          "[lineage]") {
  temp_dir dir{"discard-shared"};
  lineage_stash s{dir.path};
  s.append(tid(1), "one", {});
  s.append(tid(2), "two", {tid(1)});
  s.append(tid(3), "three", {});
  // Task 2 goes to a peer with its uncommitted ancestor 1.
  std::vector<task_id> ids;
  CHECK(s.uncommitted_ancestors({tid(1)}, &ids) ==
        std::vector<std::string>{"one"});
  CHECK(ids == std::vector<task_id>{tid(1)});
  ids.push_back(tid(2));
  s.shared(ids);
  auto d = s.discard({tid(1), tid(2), tid(3)});
  CHECK(d.dropped == 3);
  std::sort(d.to_delete.begin(), d.to_delete.end());
  CHECK(d.to_delete == std::vector<task_id>{tid(1), tid(2)});
}

TEST_CASE("lineage stash discard: a shared id whose row had gone already is "
          "forgotten once the rows held then have gone",
          "[lineage]") {
  temp_dir dir{"discard-shared-late"};
  lineage_stash s{dir.path};
  commit_one(s, tid(1));
  // Shared after its row was committed (a task spilled back late), and an
  // id never stashed here: neither has a row that will go.
  s.shared({tid(1), tid(7)});
  CHECK(s.shared_ids() == 2);
  // Rows come and go; once those held when the ids became the older
  // generation have gone too, the ids are forgotten.
  for (std::uint64_t k = 10; k < 14; ++k)
    commit_one(s, tid(k));
  CHECK(s.shared_ids() == 0);
  // A shared row still here stays shared until it goes.
  s.append(tid(20), "twenty", {});
  REQUIRE(s.uncommitted() == 1);
  s.shared({tid(20)});
  for (std::uint64_t k = 30; k < 34; ++k)
    s.discard({tid(100 + k)}); // nothing of these is here
  CHECK(s.shared_ids() == 1);
  auto d = s.discard({tid(20)});
  CHECK(d.dropped == 1);
  CHECK(d.to_delete == std::vector<task_id>{tid(20)});
  CHECK(s.shared_ids() == 0);
}

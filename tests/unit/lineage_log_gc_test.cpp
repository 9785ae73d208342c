// lineage_log collection on a real RocksDB (and a scratch store): erased
// rows are gone, emptied batches are deleted, sparse ones rewritten, and
// a restart brings nothing erased back.
#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "lineage/lineage_log.hpp"
#include "storage/rocks_db.hpp"

using lumen::detail::lineage_log;
using lumen::detail::rocks_db;

namespace {

std::string fresh_dir(const std::string& tag) {
  auto p = std::filesystem::temp_directory_path() /
           ("lumen-lineage-gc-" + tag + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(p);
  return p.string();
}

std::uint64_t same_hash(std::string_view) {
  return 7;
}

std::vector<std::string> ids(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i)
    out.push_back("task-" + std::to_string(i));
  return out;
}

std::vector<std::string> specs_for(const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  for (auto& id : ids)
    out.push_back("spec of " + id + std::string(100, 's'));
  return out;
}

/// Bytes of blocks the scratch log's file takes (0 without one).
std::uint64_t file_blocks(const std::string& dir) {
  struct stat st {};
  auto path = dir + "/" + std::string{lineage_log::file_name};
  if (::stat(path.c_str(), &st) != 0)
    return 0;
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

void commit(lineage_log& log, const std::vector<std::string>& ids) {
  log.commit(ids, specs_for(ids), false);
}

} // namespace

TEST_CASE("lineage_log gc: erased rows are gone and an emptied batch is "
          "deleted",
          "[lineage][gc][storage]") {
  auto scratch = GENERATE(false, true);
  auto dir = fresh_dir("erase");
  auto db = std::make_shared<rocks_db>(dir, scratch);
  {
    lineage_log log{db};
    commit(log, ids(0, 3));
    commit(log, ids(3, 6));
    CHECK(log.size() == 6);
    CHECK(log.batches() == 2);
    auto full = log.bytes();
    CHECK(log.erase({"task-0", "task-1", "task-2", "nobody"}) == 3);
    CHECK(log.size() == 3);
    CHECK_FALSE(log.find("task-1"));
    CHECK(log.find("task-4"));
    CHECK(log.batches() == 1);
    CHECK(log.bytes() < full);
    CHECK(log.erase(ids(3, 6)) == 3);
    CHECK(log.size() == 0);
    CHECK(log.batches() == 0);
    CHECK(log.bytes() == 0);
    CHECK(log.erase(ids(3, 6)) == 0); // twice is harmless
  }
  CHECK(db->count(lineage_log::prefix) == 0);
  CHECK(db->count(lineage_log::dead_prefix) == 0);
  db.reset();
  rocks_db::destroy(dir);
}

TEST_CASE("lineage_log gc: rows erased from a batch that stays do not come "
          "back after a restart, nor their older copies",
          "[lineage][gc][storage]") {
  auto dir = fresh_dir("restart");
  {
    lineage_log log{std::make_shared<rocks_db>(dir)};
    commit(log, {"b"});                     // an older copy of b
    commit(log, {"a", "b", "c", "d", "e"}); // b's newest
    CHECK(log.erase({"b", "d"}) == 2);
    CHECK(log.batches() == 1); // the old copy's batch went with it
    CHECK(log.size() == 3);
  }
  std::vector<std::string> skipped;
  {
    lineage_log log{std::make_shared<rocks_db>(dir)};
    log.load(skipped);
    CHECK(skipped.empty());
    CHECK(log.size() == 3);
    CHECK_FALSE(log.find("b"));
    CHECK_FALSE(log.find("d"));
    CHECK(log.find("a"));
    CHECK(log.find("e"));
    // The rest goes too, and the batch with its list of erased rows.
    CHECK(log.erase({"a", "c", "e"}) == 3);
    CHECK(log.batches() == 0);
  }
  lineage_log again{std::make_shared<rocks_db>(dir)};
  again.load(skipped);
  CHECK(again.size() == 0);
  rocks_db::destroy(dir);
}

TEST_CASE("lineage_log gc: a copy committed soon after the erase is not "
          "kept",
          "[lineage][gc][storage]") {
  auto scratch = GENERATE(false, true);
  auto dir = fresh_dir("tombstone");
  lineage_log log{std::make_shared<rocks_db>(dir, scratch)};
  commit(log, {"x", "y"});
  CHECK(log.erase({"x", "z"}) == 1);
  // Another node forwarded x and z and commits its copies now.
  commit(log, {"x", "z", "w"});
  CHECK_FALSE(log.find("x"));
  CHECK_FALSE(log.find("z"));
  CHECK(log.find("w"));
  CHECK(log.size() == 2);
  rocks_db::destroy(dir);
}

TEST_CASE("lineage_log gc: a batch left sparse is rewritten with its live "
          "rows",
          "[lineage][gc][storage]") {
  auto scratch = GENERATE(false, true);
  auto dir = fresh_dir("sparse");
  {
    lineage_log log{std::make_shared<rocks_db>(dir, scratch)};
    commit(log, ids(0, 40));
    auto full = log.bytes();
    CHECK(log.erase(ids(0, 35)) == 35);
    CHECK(log.size() == 5);
    CHECK(log.batches() == 1);
    CHECK(log.bytes() * 4 < full);
    for (auto& id : ids(35, 40))
      CHECK(log.find(id) == specs_for({id})[0]);
    CHECK_FALSE(log.find("task-3"));
    // It is erased like any other.
    CHECK(log.erase(ids(35, 38)) == 3);
    CHECK(log.size() == 2);
  }
  if (!scratch) {
    lineage_log log{std::make_shared<rocks_db>(dir)};
    std::vector<std::string> skipped;
    log.load(skipped);
    CHECK(log.size() == 2);
    CHECK(log.find("task-38"));
    CHECK(log.find("task-39"));
    CHECK_FALSE(log.find("task-37"));
  }
  rocks_db::destroy(dir);
}

TEST_CASE("lineage_log gc: ids whose hashes collide are erased apart",
          "[lineage][gc][storage]") {
  auto dir = fresh_dir("collide");
  {
    lineage_log log{std::make_shared<rocks_db>(dir), &same_hash};
    commit(log, {"p", "q", "r"});
    CHECK(log.erase({"q"}) == 1);
    CHECK(log.find("p"));
    CHECK_FALSE(log.find("q"));
    CHECK(log.find("r"));
    CHECK(log.erase({"p"}) == 1);
    CHECK(log.find("r"));
    CHECK(log.size() == 1);
  }
  lineage_log log{std::make_shared<rocks_db>(dir), &same_hash};
  std::vector<std::string> skipped;
  log.load(skipped);
  CHECK(log.size() == 1);
  CHECK(log.find("r"));
  rocks_db::destroy(dir);
}

TEST_CASE("lineage_log gc: erasing every row of many batches leaves "
          "neither rows nor index behind",
          "[lineage][gc][storage]") {
  auto scratch = GENERATE(false, true);
  auto dir = fresh_dir("many");
  auto db = std::make_shared<rocks_db>(dir, scratch);
  {
    lineage_log log{db};
    constexpr int batch = 4096;
    constexpr int n = 25 * batch;
    for (int i = 0; i < n; i += batch)
      commit(log, ids(i, i + batch));
    CHECK(log.size() == static_cast<std::uint64_t>(n));
    auto blocks_before = file_blocks(dir);
    // Erased in a different order than committed, in chunks.
    for (int i = n; i > 0; i -= 1000)
      log.erase(ids(std::max(0, i - 1000), i));
    CHECK(log.size() == 0);
    CHECK(log.batches() == 0);
    CHECK(log.bytes() == 0);
    // The index still works after all those removals.
    commit(log, {"late"});
    CHECK(log.find("late"));
    CHECK_FALSE(log.find("task-7"));
    CHECK(log.size() == 1);
    if (scratch) {
      // The batches' blocks went back to the file system (holes); what
      // is allocated ahead of the end stays.
      INFO("blocks before " << blocks_before << ", after " << file_blocks(dir));
      CHECK(file_blocks(dir) + (12u << 20) < blocks_before);
    }
  }
  if (!scratch)
    CHECK(db->count(lineage_log::prefix) == 1);
  db.reset();
  rocks_db::destroy(dir);
}

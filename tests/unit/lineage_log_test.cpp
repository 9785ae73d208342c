// lineage_log on a real RocksDB in a fresh directory: batches, the index,
// reopening, retries, hash collisions and damaged rows.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "lineage/lineage_log.hpp"
#include "lumen/error.hpp"
#include "storage/rocks_db.hpp"
#include "wire/lineage_batch.hpp"

using lumen::detail::append_lineage_row;
using lumen::detail::begin_lineage_row;
using lumen::detail::count_lineage_rows;
using lumen::detail::end_lineage_row;
using lumen::detail::lineage_log;
using lumen::detail::rocks_db;
using lumen::detail::split_lineage_batch;

namespace {

std::string fresh_dir(const std::string& tag) {
  auto p = std::filesystem::temp_directory_path() /
           ("lumen-lineage-log-" + tag + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(p);
  return p.string();
}

/// Every id collides with every other.
std::uint64_t same_hash(std::string_view) {
  return 7;
}

std::string spec_of(const std::optional<std::string>& s) {
  return s ? *s : std::string{"<none>"};
}

} // namespace

TEST_CASE("lineage batch: a row written in place reads like an appended one",
          "[lineage]") {
  std::string appended;
  append_lineage_row(appended, "id-1", "spec one");
  append_lineage_row(appended, "id-2", "");
  std::string in_place;
  auto mark = begin_lineage_row(in_place, "id-1");
  in_place += "spec";
  in_place += " one";
  end_lineage_row(in_place, mark);
  end_lineage_row(in_place, begin_lineage_row(in_place, "id-2"));
  CHECK(in_place == appended);
  auto rows = split_lineage_batch(in_place);
  REQUIRE(rows);
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].first.spec == "spec one");
  CHECK((*rows)[1].first.id == "id-2");
  CHECK_THROWS_AS(begin_lineage_row(in_place, ""), lumen::error);
}

TEST_CASE("lineage batch: rows are counted, and a malformed batch is not",
          "[lineage]") {
  std::string batch;
  CHECK(count_lineage_rows(batch) == std::optional<std::size_t>{0});
  append_lineage_row(batch, "id-1", "spec one");
  append_lineage_row(batch, "id-2", "");
  append_lineage_row(batch, "id-3", "spec three");
  CHECK(count_lineage_rows(batch) == std::optional<std::size_t>{3});
  // Cut anywhere inside the last row: its sizes run past the end.
  for (std::size_t cut = 1; cut < 4 + 4 + 4 + 10; ++cut)
    CHECK_FALSE(count_lineage_rows(
      std::string_view{batch}.substr(0, batch.size() - cut)));
  // A row with an empty id, between good ones.
  std::string empty_id = batch;
  empty_id.append(4, '\0');
  append_lineage_row(empty_id, "id-4", "spec four");
  CHECK_FALSE(count_lineage_rows(empty_id));
  CHECK_FALSE(split_lineage_batch(empty_id));
}

TEST_CASE("lineage_log: batches are found again after reopening",
          "[lineage][storage]") {
  auto dir = fresh_dir("reopen");
  {
    lineage_log log{std::make_shared<rocks_db>(dir)};
    std::vector<std::string> skipped;
    log.load(skipped);
    CHECK(skipped.empty());
    log.commit({"a", "b"}, {"spec-a", "spec-b"}, true);
    log.commit({"c"}, {std::string("c\0c", 3)}, false);
    CHECK(log.size() == 3);
    CHECK(spec_of(log.find("b")) == "spec-b");
    CHECK_FALSE(log.find("d"));
  }
  lineage_log log{std::make_shared<rocks_db>(dir)};
  std::vector<std::string> skipped;
  log.load(skipped);
  CHECK(skipped.empty());
  CHECK(log.size() == 3);
  CHECK(spec_of(log.find("a")) == "spec-a");
  CHECK(spec_of(log.find("c")) == std::string("c\0c", 3));
  // New batches go after the old ones, never over them.
  log.commit({"d"}, {"spec-d"}, false);
  CHECK(log.size() == 4);
  CHECK(spec_of(log.find("a")) == "spec-a");
  CHECK(spec_of(log.find("d")) == "spec-d");
  rocks_db::destroy(dir);
}

TEST_CASE("lineage_log: a commit without load keeps the earlier batches",
          "[lineage][storage]") {
  auto dir = fresh_dir("noload");
  {
    lineage_log log{std::make_shared<rocks_db>(dir)};
    log.commit({"a"}, {"1"}, false);
  }
  lineage_log log{std::make_shared<rocks_db>(dir)};
  log.commit({"b"}, {"2"}, false);
  CHECK(log.size() == 2);
  CHECK(spec_of(log.find("a")) == "1");
  CHECK(spec_of(log.find("b")) == "2");
  rocks_db::destroy(dir);
}

TEST_CASE("lineage_log: a task committed again counts once and reads newest",
          "[lineage][storage]") {
  auto scratch = GENERATE(false, true);
  auto dir = fresh_dir("again");
  lineage_log log{std::make_shared<rocks_db>(dir, scratch)};
  log.commit({"x", "y", "x"}, {"1", "2", "3"}, false);
  CHECK(log.size() == 2);
  CHECK(spec_of(log.find("x")) == "3");
  log.commit({"y", "z"}, {"4", "5"}, false);
  CHECK(log.size() == 3);
  CHECK(spec_of(log.find("y")) == "4");
  rocks_db::destroy(dir);
}

TEST_CASE("lineage_log: a scratch store's batches go to one file",
          "[lineage][storage]") {
  auto dir = fresh_dir("scratch");
  {
    // What an earlier run left in the file is not read.
    std::filesystem::create_directories(dir);
    std::ofstream{dir + "/" + std::string{lineage_log::file_name}}
      << "left over";
  }
  auto db = std::make_shared<rocks_db>(dir, true);
  {
    lineage_log log{db, &same_hash}; // collisions read batches back
    std::vector<std::string> skipped;
    log.load(skipped);
    CHECK(skipped.empty());
    CHECK(log.size() == 0);
    log.commit({"p", "q"}, {"P", "Q"}, false);
    log.commit({"r", "q"}, {"R", "Q2"}, true);
    CHECK(log.size() == 3);
    CHECK(spec_of(log.find("p")) == "P");
    CHECK(spec_of(log.find("q")) == "Q2");
    CHECK(spec_of(log.find("r")) == "R");
    CHECK_FALSE(log.find("s"));
    CHECK_THROWS_AS(log.commit(std::string("\x04\0\0\0ab", 6), false),
                    lumen::error);
    CHECK(spec_of(log.find("r")) == "R");
    // The file's blocks are allocated ahead of what was written (where
    // the file system can: ext4 and tmpfs can); its size is not.
    auto path = dir + "/" + std::string{lineage_log::file_name};
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(static_cast<std::uint64_t>(st.st_blocks) * 512 >= (1u << 20));
  }
  // Both batches, back to back, and no RocksDB rows for them.
  std::string expected;
  append_lineage_row(expected, "p", "P");
  append_lineage_row(expected, "q", "Q");
  append_lineage_row(expected, "r", "R");
  append_lineage_row(expected, "q", "Q2");
  std::ifstream in{dir + "/" + std::string{lineage_log::file_name}};
  std::string file{std::istreambuf_iterator<char>{in}, {}};
  CHECK(file == expected);
  CHECK(db->count(lineage_log::prefix) == 0);
  db.reset();
  rocks_db::destroy(dir);
}

TEST_CASE("lineage_log: ids whose hashes collide stay apart",
          "[lineage][storage]") {
  auto dir = fresh_dir("collide");
  {
    lineage_log log{std::make_shared<rocks_db>(dir), &same_hash};
    log.commit({"p", "q"}, {"P", "Q"}, false);
    log.commit({"r", "q", "p"}, {"R", "Q2", "P2"}, false);
    CHECK(log.size() == 3);
    CHECK(spec_of(log.find("p")) == "P2");
    CHECK(spec_of(log.find("q")) == "Q2");
    CHECK(spec_of(log.find("r")) == "R");
    CHECK_FALSE(log.find("s"));
  }
  lineage_log log{std::make_shared<rocks_db>(dir), &same_hash};
  std::vector<std::string> skipped;
  log.load(skipped);
  CHECK(log.size() == 3);
  CHECK(spec_of(log.find("p")) == "P2");
  CHECK(spec_of(log.find("q")) == "Q2");
  CHECK(spec_of(log.find("r")) == "R");
  rocks_db::destroy(dir);
}

TEST_CASE("lineage_log: damaged batches are skipped and reported",
          "[lineage][storage]") {
  auto dir = fresh_dir("damaged");
  {
    auto db = std::make_shared<rocks_db>(dir);
    lineage_log log{db};
    log.commit({"good"}, {"G"}, false);
    // A truncated record, a record with an empty id, a key of bad size.
    db->put(lineage_log::key_of(5), std::string("\x04\0\0\0ab", 6), false);
    db->put(lineage_log::key_of(6), std::string("\0\0\0\0\0\0\0\0", 8), false);
    db->put(std::string{lineage_log::prefix} + "short", "x", false);
  }
  lineage_log log{std::make_shared<rocks_db>(dir)};
  std::vector<std::string> skipped;
  log.load(skipped);
  CHECK(skipped.size() == 3);
  CHECK(log.size() == 1);
  CHECK(spec_of(log.find("good")) == "G");
  // The next batch goes after the damaged ones.
  log.commit({"next"}, {"N"}, false);
  CHECK(spec_of(log.find("next")) == "N");
  rocks_db::destroy(dir);
}

TEST_CASE("lineage_log: the index grows and keeps every row",
          "[lineage][storage]") {
  auto scratch = GENERATE(false, true);
  auto dir = fresh_dir("grow");
  {
    lineage_log log{std::make_shared<rocks_db>(dir, scratch)};
    // 20 batches of 500: the table grows past its first 1024 slots.
    for (int b = 0; b < 20; ++b) {
      std::vector<std::string> ids;
      std::vector<std::string> specs;
      for (int k = 0; k < 500; ++k) {
        ids.push_back("id-" + std::to_string(b * 500 + k));
        specs.push_back("spec-" + std::to_string(b * 500 + k));
      }
      log.commit(ids, specs, false);
    }
    CHECK(log.size() == 10'000);
    bool all = true;
    for (int n = 0; n < 10'000; n += 7)
      all = all && spec_of(log.find("id-" + std::to_string(n))) ==
                     "spec-" + std::to_string(n);
    CHECK(all);
    CHECK_FALSE(log.find("id-10000"));
  }
  rocks_db::destroy(dir);
}

TEST_CASE("lineage_log: rows are indexed by the first look-up after commit",
          "[lineage][storage]") {
  auto scratch = GENERATE(false, true);
  auto dir = fresh_dir("lazy");
  lineage_log log{std::make_shared<rocks_db>(dir, scratch)};
  // Three batches before any look-up, "a" in the first and the third.
  log.commit({"a", "b"}, {"a1", "b1"}, false);
  log.commit({"c"}, {"c1"}, false);
  log.commit({"a", "d"}, {"a2", "d1"}, false);
  CHECK(spec_of(log.find("a")) == "a2");
  CHECK(spec_of(log.find("b")) == "b1");
  CHECK(log.size() == 4);
  // What comes after a look-up is found by the next one.
  log.commit({"e", "b"}, {"e1", "b2"}, false);
  CHECK(log.size() == 5);
  CHECK(spec_of(log.find("e")) == "e1");
  CHECK(spec_of(log.find("b")) == "b2");
  CHECK(spec_of(log.find("c")) == "c1");
  CHECK_FALSE(log.find("f"));
  // A malformed batch is still refused at commit, and nothing of it shows.
  CHECK_THROWS_AS(log.commit(std::string_view{"\x05\x00\x00\x00zz", 6}, false),
                  lumen::error);
  CHECK(log.size() == 5);
  rocks_db::destroy(dir);
}

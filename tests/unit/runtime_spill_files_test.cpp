// Unit tests of spill files (src/objects/spill_files.hpp): real files in a
// real temporary directory.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "lumen/detail/byte_buffer.hpp"
#include "lumen/ids.hpp"
#include "objects/spill_files.hpp"
#include "spill_test_support.hpp"

using lumen::object_id;
using lumen::task_id;
using lumen::detail::byte_buffer;
using lumen::detail::spill_files;
using spill_test::files_in;
using spill_test::temp_dir;

namespace {

object_id sf_id(std::uint64_t n) {
  return object_id{task_id{0x5b111u, n}, 1};
}

std::string pattern(std::size_t n, unsigned seed) {
  std::string result(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    result[i] = static_cast<char>((i * 131 + seed * 7) & 0xff);
  return result;
}

std::string as_string(const byte_buffer& b) {
  return std::string(b.data(), b.size());
}

} // namespace

TEST_CASE("spill_files: a written file reads back byte for byte",
          "[runtime][spill]") {
  temp_dir tmp;
  spill_files files{tmp.sub("node"), 0};
  auto bytes = pattern(100000, 1);
  std::string why;
  auto f = files.write(sf_id(1), bytes.data(), bytes.size(), &why);
  REQUIRE(f);
  CHECK(why.empty());
  CHECK(f->size == bytes.size());
  CHECK(std::filesystem::file_size(f->path) == bytes.size());
  CHECK(files.used_bytes() == bytes.size());
  CHECK(files.file_count() == 1);
  byte_buffer out;
  out.append("stale", 5); // replaced, not appended to
  REQUIRE(files.read(*f, out, &why));
  CHECK(as_string(out) == bytes);
}

TEST_CASE("spill_files: the directory is made, parents too, with the first "
          "file",
          "[runtime][spill]") {
  temp_dir tmp;
  auto dir = tmp.sub("a/b/node");
  spill_files files{dir, 0};
  CHECK_FALSE(std::filesystem::exists(dir));
  std::string why;
  REQUIRE(files.write(sf_id(1), "x", 1, &why));
  CHECK(std::filesystem::is_directory(dir));
  CHECK(files_in(dir).size() == 1);
}

TEST_CASE("spill_files: an empty value makes an empty file",
          "[runtime][spill]") {
  temp_dir tmp;
  spill_files files{tmp.sub("node"), 0};
  std::string why;
  auto f = files.write(sf_id(1), nullptr, 0, &why);
  REQUIRE(f);
  byte_buffer out;
  REQUIRE(files.read(*f, out, &why));
  CHECK(out.size() == 0);
}

TEST_CASE("spill_files: the same id twice gets two files", "[runtime][spill]") {
  temp_dir tmp;
  spill_files files{tmp.sub("node"), 0};
  std::string why;
  auto a = files.write(sf_id(7), "aaaa", 4, &why);
  auto b = files.write(sf_id(7), "bb", 2, &why);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->path != b->path);
  files.remove(*a);
  byte_buffer out;
  REQUIRE(files.read(*b, out, &why));
  CHECK(as_string(out) == "bb");
}

TEST_CASE("spill_files: writes past the capacity fail and leave no file",
          "[runtime][spill]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  spill_files files{dir, 1000};
  CHECK(files.capacity() == 1000);
  auto bytes = pattern(600, 2);
  std::string why;
  auto a = files.write(sf_id(1), bytes.data(), bytes.size(), &why);
  REQUIRE(a);
  auto b = files.write(sf_id(2), bytes.data(), bytes.size(), &why);
  CHECK_FALSE(b);
  CHECK_THAT(why, Catch::Contains("is full") && Catch::Contains(dir) &&
                    Catch::Contains("600 of 1000 bytes used"));
  CHECK(files.used_bytes() == 600);
  CHECK(files_in(dir).size() == 1);
  // Removing a file gives its bytes back.
  files.remove(*a);
  CHECK(files.used_bytes() == 0);
  CHECK(files.file_count() == 0);
  CHECK(files_in(dir).empty());
  why.clear();
  CHECK(files.write(sf_id(2), bytes.data(), bytes.size(), &why));
}

TEST_CASE("spill_files: concurrent writers never pass the capacity",
          "[runtime][spill][concurrency]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  spill_files files{dir, 10 * 1000};
  auto bytes = pattern(1000, 3);
  std::vector<std::thread> threads;
  std::vector<int> written(8, 0);
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        std::string why;
        if (files.write(sf_id(static_cast<std::uint64_t>(t * 100 + i)),
                        bytes.data(), bytes.size(), &why))
          ++written[static_cast<std::size_t>(t)];
      }
    });
  for (auto& t : threads)
    t.join();
  int total = 0;
  for (auto n : written)
    total += n;
  CHECK(total == 10);
  CHECK(files.used_bytes() == 10 * 1000);
  CHECK(files_in(dir).size() == 10);
}

TEST_CASE("spill_files: a directory that cannot be made fails the write",
          "[runtime][spill]") {
  temp_dir tmp;
  // A regular file where a parent directory should be.
  std::ofstream{tmp.sub("blocker")} << "x";
  spill_files files{tmp.sub("blocker/node"), 0};
  std::string why;
  CHECK_FALSE(files.write(sf_id(1), "abc", 3, &why));
  CHECK_THAT(why, Catch::Contains("cannot make the spill directory"));
  CHECK(files.used_bytes() == 0);
}

TEST_CASE("spill_files: a missing or truncated file fails the read",
          "[runtime][spill]") {
  temp_dir tmp;
  spill_files files{tmp.sub("node"), 0};
  auto bytes = pattern(5000, 4);
  std::string why;
  auto f = files.write(sf_id(1), bytes.data(), bytes.size(), &why);
  REQUIRE(f);
  std::filesystem::resize_file(f->path, 100);
  byte_buffer out;
  CHECK_FALSE(files.read(*f, out, &why));
  CHECK_THAT(why, Catch::Contains("holds 100 bytes, expected 5000"));
  std::filesystem::remove(f->path);
  why.clear();
  CHECK_FALSE(files.read(*f, out, &why));
  CHECK_THAT(why, Catch::Contains("cannot open"));
}

TEST_CASE("spill_files: remove_all deletes the directory and ends writing",
          "[runtime][spill]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  spill_files files{dir, 0};
  std::string why;
  for (std::uint64_t i = 0; i < 5; ++i)
    REQUIRE(files.write(sf_id(i), "abc", 3, &why));
  files.remove_all();
  CHECK_FALSE(std::filesystem::exists(dir));
  CHECK(std::filesystem::exists(tmp.path())); // only the node's own
  CHECK_FALSE(files.write(sf_id(9), "abc", 3, &why));
  CHECK_THAT(why, Catch::Contains("removed at shutdown"));
  files.remove_all(); // twice is harmless
}

TEST_CASE("spill_files: remove_all before any write leaves nothing behind",
          "[runtime][spill]") {
  temp_dir tmp;
  auto dir = tmp.sub("node");
  {
    spill_files files{dir, 0};
    files.remove_all();
  }
  CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("spill files: remove_dead removes the directories of ended "
          "owners only, and the directory is private",
          "[spill][security]") {
  temp_dir tmp;
  auto root = tmp.path() + "/spill";
  std::string why;
  spill_files live{root + "/lumen-spill-live", 0};
  auto data = pattern(1000, 1);
  auto f = live.write(sf_id(1), data.data(), data.size(), &why);
  REQUIRE(f);
  namespace fs = std::filesystem;
  CHECK((fs::status(root).permissions() & fs::perms::all) ==
        fs::perms::owner_all);
  CHECK((fs::status(root + "/lumen-spill-live").permissions() &
         fs::perms::all) == fs::perms::owner_all);
  CHECK((fs::status(f->path).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  // An owner that ended: nobody holds its directory locked.
  {
    spill_files dead{root + "/lumen-spill-dead", 0};
    REQUIRE(dead.write(sf_id(2), data.data(), data.size(), &why));
  } // the destructor releases the lock and leaves the files, as a kill would
  REQUIRE(fs::exists(root + "/lumen-spill-dead"));
  // One of an older version (never locked): nobody holds it either.
  fs::create_directories(root + "/lumen-spill-old");
  // Not a spill directory: left alone.
  fs::create_directories(root + "/other");
  CHECK(spill_files::remove_dead(root) == 2);
  CHECK_FALSE(fs::exists(root + "/lumen-spill-dead"));
  CHECK_FALSE(fs::exists(root + "/lumen-spill-old"));
  CHECK(fs::exists(root + "/other"));
  // The live one is kept, and reads back.
  byte_buffer back;
  REQUIRE(live.read(*f, back, &why));
  CHECK(as_string(back) == data);
  CHECK(spill_files::remove_dead(root) == 0);
  live.remove_all();
  CHECK_FALSE(fs::exists(root + "/lumen-spill-live"));
}

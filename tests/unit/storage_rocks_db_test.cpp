// rocks_db on a real RocksDB in a fresh directory.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <unistd.h>

#include "lumen/error.hpp"
#include "storage/rocks_db.hpp"

namespace {

std::string fresh_dir(const std::string& tag) {
  auto p = std::filesystem::temp_directory_path() /
           ("lumen-kv-" + tag + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(p);
  return p.string();
}

} // namespace

TEST_CASE("rocks_db: rows survive closing and reopening", "[storage]") {
  auto dir = fresh_dir("reopen");
  {
    lumen::detail::rocks_db db{dir};
    lumen::detail::rocks_db::batch b;
    b.put("node/a", "1");
    b.put("node/b", "2");
    b.put("actor/x", "3");
    db.write(b, true);
    db.put("node/c", "4", false);
    db.erase("node/b", true);
  }
  lumen::detail::rocks_db db{dir};
  CHECK(db.get("node/a") == std::optional<std::string>{"1"});
  CHECK_FALSE(db.get("node/b"));
  CHECK(db.get("node/c") == std::optional<std::string>{"4"});
  CHECK(db.count("node/") == 2);
  CHECK(db.count("actor/") == 1);
  std::string keys;
  db.scan("node/", [&](std::string_view k, std::string_view v) {
    keys += std::string{k} + "=" + std::string{v} + ";";
    return true;
  });
  CHECK(keys == "node/a=1;node/c=4;");
  lumen::detail::rocks_db::destroy(dir);
}

TEST_CASE("rocks_db: an unusable path is a clear error", "[storage]") {
  CHECK_THROWS_WITH(lumen::detail::rocks_db{"/proc/lumen-no-such/db"},
                    Catch::Contains("/proc/lumen-no-such/db"));
}

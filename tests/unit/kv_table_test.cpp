// Unit tests of the GCS's key-value table (src/gcs/kv_table.hpp):
// every operation, namespaces, prefixes and the size limits.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "gcs/kv_table.hpp"
#include "lumen/error.hpp"

using namespace lumen;
using namespace lumen::detail;

using strings = std::vector<std::string>;

TEST_CASE("kv table: put, get, exists and overwrite", "[cluster][kv]") {
  kv_table kv;
  CHECK(kv.size() == 0);
  CHECK_FALSE(kv.get("", "k"));
  CHECK_FALSE(kv.exists("", "k"));
  CHECK(kv.put("", "k", "v1", false));
  CHECK(kv.get("", "k") == std::string{"v1"});
  CHECK(kv.exists("", "k"));
  CHECK(kv.size() == 1);
  // Without overwrite an existing key keeps its value.
  CHECK_FALSE(kv.put("", "k", "v2", false));
  CHECK(kv.get("", "k") == std::string{"v1"});
  CHECK(kv.put("", "k", "v3", true));
  CHECK(kv.get("", "k") == std::string{"v3"});
  CHECK(kv.size() == 1);
  // Overwrite also creates; empty and binary values are values.
  CHECK(kv.put("", "e", "", true));
  CHECK(kv.get("", "e") == std::string{});
  std::string binary{"a\0b", 3};
  CHECK(kv.put("", "b", binary, false));
  CHECK(kv.get("", "b") == binary);
  CHECK(kv.size() == 3);
}

TEST_CASE("kv table: namespaces are separate", "[cluster][kv]") {
  kv_table kv;
  CHECK(kv.put("a", "k", "in a", false));
  CHECK(kv.put("b", "k", "in b", false));
  CHECK(kv.put("", "k", "default", false));
  CHECK(kv.size() == 3);
  CHECK(kv.get("a", "k") == std::string{"in a"});
  CHECK(kv.get("b", "k") == std::string{"in b"});
  CHECK(kv.get("", "k") == std::string{"default"});
  CHECK_FALSE(kv.exists("c", "k"));
  CHECK(kv.del("a", "k"));
  CHECK_FALSE(kv.exists("a", "k"));
  CHECK(kv.exists("b", "k"));
  CHECK(kv.keys("a", "").empty());
  CHECK(kv.keys("b", "") == strings{"k"});
}

TEST_CASE("kv table: del", "[cluster][kv]") {
  kv_table kv;
  CHECK_FALSE(kv.del("ns", "k"));
  kv.put("ns", "k", "v", false);
  kv.put("ns", "j", "v", false);
  CHECK(kv.del("ns", "k"));
  CHECK_FALSE(kv.del("ns", "k"));
  CHECK_FALSE(kv.get("ns", "k"));
  CHECK(kv.size() == 1);
  CHECK(kv.del("ns", "j"));
  CHECK(kv.size() == 0);
  // A deleted key can be put again without overwrite.
  CHECK(kv.put("ns", "k", "again", false));
  CHECK(kv.get("ns", "k") == std::string{"again"});
}

TEST_CASE("kv table: keys by prefix, sorted", "[cluster][kv]") {
  kv_table kv;
  for (auto k : {"job/2", "job/10", "actor/x", "job/1", "jo", "jobs", "k"})
    kv.put("ns", k, "v", false);
  kv.put("other", "job/3", "v", false);
  CHECK(kv.keys("ns", "job/") == strings{"job/1", "job/10", "job/2"});
  CHECK(kv.keys("ns", "job") == strings{"job/1", "job/10", "job/2", "jobs"});
  CHECK(kv.keys("ns", "") ==
        strings{"actor/x", "jo", "job/1", "job/10", "job/2", "jobs", "k"});
  CHECK(kv.keys("ns", "job/10") == strings{"job/10"});
  CHECK(kv.keys("ns", "zzz").empty());
  CHECK(kv.keys("none", "").empty());
}

TEST_CASE("kv table: limits throw naming the limit and change nothing",
          "[cluster][kv]") {
  kv_table kv;
  std::string max_key(kv_max_key_size, 'k');
  std::string max_ns(kv_max_namespace_size, 'n');
  CHECK(kv_max_key_size == 1024);
  CHECK(kv_max_namespace_size == 256);
  CHECK(kv_max_value_size == 64u * 1024 * 1024);
  // At the limits: accepted.
  CHECK(kv.put(max_ns, max_key, std::string(kv_max_value_size, 'v'), false));
  CHECK(kv.get(max_ns, max_key)->size() == kv_max_value_size);
  CHECK(kv.keys(max_ns, max_key) == strings{max_key});
  // One byte over: rejected.
  auto long_key = max_key + 'k';
  auto long_ns = max_ns + 'n';
  CHECK_THROWS_WITH(kv.put("", long_key, "v", true), Catch::Contains("1 KiB"));
  CHECK_THROWS_WITH(kv.put(long_ns, "k", "v", true), Catch::Contains("256"));
  CHECK_THROWS_WITH(
    kv.put("", "k", std::string(kv_max_value_size + 1, 'v'), true),
    Catch::Contains("64 MiB"));
  CHECK_THROWS_WITH(kv.put("", "", "v", true), Catch::Contains("empty"));
  CHECK(kv.size() == 1);
  CHECK_FALSE(kv.exists("", "k"));
  // Every operation checks its arguments.
  CHECK_THROWS_AS(kv.get("", long_key), error);
  CHECK_THROWS_AS(kv.get(long_ns, "k"), error);
  CHECK_THROWS_AS(kv.exists("", long_key), error);
  CHECK_THROWS_AS(kv.exists(long_ns, "k"), error);
  CHECK_THROWS_AS(kv.del("", long_key), error);
  CHECK_THROWS_AS(kv.del(long_ns, "k"), error);
  CHECK_THROWS_AS(kv.keys(long_ns, ""), error);
  CHECK_THROWS_AS(kv.keys("", long_key), error);
  CHECK_THROWS_AS(kv.get("", ""), error);
}

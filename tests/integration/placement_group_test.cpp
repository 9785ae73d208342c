// Placement groups and the key-value table on the embedded one-node cluster.
#include <catch2/catch.hpp>

#include <lumen/lumen.hpp>

#include "node/embedded_runtime.hpp"

using namespace std::chrono_literals;

namespace {

int pgt_twice(int x) {
  return 2 * x;
}

struct PgtBox {
  static PgtBox* create(int v) {
    return new PgtBox{v};
  }

  int value() {
    return v;
  }

  int v = 0;
};

double free_cpus() {
  auto s = lumen::detail::current_embedded_runtime()->snapshot();
  return s.available.count("CPU") ? s.available.at("CPU") : 0.0;
}

} // namespace

LUMEN_REMOTE(pgt_twice, PgtBox::create, &PgtBox::value);

TEST_CASE("placement group: a placed group reserves its bundles and runs "
          "tasks and actors in them",
          "[placement_group]") {
  lumen::init_guard g{lumen::config{.num_cpus = 2}};
  auto pg = lumen::create_placement_group({{{"CPU", 1}}, {{"CPU", 1}}},
                                          lumen::pg_strategy::pack);
  REQUIRE(pg.valid());
  CHECK(pg.bundle_count() == 2);
  REQUIRE(pg.wait(10s));
  // Both CPUs moved into the bundles: a plain task has none left...
  bool drained = false;
  for (int i = 0; i < 100 && !drained; ++i) {
    drained = free_cpus() == 0;
    std::this_thread::sleep_for(10ms);
  }
  CHECK(drained);
  auto outside = lumen::task(pgt_twice).remote(1);
  CHECK_THROWS_AS(lumen::get(outside, 200ms), lumen::timeout_error);
  // ...while tasks in the group run in its bundles.
  CHECK(lumen::get(lumen::task(pgt_twice).placement_group(pg, 0).remote(3),
                   10s) == 6);
  CHECK(lumen::get(lumen::task(pgt_twice).placement_group(pg).remote(4), 10s) ==
        8);
  auto box =
    lumen::actor(PgtBox::create).num_cpus(1).placement_group(pg, 1).remote(5);
  CHECK(lumen::get(box.task(&PgtBox::value).remote(), 10s) == 5);
  lumen::kill(box);
  // Removing the group gives the CPUs back: the waiting task runs.
  lumen::remove_placement_group(pg);
  CHECK(lumen::get(outside, 10s) == 2);
}

TEST_CASE("placement group: a group that cannot be placed waits, and a bad "
          "bundle index is an error",
          "[placement_group]") {
  lumen::init_guard g{lumen::config{.num_cpus = 2}};
  // strict_spread needs two nodes; there is one.
  auto pg = lumen::create_placement_group({{{"CPU", 1}}, {{"CPU", 1}}},
                                          lumen::pg_strategy::strict_spread);
  CHECK_FALSE(pg.wait(300ms));
  CHECK_THROWS_AS(lumen::task(pgt_twice).placement_group(pg, 2), lumen::error);
  CHECK_THROWS_AS(lumen::task(pgt_twice).placement_group(pg, -2), lumen::error);
  lumen::remove_placement_group(pg);
  CHECK_FALSE(pg.wait(100ms));
  CHECK_THROWS_AS(lumen::create_placement_group({}), lumen::error);
  CHECK_THROWS_AS(lumen::create_placement_group({{}}), lumen::error);
  CHECK_THROWS_AS(lumen::create_placement_group({{{"CPU", -1}}}), lumen::error);
  // strict_pack fits both on the one node.
  auto packed = lumen::create_placement_group({{{"CPU", 1}}, {{"CPU", 1}}},
                                              lumen::pg_strategy::strict_pack);
  CHECK(packed.wait(10s));
}

TEST_CASE("kv: put, get, overwrite, delete and list keys", "[kv]") {
  lumen::init_guard g{lumen::config{.num_cpus = 1}};
  CHECK(lumen::kv::put("a/1", "one"));
  CHECK(lumen::kv::put("a/2", "two"));
  CHECK(lumen::kv::put("b/1", "three"));
  CHECK(lumen::kv::get("a/1") == std::optional<std::string>{"one"});
  CHECK_FALSE(lumen::kv::put("a/1", "uno", false));
  CHECK(lumen::kv::get("a/1") == std::optional<std::string>{"one"});
  CHECK(lumen::kv::put("a/1", "uno"));
  CHECK(lumen::kv::get("a/1") == std::optional<std::string>{"uno"});
  CHECK(lumen::kv::keys("a/") == std::vector<std::string>{"a/1", "a/2"});
  CHECK(lumen::kv::put("a/1", "other space", true, "ns2"));
  CHECK(lumen::kv::get("a/1", "ns2") ==
        std::optional<std::string>{"other space"});
  CHECK(lumen::kv::del("a/1"));
  CHECK_FALSE(lumen::kv::del("a/1"));
  CHECK_FALSE(lumen::kv::get("a/1").has_value());
  CHECK_THROWS_AS(lumen::kv::put("", "x"), lumen::error);
  CHECK_THROWS_AS(lumen::kv::put(std::string(2000, 'k'), "x"), lumen::error);
  // Binary values survive.
  std::string bin("\0\1\2\3", 4);
  CHECK(lumen::kv::put("bin", bin));
  CHECK(lumen::kv::get("bin") == std::optional<std::string>{bin});
}

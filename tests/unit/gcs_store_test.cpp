// gcs_store on a real RocksDB in a fresh directory, its row codec, and
// where a head keeps its tables.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <unistd.h>

#include "gcs/gcs_rows.hpp"
#include "gcs/gcs_store.hpp"
#include "lumen/error.hpp"
#include "node/node_config.hpp"
#include "storage/rocks_db.hpp"

using lumen::detail::gcs_store;
using lumen::detail::rocks_db;

namespace {

std::string fresh_dir(const std::string& tag) {
  auto p = std::filesystem::temp_directory_path() /
           ("lumen-gcs-" + tag + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(p);
  return p.string();
}

lumen::detail::node_record node(char digit, bool head = false) {
  lumen::detail::node_record rec;
  rec.id = std::string(32, digit);
  rec.address = "127.0.0.1:" + std::to_string(7000 + digit);
  rec.head = head;
  rec.total = {{"CPU", 2}, {"gizmo", 0.5}};
  return rec;
}

} // namespace

TEST_CASE("gcs_store: every table survives closing and reopening",
          "[gcs][storage]") {
  auto dir = fresh_dir("tables");
  {
    gcs_store st{std::make_shared<rocks_db>(dir)};
    CHECK(st.durable());
    CHECK(st.path() == dir);
    auto empty = st.load();
    CHECK(empty.nodes.empty());
    CHECK(empty.lineage_rows == 0);
    st.put_node({5, node('2')});
    st.put_node({1, node('1', true)});
    auto dead = node('3');
    dead.alive = false;
    st.put_node({9, dead});
    st.put_actor(
      {std::string(32, 'a'), "keeper", "it", 42, true, std::string(32, '2')});
    st.put_actor({std::string(32, 'b'), "", "", 7, false, ""});
    st.erase_actor(std::string(32, 'b'));
    st.put_group({"g1", "train", 2, {{{"CPU", 1}}, {{"GPU", 0.5}}}, {}, false});
    st.put_group({"g2", "", 0, {{{"CPU", 1}}}, {std::string(32, '2')}, true});
    st.erase_group("g1");
    st.put_kv("", "colour", "blue");
    st.put_kv(std::string("n\0s", 3), "k", std::string("v\0", 2));
    st.put_kv("shop", "gone", "x");
    st.erase_kv("shop", "gone");
    st.commit_lineage({"t1", "t2"}, {"spec1", "spec2"});
    CHECK(st.lineage_count() == 2);
  }
  gcs_store st{std::make_shared<rocks_db>(dir)};
  auto snap = st.load();
  CHECK(snap.skipped.empty());
  REQUIRE(snap.nodes.size() == 3);
  // In registration order, with the records as written.
  CHECK(snap.nodes[0].rec.id == std::string(32, '1'));
  CHECK(snap.nodes[0].rec.head);
  CHECK(snap.nodes[1].order == 5);
  CHECK(snap.nodes[1].rec.total == node('2').total);
  CHECK(snap.nodes[1].rec.address == node('2').address);
  CHECK_FALSE(snap.nodes[2].rec.alive);
  REQUIRE(snap.actors.size() == 1);
  auto& a = snap.actors[0];
  CHECK(a.id == std::string(32, 'a'));
  CHECK(a.name == "keeper");
  CHECK(a.ns == "it");
  CHECK(a.class_hash == 42);
  CHECK(a.detached);
  CHECK(a.host_node == std::string(32, '2'));
  REQUIRE(snap.groups.size() == 1);
  CHECK(snap.groups[0].id == "g2");
  CHECK(snap.groups[0].placed);
  CHECK(snap.groups[0].nodes == std::vector<std::string>{std::string(32, '2')});
  CHECK(snap.groups[0].bundles.at(0).at("CPU") == 1);
  REQUIRE(snap.kv.size() == 2);
  CHECK(snap.kv[0].ns.empty());
  CHECK(snap.kv[0].key == "colour");
  CHECK(snap.kv[0].value == "blue");
  CHECK(snap.kv[1].ns == std::string("n\0s", 3));
  CHECK(snap.kv[1].value == std::string("v\0", 2));
  CHECK(snap.lineage_rows == 2);
  CHECK(st.lineage_count() == 2);
  auto spec = st.get_lineage("t2");
  CHECK(std::string(spec.begin(), spec.end()) == "spec2");
  rocks_db::destroy(dir);
}

TEST_CASE("gcs_store: lineage counts distinct task ids", "[gcs][storage]") {
  auto dir = fresh_dir("lineage");
  gcs_store st{std::make_shared<rocks_db>(dir)};
  st.load();
  st.commit_lineage({"x", "y", "x"}, {"1", "2", "3"});
  CHECK(st.lineage_count() == 2);
  st.commit_lineage({"y", "z"}, {"4", "5"}); // y again: overwritten
  CHECK(st.lineage_count() == 3);
  auto y = st.get_lineage("y");
  CHECK(std::string(y.begin(), y.end()) == "4");
  CHECK(st.get_lineage("nope").empty());
  CHECK_THROWS_AS(st.commit_lineage({"a"}, {}), lumen::error);
  CHECK_THROWS_AS(st.commit_lineage({""}, {"s"}), lumen::error);
  CHECK(st.lineage_count() == 3);
  rocks_db::destroy(dir);
}

TEST_CASE("gcs_store: without a store only lineage is kept, in memory",
          "[gcs][storage]") {
  gcs_store st;
  CHECK_FALSE(st.durable());
  CHECK(st.path().empty());
  st.put_node({0, node('1')});
  st.put_kv("", "k", "v");
  st.commit_lineage({"t"}, {"spec"});
  CHECK(st.lineage_count() == 1);
  auto snap = st.load();
  CHECK(snap.nodes.empty());
  CHECK(snap.kv.empty());
  CHECK(snap.lineage_rows == 1);
  auto spec = st.get_lineage("t");
  CHECK(std::string(spec.begin(), spec.end()) == "spec");
}

TEST_CASE("gcs_store: a store kept for lineage only writes no table rows",
          "[gcs][storage]") {
  auto dir = fresh_dir("lineage-only");
  {
    gcs_store st{std::make_shared<rocks_db>(dir)};
    st.keep_tables(false);
    st.load();
    st.put_node({0, node('1')});
    st.put_actor({std::string(32, 'a'), "a", "", 1, false, ""});
    st.put_group({"g", "", 0, {{{"CPU", 1}}}, {}, false});
    st.put_kv("", "k", "v");
    st.commit_lineage({"t"}, {"spec"});
  }
  // Opened again with every table: only the lineage row is there.
  gcs_store st{std::make_shared<rocks_db>(dir)};
  auto snap = st.load();
  CHECK(snap.nodes.empty());
  CHECK(snap.actors.empty());
  CHECK(snap.groups.empty());
  CHECK(snap.kv.empty());
  CHECK(snap.lineage_rows == 1);
  auto spec = st.get_lineage("t");
  CHECK(std::string(spec.begin(), spec.end()) == "spec");
  rocks_db::destroy(dir);
}

TEST_CASE("gcs_store: an unreadable row is skipped, the rest loads",
          "[gcs][storage]") {
  auto dir = fresh_dir("corrupt");
  {
    auto db = std::make_shared<rocks_db>(dir);
    gcs_store st{db};
    st.put_actor({std::string(32, 'a'), "ok", "", 1, false, "n"});
    db->put(gcs_store::actor_key(std::string(32, 'b')), "garbage!", true);
    db->put(gcs_store::node_key(std::string(32, 'c')), "", true);
    db->put("kv/zz", "short key", true);
  }
  gcs_store st{std::make_shared<rocks_db>(dir)};
  auto snap = st.load();
  CHECK(snap.actors.size() == 1);
  CHECK(snap.nodes.empty());
  CHECK(snap.kv.empty());
  CHECK(snap.skipped.size() == 3);
  rocks_db::destroy(dir);
}

TEST_CASE("gcs rows: decoding checks what it reads", "[gcs][wire]") {
  lumen::detail::stored_node n{3, node('4')};
  auto bytes = lumen::detail::encode_stored_node(n);
  auto back = lumen::detail::decode_stored_node(std::string(32, '4'),
                                                bytes.data(), bytes.size());
  CHECK(back.order == 3);
  CHECK(back.rec.id == n.rec.id);
  // A row under another node's key is damaged.
  CHECK_THROWS_AS(lumen::detail::decode_stored_node(std::string(32, '5'),
                                                    bytes.data(), bytes.size()),
                  lumen::decode_error);
  lumen::detail::stored_group g{"g", "n", 9, {{{"CPU", 1}}}, {}, false};
  auto gb = lumen::detail::encode_stored_group(g);
  CHECK_THROWS_WITH(
    lumen::detail::decode_stored_group("g", gb.data(), gb.size()),
    Catch::Contains("strategy 9"));
  g.strategy = 1;
  g.placed = true; // placed, but no node for its bundle
  gb = lumen::detail::encode_stored_group(g);
  CHECK_THROWS_AS(lumen::detail::decode_stored_group("g", gb.data(), gb.size()),
                  lumen::decode_error);
}

TEST_CASE("gcs_store: where a head keeps its tables", "[gcs]") {
  lumen::detail::node_config cfg;
  cfg.head = true;
  cfg.runtime_dir = "/run/x";
  cfg.port = 6391;
  CHECK(lumen::detail::gcs_dir_of(cfg) == "/run/x/gcs-6391");
  cfg.port = 0; // a new port at every start: nothing to come back to
  CHECK(lumen::detail::gcs_dir_of(cfg).empty());
  cfg.gcs_dir = "/data/gcs";
  CHECK(lumen::detail::gcs_dir_of(cfg) == "/data/gcs");
}

// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/)
// from valid encodings made by the real encoders, plus a few edge cases:
//
//   lumen_fuzz_corpus <source dir>/tests/fuzz/corpus
//
// Deterministic: the same build writes the same files. Each file is laid
// out as its target reads it (a selector byte, or splitter pieces).
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "fuzz_support.hpp"
#include "gcs/gcs_rows.hpp"
#include "gcs/gcs_store.hpp"
#include "lumen/codec.hpp"
#include "net/bulk_ticket.hpp"
#include "wire/cluster_types.hpp"
#include "wire/task_spec_codec.hpp"

using namespace lumen;
using namespace lumen::detail;
namespace fs = std::filesystem;

namespace {

fs::path root;

std::string str(const byte_buffer& b) {
  return std::string(b.data(), b.size());
}

void write(const std::string& target, const std::string& name,
           const std::string& bytes) {
  auto dir = root / target;
  fs::create_directories(dir);
  std::ofstream{dir / name, std::ios::binary}.write(
    bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string with_selector(std::uint8_t selector, const std::string& bytes) {
  return std::string(1, static_cast<char>(selector)) + bytes;
}

object_ptr value_of(const std::string& bytes,
                    std::vector<object_id> nested = {}) {
  auto obj = std::make_shared<object_data>();
  obj->bytes.append(bytes.data(), bytes.size());
  for (auto& id : nested)
    obj->refs.push_back(fuzz::free_ref(id));
  return obj;
}

task_spec make_spec(std::uint64_t n, const std::string& function) {
  task_spec s;
  s.id = task_id{0x1111, n};
  s.parent = task_id{0x2222, 1};
  s.depth = static_cast<std::uint32_t>(n % 3);
  s.function = function;
  s.options.name = function;
  s.return_id = object_id{s.id, 1};
  return s;
}

// -- fuzz_task_spec, fuzz_stash_record ---------------------------------------

std::vector<std::pair<std::string, task_spec>> sample_specs() {
  std::vector<std::pair<std::string, task_spec>> out;
  out.emplace_back("minimal", make_spec(1, "f"));
  auto full = make_spec(2, "ns::compute");
  full.args.push_back(
    task_arg{value_of("\x01\x02\x03\x04 argument bytes"), {}});
  full.args.push_back(task_arg{{}, fuzz::free_ref(object_id{{0x1111, 1}, 1})});
  full.args.push_back(task_arg{
    value_of("nested", {object_id{{0x3333, 4}, 2}, object_id{{0x3333, 5}, 1}}),
    {}});
  full.options.num_cpus = 0.5;
  full.options.resources = {{"GPU", 1}, {"ssd", 0.25}};
  full.options.max_retries = -1;
  full.options.retry_exceptions = true;
  full.attempt = 2;
  full.lineage.push_back(str(encode_task_spec(make_spec(1, "f"))));
  out.emplace_back("full", full);
  // Depends on "minimal" through a ref argument (put flag clear).
  auto child = make_spec(3, "g");
  child.args.push_back(task_arg{{}, fuzz::free_ref(object_id{{0x1111, 1}, 1})});
  child.args.push_back(task_arg{{}, fuzz::free_ref(object_id{{0x1111, 2}, 1})});
  out.emplace_back("child", child);
  return out;
}

void task_spec_corpus() {
  const std::string t = "fuzz_task_spec";
  for (auto& [name, spec] : sample_specs()) {
    auto bytes = str(encode_task_spec(spec));
    write(t, "spec_" + name, with_selector(0, bytes));
    // Edge cases: cut in half (a truncated frame) and a byte changed in
    // the segment table (an oversized length field).
    write(t, "spec_" + name + "_truncated",
          with_selector(0, bytes.substr(0, bytes.size() / 16 * 8)));
    auto big = bytes;
    big[4] = '\xff';
    big[7] = '\x7f';
    write(t, "spec_" + name + "_oversized", with_selector(0, big));
  }
  error_info e;
  e.kind = error_kind::task_failed;
  e.type_name = "std::invalid_argument";
  e.message = "bad input";
  e.task_name = "f";
  write(t, "error_info", with_selector(1, str(encode_error_info(e))));
  write(t, "empty", std::string(1, '\0'));
  write(t, "zero_words", with_selector(0, std::string(16, '\0')));
}

void stash_corpus() {
  const std::string t = "fuzz_stash_record";
  std::string all;
  for (auto& [name, spec] : sample_specs()) {
    std::string one;
    fuzz::put_piece(one, str(encode_task_spec(spec)));
    write(t, "record_" + name, one);
    all += one;
  }
  write(t, "records_with_deps", all);
  std::string damaged;
  fuzz::put_piece(damaged, "not a spec at all");
  fuzz::put_piece(damaged, str(encode_task_spec(make_spec(9, "h"))));
  write(t, "damaged_then_valid", damaged);
}

// -- fuzz_cluster_messages
// -----------------------------------------------------

node_record sample_node(char fill, bool head) {
  node_record n;
  n.id = std::string(32, fill);
  n.address = "127.0.0.1:6390";
  n.head = head;
  n.total = {{"CPU", 4}, {"memory", 1e9}};
  n.available = {{"CPU", 2.5}};
  n.object_store_used = 1024;
  n.object_store_capacity = 1 << 30;
  n.infeasible = {{"{CPU: 64}", 2}};
  n.actors = {{"alive", 3}, {"pending", 1}};
  return n;
}

void cluster_corpus() {
  const std::string t = "fuzz_cluster_messages";
  write(t, "node_record",
        with_selector(0, str(encode_node_record(sample_node('a', true)))));
  cluster_view v;
  v.version = 7;
  v.nodes = {sample_node('a', true), sample_node('b', false)};
  v.nodes[1].alive = false;
  write(t, "cluster_view", with_selector(1, str(encode_cluster_view(v))));
  object_payload value;
  value.id = object_id{{0x4444, 1}, 1};
  value.bytes.append("payload bytes", 13);
  value.nested = {object_id{{0x4444, 2}, 1}};
  write(t, "payload_value",
        with_selector(2, str(encode_object_payload(value))));
  object_payload err;
  err.id = object_id{{0x4444, 3}, 1};
  err.has_error = true;
  err.error.kind = error_kind::actor_died;
  err.error.message = "gone";
  write(t, "payload_error", with_selector(2, str(encode_object_payload(err))));
  object_payload loc;
  loc.id = object_id{{0x4444, 4}, 1};
  loc.location = std::string(32, 'c');
  loc.size = 1 << 20;
  write(t, "payload_location",
        with_selector(2, str(encode_object_payload(loc))));
  remote_actor_options o;
  o.class_hash = 0x1234567890abcdefull;
  o.options.num_cpus = 1;
  o.options.resources = {{"GPU", 0.5}};
  o.options.name = "counter";
  o.options.ns = "web";
  o.options.max_concurrency = 4;
  o.options.max_restarts = -1;
  o.options.detached = true;
  write(t, "actor_options", with_selector(3, str(encode_actor_options(o))));
  bulk_ticket ticket;
  ticket.host = "127.0.0.1";
  ticket.port = 40000;
  for (std::size_t i = 0; i < ticket.nonce.size(); ++i)
    ticket.nonce[i] = static_cast<char>(i * 17);
  auto tb = encode_ticket(ticket);
  write(t, "ticket", with_selector(4, std::string(tb.begin(), tb.end())));
}

// -- fuzz_gcs_rows
// -------------------------------------------------------------

void gcs_corpus() {
  const std::string t = "fuzz_gcs_rows";
  auto row = [](std::uint8_t table, const std::string& key,
                const std::string& value) {
    std::string out(1, static_cast<char>(table));
    fuzz::put_piece(out, key);
    fuzz::put_piece(out, value);
    return out;
  };
  stored_node n;
  n.order = 3;
  n.rec = sample_node('d', false);
  auto node = row(0, n.rec.id, str(encode_stored_node(n)));
  stored_actor a;
  a.id = "actor-1";
  a.name = "counter";
  a.ns = "web";
  a.class_hash = 42;
  a.detached = true;
  a.host_node = n.rec.id;
  auto actor = row(1, a.id, str(encode_stored_actor(a)));
  stored_group g;
  g.id = "pg-1";
  g.name = "group";
  g.strategy = 1;
  g.bundles = {{{"CPU", 1}}, {{"CPU", 1}, {"GPU", 1}}};
  g.nodes = {n.rec.id, n.rec.id};
  g.placed = true;
  auto group = row(2, g.id, str(encode_stored_group(g)));
  auto kv = row(3, "0003nsxkey", "value");
  auto lineage = row(4, "task-1", str(encode_task_spec(make_spec(1, "f"))));
  write(t, "node", node);
  write(t, "actor", actor);
  write(t, "group", group);
  write(t, "kv", kv);
  write(t, "all_tables", node + actor + group + kv + lineage);
  // A node row whose record names another node, and a key-value key with
  // a namespace length that runs past its end.
  write(t, "damaged",
        row(0, std::string(32, 'e'), str(encode_stored_node(n))) +
          row(3, "ffffns", "v"));
}

// -- fuzz_object_codec
// -----------------------------------------------------------

enum class color : std::uint8_t { red, green, blue };

struct point {
  double x = 0;
  double y = 0;
  std::string label;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(caf::meta::type_name("point"), p.x, p.y, p.label);
}

struct tree {
  std::int32_t value = 0;
  color tint = color::red;
  std::vector<tree> children;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, tree& t) {
    return f(t.value, t.tint, t.children);
  }
};

template <class T>
void value(std::uint8_t selector, const std::string& name, const T& x) {
  // The target puts the fingerprint in front itself.
  auto obj = to_object(x);
  write("fuzz_object_codec", name,
        with_selector(selector, str(obj.bytes).substr(8)));
}

void object_codec_corpus() {
  using clock = std::chrono::system_clock;
  value<std::int32_t>(0, "int32", -123456);
  value(1, "double", 3.25);
  value(2, "bool", true);
  value(3, "string", std::string{"hello, lumen"});
  value(4, "vector_int64", std::vector<std::int64_t>{1, -2, 3, 1LL << 40});
  value(5, "vector_string", std::vector<std::string>{"a", "", "ccc"});
  value(6, "map_vector",
        std::map<std::string, std::vector<double>>{{"x", {1, 2}}, {"y", {}}});
  value(7, "tuple",
        std::tuple<int, std::string, std::optional<float>>{1, "two", 3.0f});
  value(8, "variant",
        std::variant<int, std::string, std::vector<char>>{std::string{"alt"}});
  value(9, "set", std::set<int>{5, 1, 3});
  value(10, "unordered_map", std::unordered_map<int, std::string>{{1, "one"}});
  value(11, "array", std::array<std::int16_t, 3>{1, -1, 7});
  value(12, "point", point{1.5, -2.5, "p"});
  tree t;
  t.value = 1;
  t.children.resize(2);
  t.children[1].children.resize(1);
  t.children[1].tint = color::blue;
  value(13, "tree", t);
  value(14, "durations",
        std::pair<std::chrono::milliseconds, clock::time_point>{
          std::chrono::milliseconds{1500}, clock::time_point{}});
  value(
    15, "pair_bools",
    std::pair<std::string, std::vector<bool>>{"flags", {true, false, true}});
  value(16, "colors", std::vector<color>{color::red, color::blue});
  value(17, "optional_maps",
        std::optional<std::vector<std::map<int, int>>>{
          std::vector<std::map<int, int>>{{{1, 2}}}});
  value(18, "unordered_set", std::unordered_set<std::string>{"a", "b"});
  value(19, "points", std::vector<point>{{0, 0, "o"}, {1, 1, ""}});
  // A length field far beyond the input.
  write("fuzz_object_codec", "string_oversized",
        with_selector(3, std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) +
                           "abc"));
}

// -- fuzz_spill_file
// ---------------------------------------------------------------

void spill_corpus() {
  for (std::uint8_t damage = 0; damage < 4; ++damage) {
    std::string in(1, static_cast<char>(damage));
    fuzz::put_piece(in, "the bytes of a spilled object");
    fuzz::put_piece(in, "other bytes");
    write("fuzz_spill_file", "damage_" + std::to_string(damage), in);
  }
  write("fuzz_spill_file", "empty_value", std::string(1, '\0'));
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  root = argv[1];
  task_spec_corpus();
  stash_corpus();
  cluster_corpus();
  gcs_corpus();
  object_codec_corpus();
  spill_corpus();
  std::printf("wrote the seed corpora into %s\n", root.c_str());
  return 0;
}

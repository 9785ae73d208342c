// Unit tests of the node record / cluster view / object payload wire codec
// (src/wire/cluster_types.hpp, src/wire/cluster_codec.cpp): round trips,
// and rejection of malformed or invalid input with decode_error, never a
// crash.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/array.h>

#include "lumen/error.hpp"
#include "lumen/wire/cluster.capnp.h"
#include "wire/cluster_types.hpp"

using namespace lumen;
using namespace lumen::detail;

namespace {

// -- sample values ----------------------------------------------------------

object_id oid(std::uint64_t hi, std::uint64_t lo, std::uint32_t index) {
  object_id result;
  result.task.hi = hi;
  result.task.lo = lo;
  result.index = index;
  return result;
}

/// A node record that sets every field to something other than its default.
node_record sample_node() {
  node_record x;
  x.id = "0123456789abcdef0123456789abcdef";
  x.address = "10.0.0.7:4242";
  x.head = true;
  x.driver = true;
  x.alive = false;
  x.total = {{"CPU", 8}, {"GPU", 2}, {"memory", 1.5e10}};
  x.available = {{"CPU", 0.5}, {"GPU", 0}, {"memory", 3.25e9}};
  // Over capacity, as while spilling.
  x.object_store_used = std::numeric_limits<std::size_t>::max();
  x.object_store_capacity = std::size_t{1} << 33;
  // Order kept, repeats allowed.
  x.infeasible = {{"{GPU: 16}", 3}, {"{CPU: 1000}", 1}, {"{GPU: 16}", 2}};
  x.actors = {{"alive", 4}, {"dead", 1}, {"pending", 0}};
  x.held = {{"00000000000000000000000000000001", {2, {{"CPU", 2}}}},
            {"fedcba9876543210fedcba9876543210", {1, {}}}};
  return x;
}

/// A second, different node.
node_record other_node() {
  node_record x;
  x.id = "ffffffffffffffff0000000000000000";
  x.total = {{"CPU", 1}};
  x.available = {{"CPU", 1}};
  x.object_store_used = 10;
  x.object_store_capacity = 100;
  return x;
}

cluster_view sample_view() {
  cluster_view x;
  x.version = 0xfedcba9876543210ull;
  x.nodes = {sample_node(), other_node(), sample_node()};
  x.nodes[2].id = "abcdefabcdefabcdefabcdefabcdef00";
  x.nodes[2].alive = true;
  x.nodes[2].head = false;
  return x;
}

object_payload sample_payload() {
  object_payload x;
  x.id =
    oid(0x0123456789abcdefull, 0xfedcba9876543210ull, 3 | object_id::put_flag);
  auto bytes = std::string("\x01\x00\xff\x80zzzz", 8) + "payload bytes";
  x.bytes.append(bytes.data(), bytes.size());
  x.nested = {oid(1, 2, 1), oid(3, 4, 5 | object_id::put_flag), oid(5, 6, 7)};
  return x;
}

object_payload error_payload() {
  object_payload x;
  x.id = oid(9, 8, 1);
  x.has_error = true;
  x.error.kind = error_kind::task_failed;
  x.error.type_name = "std::out_of_range";
  x.error.message = std::string("index 3 >= size 2\0tail", 22);
  x.error.task_name = "lookup";
  return x;
}

std::string bytes_of(const byte_buffer& buf) {
  return std::string(buf.data(), buf.size());
}

void check_equal(const node_record& x, const node_record& y) {
  CHECK(x.id == y.id);
  CHECK(x.address == y.address);
  CHECK(x.head == y.head);
  CHECK(x.driver == y.driver);
  CHECK(x.alive == y.alive);
  CHECK(x.total == y.total);
  CHECK(x.available == y.available);
  CHECK(x.object_store_used == y.object_store_used);
  CHECK(x.object_store_capacity == y.object_store_capacity);
  CHECK(x.infeasible == y.infeasible);
  CHECK(x.actors == y.actors);
  CHECK(x.held == y.held);
}

void check_equal(const cluster_view& x, const cluster_view& y) {
  CHECK(x.version == y.version);
  REQUIRE(x.nodes.size() == y.nodes.size());
  for (std::size_t i = 0; i < x.nodes.size(); ++i) {
    INFO("node " << i);
    check_equal(x.nodes[i], y.nodes[i]);
  }
}

void check_equal(const object_payload& x, const object_payload& y) {
  CHECK(x.id == y.id);
  CHECK(bytes_of(x.bytes) == bytes_of(y.bytes));
  CHECK(x.nested == y.nested);
  CHECK(x.has_error == y.has_error);
  CHECK(x.error.kind == y.error.kind);
  CHECK(x.error.type_name == y.error.type_name);
  CHECK(x.error.message == y.error.message);
  CHECK(x.error.task_name == y.error.task_name);
}

/// Number of segments the flat message `buf` says it has.
std::uint32_t segment_count(const byte_buffer& buf) {
  std::uint32_t n = 0;
  std::memcpy(&n, buf.data(), sizeof(n));
  return n + 1;
}

/// Requires that `decode(buf)` throws decode_error mentioning `field`.
template <class Decode>
void require_rejected(const byte_buffer& buf, const std::string& field,
                      Decode decode) {
  try {
    decode(buf.data(), buf.size());
    FAIL("decoded an invalid value");
  } catch (const decode_error& e) {
    CHECK_THAT(e.what(), Catch::Contains(field));
  }
}

void require_node_rejected(const byte_buffer& buf, const std::string& field) {
  require_rejected(buf, field, decode_node_record);
}

void require_payload_rejected(const byte_buffer& buf,
                              const std::string& field) {
  require_rejected(buf, field, decode_object_payload);
}

/// Decodes `bytes` (copied into an exactly sized heap block, so that
/// sanitizers see any over-read) and requires decode_error.
template <class Decode>
void require_decode_error(const std::vector<char>& bytes, Decode decode) {
  auto copy = std::make_unique<char[]>(bytes.size());
  if (!bytes.empty())
    std::memcpy(copy.get(), bytes.data(), bytes.size());
  CHECK_THROWS_AS(decode(copy.get(), bytes.size()), decode_error);
}

/// Decodes `bytes` with each decoder; either outcome is fine, a crash or
/// another exception is not.
void decode_all_somehow(const std::vector<char>& bytes) {
  auto copy = std::make_unique<char[]>(bytes.size());
  if (!bytes.empty())
    std::memcpy(copy.get(), bytes.data(), bytes.size());
  try {
    decode_node_record(copy.get(), bytes.size());
  } catch (const decode_error&) {
  }
  try {
    decode_cluster_view(copy.get(), bytes.size());
  } catch (const decode_error&) {
  }
  try {
    decode_object_payload(copy.get(), bytes.size());
  } catch (const decode_error&) {
  }
}

std::vector<char> prefix(const byte_buffer& buf, std::size_t n) {
  return std::vector<char>(buf.data(), buf.data() + n);
}

/// Re-encodes `buf` after `edit` changed its root `T` with the raw API.
template <class T, class Edit>
byte_buffer edit(const byte_buffer& buf, Edit f) {
  auto words = kj::heapArray<capnp::word>(buf.size() / 8);
  std::memcpy(words.begin(), buf.data(), buf.size());
  capnp::FlatArrayMessageReader reader{words};
  capnp::MallocMessageBuilder builder;
  builder.setRoot(reader.getRoot<T>());
  f(builder.getRoot<T>());
  auto flat = capnp::messageToFlatArray(builder);
  byte_buffer result;
  result.append(flat.asBytes().begin(), flat.asBytes().size());
  return result;
}

const std::vector<error_kind> all_kinds{
  error_kind::task_failed,    error_kind::function_not_found,
  error_kind::type_mismatch,  error_kind::object_lost,
  error_kind::store_full,     error_kind::actor_died,
  error_kind::actor_creation, error_kind::runtime_error};

} // namespace

// -- round trips --------------------------------------------------------------

TEST_CASE("cluster codec: node record round trip keeps every field",
          "[wire][cluster_codec]") {
  auto x = sample_node();
  auto buf = encode_node_record(x);
  CHECK(buf.size() % 8 == 0);
  CHECK(segment_count(buf) == 1);
  check_equal(x, decode_node_record(buf.data(), buf.size()));
}

TEST_CASE("cluster codec: default-ish node record round trips",
          "[wire][cluster_codec]") {
  node_record x;
  x.id = "00000000000000000000000000000000";
  auto buf = encode_node_record(x);
  auto y = decode_node_record(buf.data(), buf.size());
  check_equal(x, y);
  CHECK(y.alive);
  x.alive = false;
  buf = encode_node_record(x);
  CHECK_FALSE(decode_node_record(buf.data(), buf.size()).alive);
}

TEST_CASE("cluster codec: cluster view round trip keeps every field",
          "[wire][cluster_codec]") {
  auto x = sample_view();
  auto buf = encode_cluster_view(x);
  CHECK(buf.size() % 8 == 0);
  CHECK(segment_count(buf) == 1);
  check_equal(x, decode_cluster_view(buf.data(), buf.size()));
  cluster_view empty;
  buf = encode_cluster_view(empty);
  check_equal(empty, decode_cluster_view(buf.data(), buf.size()));
}

TEST_CASE("cluster codec: object payload round trip keeps every field",
          "[wire][cluster_codec]") {
  auto x = sample_payload();
  auto buf = encode_object_payload(x);
  CHECK(buf.size() % 8 == 0);
  CHECK(segment_count(buf) == 1);
  check_equal(x, decode_object_payload(buf.data(), buf.size()));
  object_payload empty;
  buf = encode_object_payload(empty);
  check_equal(empty, decode_object_payload(buf.data(), buf.size()));
  object_payload big;
  big.bytes.append(std::string(100000, 'x').data(), 100000);
  buf = encode_object_payload(big);
  CHECK(segment_count(buf) == 1);
  check_equal(big, decode_object_payload(buf.data(), buf.size()));
}

TEST_CASE("cluster codec: error payload round trip for every kind",
          "[wire][cluster_codec]") {
  for (auto kind : all_kinds) {
    auto x = error_payload();
    x.error.kind = kind;
    auto buf = encode_object_payload(x);
    check_equal(x, decode_object_payload(buf.data(), buf.size()));
  }
}

TEST_CASE("cluster codec: cluster encoding is deterministic",
          "[wire][cluster_codec]") {
  CHECK(bytes_of(encode_node_record(sample_node())) ==
        bytes_of(encode_node_record(sample_node())));
  CHECK(bytes_of(encode_cluster_view(sample_view())) ==
        bytes_of(encode_cluster_view(sample_view())));
  CHECK(bytes_of(encode_object_payload(sample_payload())) ==
        bytes_of(encode_object_payload(sample_payload())));
  CHECK(bytes_of(encode_object_payload(error_payload())) ==
        bytes_of(encode_object_payload(error_payload())));
  // The error of a non-error payload means nothing and does not travel.
  auto x = sample_payload();
  auto y = sample_payload();
  y.error.kind = error_kind::actor_died;
  y.error.message = "ignored";
  CHECK(bytes_of(encode_object_payload(x)) ==
        bytes_of(encode_object_payload(y)));
}

TEST_CASE("cluster codec: cluster messages decode from unaligned memory",
          "[wire][cluster_codec]") {
  auto view = encode_cluster_view(sample_view());
  auto payload = encode_object_payload(sample_payload());
  std::vector<char> storage(view.size() + payload.size() + 8);
  for (std::size_t offset = 1; offset < 8; ++offset) {
    std::memcpy(storage.data() + offset, view.data(), view.size());
    check_equal(sample_view(),
                decode_cluster_view(storage.data() + offset, view.size()));
    std::memcpy(storage.data() + offset, payload.data(), payload.size());
    check_equal(sample_payload(),
                decode_object_payload(storage.data() + offset, payload.size()));
  }
}

// -- malformed input ----------------------------------------------------------

TEST_CASE("cluster codec: random bytes are rejected by the cluster decoders",
          "[wire][cluster_codec]") {
  std::mt19937_64 rng{20240612};
  std::uniform_int_distribution<int> byte{0, 255};
  std::uniform_int_distribution<std::size_t> words{0, 64};
  for (int i = 0; i < 1000; ++i) {
    std::vector<char> bytes(words(rng) * 8);
    for (auto& b : bytes)
      b = static_cast<char>(byte(rng));
    require_decode_error(bytes, decode_node_record);
    require_decode_error(bytes, decode_cluster_view);
    require_decode_error(bytes, decode_object_payload);
  }
}

TEST_CASE(
  "cluster codec: random bytes behind a valid segment table never crash",
  "[wire][cluster_codec]") {
  // Gets past the framing, so Cap'n Proto's pointer checks and ours run.
  std::mt19937_64 rng{43};
  std::uniform_int_distribution<int> byte{0, 255};
  std::uniform_int_distribution<std::uint32_t> words{1, 64};
  for (int i = 0; i < 1000; ++i) {
    auto n = words(rng);
    std::vector<char> bytes((n + 1) * 8);
    for (auto& b : bytes)
      b = static_cast<char>(byte(rng));
    std::uint32_t header[2] = {0, n}; // one segment of n words
    std::memcpy(bytes.data(), header, sizeof(header));
    decode_all_somehow(bytes);
  }
}

TEST_CASE("cluster codec: flipped bytes in valid cluster messages never crash",
          "[wire][cluster_codec]") {
  std::mt19937_64 rng{8};
  std::uniform_int_distribution<int> byte{0, 255};
  for (const auto& buf :
       {encode_node_record(sample_node()), encode_cluster_view(sample_view()),
        encode_object_payload(sample_payload()),
        encode_object_payload(error_payload())}) {
    std::uniform_int_distribution<std::size_t> pos{0, buf.size() - 1};
    for (int i = 0; i < 1000; ++i) {
      std::vector<char> bytes(buf.data(), buf.data() + buf.size());
      for (int j = 0; j < 3; ++j)
        bytes[pos(rng)] = static_cast<char>(byte(rng));
      decode_all_somehow(bytes);
    }
  }
}

TEST_CASE("cluster codec: every truncation of a cluster message is rejected",
          "[wire][cluster_codec]") {
  auto node = encode_node_record(sample_node());
  for (std::size_t n = 0; n < node.size(); ++n) {
    INFO("node record size " << n << " of " << node.size());
    require_decode_error(prefix(node, n), decode_node_record);
  }
  auto view = encode_cluster_view(sample_view());
  for (std::size_t n = 0; n < view.size(); ++n) {
    INFO("cluster view size " << n << " of " << view.size());
    require_decode_error(prefix(view, n), decode_cluster_view);
  }
  for (const auto& payload : {encode_object_payload(sample_payload()),
                              encode_object_payload(error_payload())}) {
    for (std::size_t n = 0; n < payload.size(); ++n) {
      INFO("object payload size " << n << " of " << payload.size());
      require_decode_error(prefix(payload, n), decode_object_payload);
    }
  }
}

TEST_CASE("cluster codec: a cluster message size that is not a multiple of 8 "
          "is rejected",
          "[wire][cluster_codec]") {
  auto node = encode_node_record(sample_node());
  auto view = encode_cluster_view(sample_view());
  auto payload = encode_object_payload(sample_payload());
  for (std::size_t extra = 1; extra < 8; ++extra) {
    INFO("extra bytes " << extra);
    auto bytes = prefix(node, node.size());
    bytes.resize(bytes.size() + extra, '\0');
    require_decode_error(bytes, decode_node_record);
    bytes = prefix(view, view.size());
    bytes.resize(bytes.size() + extra, '\0');
    require_decode_error(bytes, decode_cluster_view);
    bytes = prefix(payload, payload.size());
    bytes.resize(bytes.size() + extra, '\0');
    require_decode_error(bytes, decode_object_payload);
  }
  CHECK_THROWS_WITH(decode_node_record(node.data(), node.size() - 3),
                    Catch::Contains("multiple of 8"));
  CHECK_THROWS_AS(decode_node_record(nullptr, 0), decode_error);
  CHECK_THROWS_AS(decode_cluster_view(nullptr, 0), decode_error);
  CHECK_THROWS_AS(decode_object_payload(nullptr, 0), decode_error);
}

TEST_CASE("cluster codec: trailing words after a cluster message are rejected",
          "[wire][cluster_codec]") {
  auto buf = encode_cluster_view(sample_view());
  auto bytes = prefix(buf, buf.size());
  bytes.resize(bytes.size() + 8, '\0');
  require_decode_error(bytes, decode_cluster_view);
}

TEST_CASE("cluster codec: an amplified list of empty node records is rejected",
          "[wire][cluster_codec]") {
  // A 4-word message claiming one million empty nodes: within Cap'n Proto's
  // default traversal limit, but not within the one derived from the size.
  auto struct_ptr = [](std::uint64_t offset, std::uint64_t data,
                       std::uint64_t ptrs) {
    return (offset << 2) | (data << 32) | (ptrs << 48);
  };
  auto list_ptr = [](std::uint64_t offset, std::uint64_t elem_size,
                     std::uint64_t count) {
    return 1 | (offset << 2) | (elem_size << 32) | (count << 35);
  };
  std::vector<std::uint64_t> words(5, 0);
  words[0] = std::uint64_t{4} << 32;    // one segment of 4 words
  words[1] = struct_ptr(0, 1, 1);       // root ClusterView at word 2
  words[3] = list_ptr(0, 7, 0);         // nodes: tag at word 4, no data
  words[4] = struct_ptr(1000000, 0, 0); // tag: 1M elements of 0 words
  std::vector<char> bytes(words.size() * 8);
  std::memcpy(bytes.data(), words.data(), bytes.size());
  // Cap'n Proto's wording (0.9): fails if the bytes broke for another reason.
  CHECK_THROWS_WITH(decode_cluster_view(bytes.data(), bytes.size()),
                    Catch::Contains("traversal limit"));
}

// -- invalid values
// -------------------------------------------------------------

TEST_CASE("cluster codec: invalid node ids are rejected",
          "[wire][cluster_codec]") {
  for (const std::string& id : std::vector<std::string>{
         "", "0123456789abcdef0123456789abcde",
         "0123456789abcdef0123456789abcdef0",
         "0123456789ABCDEF0123456789abcdef", "0123456789abcdeg0123456789abcdef",
         std::string("0123456789abcdef\0"
                     "123456789abcdef",
                     32)}) {
    INFO("id '" << id << "'");
    auto x = sample_node();
    x.id = id;
    require_node_rejected(encode_node_record(x), "id");
    auto view = sample_view();
    view.nodes[1].id = id;
    require_rejected(encode_cluster_view(view), "nodes[1].id",
                     decode_cluster_view);
  }
}

TEST_CASE("cluster codec: invalid resource amounts are rejected",
          "[wire][cluster_codec]") {
  constexpr auto nan = std::numeric_limits<double>::quiet_NaN();
  constexpr auto inf = std::numeric_limits<double>::infinity();
  for (double bad : {-1.0, -1e-300, nan, inf, -inf}) {
    INFO("amount " << bad);
    auto x = sample_node();
    x.total["CPU"] = bad;
    require_node_rejected(encode_node_record(x), "total[0].amount");
    x = sample_node();
    x.available["memory"] = bad;
    require_node_rejected(encode_node_record(x), "available[2].amount");
    auto view = sample_view();
    view.nodes[2].available["GPU"] = bad;
    require_rejected(encode_cluster_view(view), "nodes[2].available[1].amount",
                     decode_cluster_view);
  }
}

TEST_CASE("cluster codec: empty resource names are rejected",
          "[wire][cluster_codec]") {
  auto x = sample_node();
  x.total[""] = 1;
  require_node_rejected(encode_node_record(x), "total[0].name");
  x = sample_node();
  x.available[""] = 1;
  require_node_rejected(encode_node_record(x), "available[0].name");
}

TEST_CASE("cluster codec: duplicate resource names are rejected",
          "[wire][cluster_codec]") {
  auto buf = encode_node_record(sample_node());
  require_node_rejected(edit<wire::NodeRecord>(buf,
                                               [](wire::NodeRecord::Builder x) {
                                                 x.getTotal()[2].setName("GPU");
                                               }),
                        "total[2].name");
  require_node_rejected(edit<wire::NodeRecord>(buf,
                                               [](wire::NodeRecord::Builder x) {
                                                 x.getAvailable()[1].setName(
                                                   "CPU");
                                               }),
                        "available[1].name");
}

TEST_CASE("cluster codec: invalid actor states are rejected",
          "[wire][cluster_codec]") {
  auto x = sample_node();
  x.actors[""] = 1;
  require_node_rejected(encode_node_record(x), "actors[0].name");
  auto buf = encode_node_record(sample_node());
  require_node_rejected(edit<wire::NodeRecord>(buf,
                                               [](wire::NodeRecord::Builder x) {
                                                 x.getActors()[2].setName(
                                                   "alive");
                                               }),
                        "actors[2].name");
}

TEST_CASE("cluster codec: node records accept what is merely unusual",
          "[wire][cluster_codec]") {
  auto x = sample_node();
  x.object_store_used = 2000;
  x.object_store_capacity = 1000;
  x.available["CPU"] = 100; // more than total
  x.infeasible = {{"", 0}, {"", 0}};
  x.address.clear();
  auto buf = encode_node_record(x);
  check_equal(x, decode_node_record(buf.data(), buf.size()));
}

TEST_CASE("cluster codec: an error payload with bytes is rejected",
          "[wire][cluster_codec]") {
  auto x = error_payload();
  x.bytes.append("abc", 3);
  require_payload_rejected(encode_object_payload(x), "bytes");
}

TEST_CASE("cluster codec: an unknown error kind in a payload is rejected",
          "[wire][cluster_codec]") {
  auto x = error_payload();
  x.error.kind = static_cast<error_kind>(200);
  require_payload_rejected(encode_object_payload(x), "kind");
  x.error.kind = static_cast<error_kind>(
    static_cast<std::uint8_t>(error_kind::owner_died) + 1);
  require_payload_rejected(encode_object_payload(x), "kind");
}

TEST_CASE("cluster codec: payload error must be present exactly when hasError",
          "[wire][cluster_codec]") {
  require_payload_rejected(
    edit<wire::ObjectPayload>(encode_object_payload(error_payload()),
                              [](wire::ObjectPayload::Builder x) {
                                x.disownError();
                              }),
    "error");
  require_payload_rejected(
    edit<wire::ObjectPayload>(encode_object_payload(sample_payload()),
                              [](wire::ObjectPayload::Builder x) {
                                x.initError().setMessage("stray");
                              }),
    "hasError");
}

TEST_CASE("cluster codec: held resources name valid jobs",
          "[wire][cluster_codec]") {
  auto x = sample_node();
  x.held["not a node id"] = {1, {{"CPU", 1}}};
  require_node_rejected(encode_node_record(x), "held[2].job");
  x = sample_node();
  x.held["00000000000000000000000000000001"].resources["CPU"] = -1;
  require_node_rejected(encode_node_record(x), "held[0].resources[0].amount");
}

// Unit tests of the task spec / error info wire codec
// (src/wire/task_spec_codec.hpp): round trips, and rejection of malformed or
// invalid input with decode_error, never a crash.
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/array.h>

#include "lumen/error.hpp"
#include "lumen/wire/task_spec.capnp.h"
#include "task_spec_test_support.hpp"
#include "wire/task_spec_codec.hpp"

using namespace lumen;
using namespace lumen::detail;
using namespace task_spec_test;

namespace {

/// Decodes with a resolver that must never be called.
task_spec decode_unresolved(const char* data, std::size_t size) {
  return decode_task_spec(data, size, [](const object_id&) -> ref_ptr {
    FAIL("resolver called for a rejected message");
    return {};
  });
}

/// Requires that decoding `buf` throws decode_error mentioning `field`.
void require_rejected(const byte_buffer& buf, const std::string& field) {
  try {
    decode_unresolved(buf.data(), buf.size());
    FAIL("decoded an invalid spec");
  } catch (const decode_error& e) {
    CHECK_THAT(e.what(), Catch::Contains(field));
  }
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

std::vector<char> prefix(const byte_buffer& buf, std::size_t n) {
  return std::vector<char>(buf.data(), buf.data() + n);
}

} // namespace

// -- round trips --------------------------------------------------------------

TEST_CASE("task spec round trip keeps every field", "[wire]") {
  leak_check leaks;
  auto spec = sample_spec();
  auto buf = encode_task_spec(spec);
  CHECK(buf.size() % 8 == 0);
  recording_resolver resolver;
  auto decoded = decode_task_spec(buf.data(), buf.size(), resolver.fn());
  check_equal(spec, decoded);
  // Ref args and nested refs are resolved in message order.
  std::vector<object_id> expected{oid(1, 2, 1),
                                  oid(3, 4, 5 | object_id::put_flag),
                                  oid(9, 8, 2), oid(5, 6, 7)};
  CHECK(resolver.seen == expected);
  // Resolved references are the ones the resolver made, held once each.
  CHECK(decoded.args[1].ref->count.load() == 1);
  CHECK(decoded.args[0].value->refs[0]->count.load() == 1);
}

TEST_CASE("task spec encoding is deterministic", "[wire]") {
  leak_check leaks;
  auto spec = sample_spec();
  CHECK(bytes_of(encode_task_spec(spec)) == bytes_of(encode_task_spec(spec)));
}

TEST_CASE("default task spec round trips", "[wire]") {
  leak_check leaks;
  task_spec spec;
  spec.function = "f";
  auto buf = encode_task_spec(spec);
  recording_resolver resolver;
  auto decoded = decode_task_spec(buf.data(), buf.size(), resolver.fn());
  check_equal(spec, decoded);
  CHECK(resolver.seen.empty());
}

TEST_CASE("task spec decodes from unaligned memory", "[wire]") {
  leak_check leaks;
  auto spec = sample_spec();
  auto buf = encode_task_spec(spec);
  std::vector<char> storage(buf.size() + 8);
  for (std::size_t offset = 1; offset < 8; ++offset) {
    std::memcpy(storage.data() + offset, buf.data(), buf.size());
    recording_resolver resolver;
    auto decoded =
      decode_task_spec(storage.data() + offset, buf.size(), resolver.fn());
    check_equal(spec, decoded);
  }
}

TEST_CASE("error info round trip for every kind", "[wire]") {
  for (auto kind : {error_kind::task_failed, error_kind::function_not_found,
                    error_kind::type_mismatch, error_kind::object_lost,
                    error_kind::store_full, error_kind::actor_died,
                    error_kind::actor_creation, error_kind::runtime_error}) {
    error_info info;
    info.kind = kind;
    info.type_name = "std::out_of_range";
    info.message = std::string("index 3 >= size 2\0tail", 22);
    info.task_name = "lookup";
    auto buf = encode_error_info(info);
    auto decoded = decode_error_info(buf.data(), buf.size());
    CHECK(decoded.kind == info.kind);
    CHECK(decoded.type_name == info.type_name);
    CHECK(decoded.message == info.message);
    CHECK(decoded.task_name == info.task_name);
  }
}

// -- encoding preconditions
// -----------------------------------------------------

TEST_CASE("encoding rejects malformed arguments", "[wire]") {
  leak_check leaks;
  task_spec spec;
  spec.function = "f";
  spec.args.emplace_back();
  CHECK_THROWS_AS(encode_task_spec(spec), std::invalid_argument);
  spec.args[0] = value_arg("x", {});
  spec.args[0].ref = make_ref(oid(1, 1, 1));
  CHECK_THROWS_AS(encode_task_spec(spec), std::invalid_argument);
  auto obj = std::make_shared<object_data>();
  obj->error = std::make_shared<error_info>();
  spec.args[0] = task_arg{};
  spec.args[0].value = obj;
  CHECK_THROWS_AS(encode_task_spec(spec), std::invalid_argument);
}

// -- malformed input ----------------------------------------------------------

TEST_CASE("random bytes are rejected", "[wire]") {
  leak_check leaks;
  std::mt19937_64 rng{20240611};
  std::uniform_int_distribution<int> byte{0, 255};
  std::uniform_int_distribution<std::size_t> words{0, 64};
  for (int i = 0; i < 1000; ++i) {
    std::vector<char> bytes(words(rng) * 8);
    for (auto& b : bytes)
      b = static_cast<char>(byte(rng));
    require_decode_error(bytes, [](const char* p, std::size_t n) {
      return decode_unresolved(p, n);
    });
    require_decode_error(bytes, [](const char* p, std::size_t n) {
      return decode_error_info(p, n);
    });
  }
}

TEST_CASE("random bytes behind a valid segment table never crash", "[wire]") {
  // Gets past the framing, so Cap'n Proto's pointer checks and ours run.
  leak_check leaks;
  std::mt19937_64 rng{42};
  std::uniform_int_distribution<int> byte{0, 255};
  std::uniform_int_distribution<std::uint32_t> words{1, 64};
  for (int i = 0; i < 1000; ++i) {
    auto n = words(rng);
    std::vector<char> bytes((n + 1) * 8);
    for (auto& b : bytes)
      b = static_cast<char>(byte(rng));
    std::uint32_t header[2] = {0, n}; // one segment of n words
    std::memcpy(bytes.data(), header, sizeof(header));
    auto copy = std::make_unique<char[]>(bytes.size());
    std::memcpy(copy.get(), bytes.data(), bytes.size());
    try {
      recording_resolver resolver;
      decode_task_spec(copy.get(), bytes.size(), resolver.fn());
    } catch (const decode_error&) {
      // expected for nearly all inputs
    }
    try {
      decode_error_info(copy.get(), bytes.size());
    } catch (const decode_error&) {
      // expected for most inputs
    }
  }
}

TEST_CASE("flipped bytes in a valid message never crash", "[wire]") {
  leak_check leaks;
  auto buf = encode_task_spec(sample_spec());
  std::mt19937_64 rng{7};
  std::uniform_int_distribution<std::size_t> pos{0, buf.size() - 1};
  std::uniform_int_distribution<int> byte{0, 255};
  for (int i = 0; i < 1000; ++i) {
    std::vector<char> bytes(buf.data(), buf.data() + buf.size());
    for (int j = 0; j < 3; ++j)
      bytes[pos(rng)] = static_cast<char>(byte(rng));
    try {
      recording_resolver resolver;
      decode_task_spec(bytes.data(), bytes.size(), resolver.fn());
    } catch (const decode_error&) {
      // either outcome is fine, as long as it is one of the two
    }
  }
}

TEST_CASE("every truncation of a valid message is rejected", "[wire]") {
  leak_check leaks;
  auto buf = encode_task_spec(sample_spec());
  for (std::size_t n = 0; n < buf.size(); ++n) {
    INFO("size " << n << " of " << buf.size());
    require_decode_error(prefix(buf, n), [](const char* p, std::size_t k) {
      return decode_unresolved(p, k);
    });
  }
  error_info info;
  info.message = "boom";
  auto err = encode_error_info(info);
  for (std::size_t n = 0; n < err.size(); ++n) {
    INFO("size " << n << " of " << err.size());
    require_decode_error(prefix(err, n), [](const char* p, std::size_t k) {
      return decode_error_info(p, k);
    });
  }
}

TEST_CASE("a size that is not a multiple of 8 is rejected", "[wire]") {
  leak_check leaks;
  auto buf = encode_task_spec(sample_spec());
  for (std::size_t extra = 1; extra < 8; ++extra) {
    auto bytes = prefix(buf, buf.size());
    bytes.resize(bytes.size() + extra, '\0');
    require_decode_error(bytes, [](const char* p, std::size_t n) {
      return decode_unresolved(p, n);
    });
  }
  CHECK_THROWS_AS(decode_unresolved(nullptr, 0), decode_error);
}

TEST_CASE("trailing words after a message are rejected", "[wire]") {
  leak_check leaks;
  auto buf = encode_task_spec(sample_spec());
  auto bytes = prefix(buf, buf.size());
  bytes.resize(bytes.size() + 8, '\0');
  require_decode_error(bytes, [](const char* p, std::size_t n) {
    return decode_unresolved(p, n);
  });
}

TEST_CASE("an amplified list of empty structs is rejected", "[wire]") {
  // A 13-word message (little-endian, indices below count the segment
  // table) that claims one million empty args: within Cap'n Proto's
  // default traversal limit, but not within the one derived from the size.
  auto struct_ptr = [](std::uint64_t offset, std::uint64_t data,
                       std::uint64_t ptrs) {
    return (offset << 2) | (data << 32) | (ptrs << 48);
  };
  auto list_ptr = [](std::uint64_t offset, std::uint64_t elem_size,
                     std::uint64_t count) {
    return 1 | (offset << 2) | (elem_size << 32) | (count << 35);
  };
  std::vector<std::uint64_t> words(14, 0);
  words[0] = std::uint64_t{13} << 32;    // one segment of 13 words
  words[1] = struct_ptr(0, 3, 7);        // root TaskSpec at word 2
  words[7] = list_ptr(4, 2, 2);          // function: "f" at word 12
  words[9] = list_ptr(3, 7, 0);          // args: tag at word 13, no data
  std::memcpy(&words[12], "f", 2);       // "f" and its NUL
  words[13] = struct_ptr(1000000, 0, 0); // tag: 1M elements of 0 words
  std::vector<char> bytes(words.size() * 8);
  std::memcpy(bytes.data(), words.data(), bytes.size());
  // Cap'n Proto's wording (0.9): fails if the bytes broke for another reason.
  CHECK_THROWS_WITH(decode_unresolved(bytes.data(), bytes.size()),
                    Catch::Contains("traversal limit"));
}

// -- invalid specs
// --------------------------------------------------------------

TEST_CASE("invalid field values are rejected by name", "[wire]") {
  leak_check leaks;
  constexpr auto nan = std::numeric_limits<double>::quiet_NaN();
  constexpr auto inf = std::numeric_limits<double>::infinity();
  SECTION("empty function name") {
    auto spec = sample_spec();
    spec.function.clear();
    require_rejected(encode_task_spec(spec), "function");
  }
  SECTION("negative numCpus") {
    auto spec = sample_spec();
    spec.options.num_cpus = -1;
    require_rejected(encode_task_spec(spec), "numCpus");
  }
  SECTION("NaN or infinite numCpus") {
    auto spec = sample_spec();
    spec.options.num_cpus = nan;
    require_rejected(encode_task_spec(spec), "numCpus");
    spec.options.num_cpus = inf;
    require_rejected(encode_task_spec(spec), "numCpus");
  }
  SECTION("NaN resource amount") {
    auto spec = sample_spec();
    spec.options.resources["GPU"] = nan;
    require_rejected(encode_task_spec(spec), "resources[0].amount");
  }
  SECTION("negative or infinite resource amount") {
    auto spec = sample_spec();
    spec.options.resources["tpu"] = -0.5;
    require_rejected(encode_task_spec(spec), "resources[2].amount");
    spec.options.resources["tpu"] = inf;
    require_rejected(encode_task_spec(spec), "resources[2].amount");
  }
  SECTION("empty resource name") {
    auto spec = sample_spec();
    spec.options.resources[""] = 1;
    require_rejected(encode_task_spec(spec), "resources[0].name");
  }
}

namespace {

/// Re-encodes `buf` after `edit` changed its TaskSpec with the raw API.
template <class Edit>
byte_buffer edit_spec(const byte_buffer& buf, Edit edit) {
  auto words = kj::heapArray<capnp::word>(buf.size() / 8);
  std::memcpy(words.begin(), buf.data(), buf.size());
  capnp::FlatArrayMessageReader reader{words};
  capnp::MallocMessageBuilder builder;
  builder.setRoot(reader.getRoot<lumen::wire::TaskSpec>());
  edit(builder.getRoot<lumen::wire::TaskSpec>());
  auto flat = capnp::messageToFlatArray(builder);
  byte_buffer result;
  result.append(flat.asBytes().begin(), flat.asBytes().size());
  return result;
}

} // namespace

TEST_CASE("an unknown kind of argument is rejected", "[wire]") {
  leak_check leaks;
  auto buf = encode_task_spec(sample_spec());
  auto edited = edit_spec(buf, [](lumen::wire::TaskSpec::Builder spec) {
    capnp::AnyStruct::Builder arg = spec.getArgs()[1];
    arg.getDataSection()[0] = kj::byte{2}; // union tag: no such member
  });
  require_rejected(edited, "args[1]");
}

TEST_CASE("duplicate resource names are rejected", "[wire]") {
  leak_check leaks;
  auto buf = encode_task_spec(sample_spec());
  auto edited = edit_spec(buf, [](lumen::wire::TaskSpec::Builder spec) {
    spec.getResources()[1].setName("GPU");
  });
  require_rejected(edited, "resources[1].name");
}

TEST_CASE("an unknown error kind is rejected", "[wire]") {
  error_info info;
  info.kind = static_cast<error_kind>(200);
  auto buf = encode_error_info(info);
  CHECK_THROWS_AS(decode_error_info(buf.data(), buf.size()), decode_error);
  info.kind = static_cast<error_kind>(
    static_cast<std::uint8_t>(error_kind::owner_died) + 1);
  buf = encode_error_info(info);
  CHECK_THROWS_WITH(decode_error_info(buf.data(), buf.size()),
                    Catch::Contains("kind"));
}

// -- the resolver
// ---------------------------------------------------------------

TEST_CASE("a resolver that finds nothing is a decode error", "[wire]") {
  leak_check leaks;
  auto buf = encode_task_spec(sample_spec());
  int calls = 0;
  CHECK_THROWS_WITH(decode_task_spec(buf.data(), buf.size(),
                                     [&](const object_id& id) {
                                       // The second nested ref is missing.
                                       return ++calls == 2 ? ref_ptr{}
                                                           : make_ref(id);
                                     }),
                    Catch::Contains("args[0].nestedRefs[1]"));
}

TEST_CASE("exceptions of the resolver propagate", "[wire]") {
  leak_check leaks;
  auto buf = encode_task_spec(sample_spec());
  CHECK_THROWS_AS(decode_task_spec(buf.data(), buf.size(),
                                   [](const object_id&) -> ref_ptr {
                                     throw object_lost_error("gone");
                                   }),
                  object_lost_error);
}

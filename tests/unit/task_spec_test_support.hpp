// Helpers of the task spec codec tests (task_spec_codec_test.cpp,
// task_spec_writer_test.cpp): counted references, sample specs, and a
// field-by-field comparison.
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "wire/task_spec.hpp"
#include "wire/task_spec_codec.hpp"

namespace task_spec_test {

using namespace lumen;
using namespace lumen::detail;

// -- counted references for the resolver ----------------------------------

/// Number of ref_headers alive; every test ends with none.
inline std::atomic<int> live_headers{0};

inline void delete_header(ref_header* h) noexcept {
  --live_headers;
  delete h;
}

inline ref_ptr make_ref(const object_id& id) {
  auto* h = new ref_header;
  h->id = id;
  h->on_zero = delete_header;
  ++live_headers;
  return ref_ptr::adopt(h);
}

/// A resolver that makes a fresh reference and records each id it saw.
struct recording_resolver {
  std::vector<object_id> seen;

  ref_resolver fn() {
    return [this](const object_id& id) {
      seen.push_back(id);
      return make_ref(id);
    };
  }
};

/// Checks at scope exit that the test leaked no reference.
struct leak_check {
  ~leak_check() {
    CHECK(live_headers.load() == 0);
  }
};

// -- sample values ----------------------------------------------------------

inline object_id oid(std::uint64_t hi, std::uint64_t lo, std::uint32_t index) {
  object_id result;
  result.task.hi = hi;
  result.task.lo = lo;
  result.index = index;
  return result;
}

inline task_arg value_arg(std::string bytes, std::vector<object_id> nested) {
  auto obj = std::make_shared<object_data>();
  obj->bytes.append(bytes.data(), bytes.size());
  for (const auto& id : nested)
    obj->refs.push_back(make_ref(id));
  task_arg result;
  result.value = std::move(obj);
  return result;
}

inline task_arg ref_arg(const object_id& id) {
  task_arg result;
  result.ref = make_ref(id);
  return result;
}

/// A spec that sets every field to something other than its default.
inline task_spec sample_spec() {
  task_spec spec;
  spec.id.hi = 0x0123456789abcdefull;
  spec.id.lo = 0xfedcba9876543210ull;
  spec.parent.hi = 0xffffffffffffffffull;
  spec.parent.lo = 7;
  spec.job.hi = 0x00000000000000ffull;
  spec.job.lo = 0xabcdef0000000001ull;
  spec.depth = 3;
  spec.function = "ml::train_step";
  // Fingerprint-like prefix with zero and high bytes, then a payload.
  spec.args.push_back(
    value_arg(std::string("\x01\x00\xff\x80zzzz", 8) + "payload bytes",
              {oid(1, 2, 1), oid(3, 4, 5 | object_id::put_flag)}));
  spec.args.push_back(ref_arg(oid(9, 8, 2)));
  spec.args.push_back(value_arg("", {}));
  spec.args.push_back(value_arg(std::string(1000, 'x'), {oid(5, 6, 7)}));
  spec.options.num_cpus = 0.5;
  spec.options.resources = {{"GPU", 1.0}, {"memory", 2.5e9}, {"tpu", 0.25}};
  spec.options.max_retries = -1;
  spec.options.name = "train step";
  spec.return_id = oid(0x0123456789abcdefull, 0xfedcba9876543210ull, 1);
  spec.attempt = 2;
  return spec;
}

inline std::vector<object_id> ids_of(const std::vector<ref_ptr>& refs) {
  std::vector<object_id> result;
  for (const auto& r : refs)
    result.push_back(r.id());
  return result;
}

inline std::string bytes_of(const byte_buffer& buf) {
  return std::string(buf.data(), buf.size());
}

inline void check_equal(const task_spec& x, const task_spec& y) {
  CHECK(x.id == y.id);
  CHECK(x.parent == y.parent);
  CHECK(x.job == y.job);
  CHECK(x.depth == y.depth);
  CHECK(x.function == y.function);
  CHECK(x.options.num_cpus == y.options.num_cpus);
  CHECK(x.options.resources == y.options.resources);
  CHECK(x.options.max_retries == y.options.max_retries);
  CHECK(x.options.name == y.options.name);
  CHECK(x.return_id == y.return_id);
  CHECK(x.attempt == y.attempt);
  CHECK(x.options.retry_exceptions == y.options.retry_exceptions);
  CHECK(x.options.streaming == y.options.streaming);
  CHECK(x.options.max_unconsumed == y.options.max_unconsumed);
  CHECK(x.ns == y.ns);
  CHECK(x.options.capture_pg == y.options.capture_pg);
  CHECK(x.options.retry_on == y.options.retry_on);
  REQUIRE(x.args.size() == y.args.size());
  for (std::size_t i = 0; i < x.args.size(); ++i) {
    INFO("argument " << i);
    const auto& a = x.args[i];
    const auto& b = y.args[i];
    REQUIRE(static_cast<bool>(a.value) == static_cast<bool>(b.value));
    REQUIRE(static_cast<bool>(a.ref) == static_cast<bool>(b.ref));
    if (a.ref)
      CHECK(a.ref.id() == b.ref.id());
    if (a.value) {
      CHECK(bytes_of(a.value->bytes) == bytes_of(b.value->bytes));
      CHECK(ids_of(a.value->refs) == ids_of(b.value->refs));
      CHECK(a.value->error == nullptr);
      CHECK(b.value->error == nullptr);
    }
  }
}

} // namespace task_spec_test

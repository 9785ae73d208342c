// The TaskSpec writer (src/wire/task_spec_writer.hpp) through
// append_task_spec: what it writes reads back, with the generated readers,
// as the spec without its lineage, for specs of every shape; what it does
// not write goes to the builder, which rejects it as before.
#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "task_spec_test_support.hpp"
#include "wire/task_spec_codec.hpp"
#include "wire/task_spec_writer.hpp"

using namespace lumen;
using namespace lumen::detail;
using namespace task_spec_test;

namespace {

/// Requires that `bytes`, which append_task_spec wrote for `spec`, read
/// as `spec` without its lineage: decoded field by field, and encoded
/// again by the builder, the same bytes as the builder gives for it.
void check_appended(const task_spec& spec, const std::string& bytes) {
  CHECK(bytes.size() % 8 == 0);
  recording_resolver resolver;
  auto decoded = decode_task_spec(bytes.data(), bytes.size(), resolver.fn());
  auto plain = spec;
  plain.lineage.clear();
  check_equal(plain, decoded);
  CHECK(decoded.lineage.empty());
  CHECK(bytes_of(encode_task_spec(decoded)) ==
        bytes_of(encode_task_spec(plain)));
}

/// A spec of random shape: arguments of each kind, resources, names.
task_spec random_spec(std::mt19937_64& rng) {
  auto pick = [&](std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>{0, n}(rng);
  };
  auto text = [&](std::uint64_t max_size) {
    std::string s(pick(max_size), '\0');
    for (auto& c : s)
      c = static_cast<char>('a' + pick(25));
    return s;
  };
  auto any_oid = [&] {
    return oid(rng(), rng(), static_cast<std::uint32_t>(rng()));
  };
  task_spec spec;
  spec.id = {rng(), rng()};
  spec.parent = {rng(), rng()};
  if (pick(2) == 0)
    spec.job = {rng(), rng()};
  spec.depth = static_cast<std::uint32_t>(pick(5));
  spec.function = "f" + text(40);
  spec.options.name = text(12);
  spec.options.num_cpus = static_cast<double>(pick(8)) / 4;
  spec.options.max_retries = static_cast<int>(pick(6)) - 1;
  spec.options.retry_exceptions = pick(1) == 1;
  spec.attempt = static_cast<std::uint32_t>(pick(3));
  if (pick(2) == 0)
    spec.ns = text(10);
  if (pick(2) == 0)
    spec.options.capture_pg = text(32);
  spec.return_id = any_oid();
  for (auto n = pick(3); n > 0; --n)
    spec.options.resources.emplace("r" + text(9),
                                   static_cast<double>(pick(100)) / 8);
  for (auto n = pick(4); n > 0; --n) {
    if (pick(1) == 0) {
      spec.args.push_back(ref_arg(any_oid()));
      continue;
    }
    std::vector<object_id> nested(pick(3));
    for (auto& id : nested)
      id = any_oid();
    spec.args.push_back(value_arg(text(40), nested));
  }
  if (pick(1) == 1) { // a generator task
    spec.options.streaming = true;
    spec.options.max_unconsumed = static_cast<std::uint32_t>(pick(100));
  }
  return spec;
}

} // namespace

TEST_CASE("append_task_spec appends the spec without its lineage", "[wire]") {
  leak_check leaks;
  auto spec = sample_spec();
  spec.lineage = {"an ancestor's spec"};
  spec.options.retry_exceptions = true;
  // After other bytes (the message starts off a word boundary).
  std::string out = "before";
  append_task_spec(out, spec);
  REQUIRE(out.size() > 6);
  CHECK(out.substr(0, 6) == "before");
  check_appended(spec, out.substr(6));
  // A large argument, then the smallest spec.
  auto big = sample_spec();
  big.args.push_back(value_arg(std::string(20'000, 'b'), {}));
  std::string large;
  append_task_spec(large, big);
  check_appended(big, large);
  task_spec small;
  small.function = "f";
  std::string again;
  append_task_spec(again, small);
  check_appended(small, again);
}

TEST_CASE("append_task_spec writes specs of every shape that read back",
          "[wire]") {
  leak_check leaks;
  std::mt19937_64 rng{20261126};
  for (int i = 0; i < 300; ++i) {
    INFO("spec " << i);
    auto spec = random_spec(rng);
    std::string out;
    append_task_spec(out, spec);
    check_appended(spec, out);
    // Written directly, not by the builder.
    std::string direct;
    CHECK(write_task_spec(direct, spec));
    CHECK(direct == out);
  }
}

TEST_CASE("append_task_spec rejects what encode_task_spec rejects, "
          "appending nothing",
          "[wire]") {
  leak_check leaks;
  auto both = sample_spec();
  both.args[1].value = both.args[0].value;
  auto neither = sample_spec();
  neither.args[1].ref = {};
  auto error = sample_spec();
  auto failed = std::make_shared<object_data>();
  failed->error = std::make_shared<error_info>();
  error.args[0].value = failed;
  for (auto* spec : {&both, &neither, &error}) {
    CHECK_THROWS(encode_task_spec(*spec));
    std::string out = "kept";
    CHECK_FALSE(write_task_spec(out, *spec)); // left to the builder
    CHECK(out == "kept");
    CHECK_THROWS(append_task_spec(out, *spec));
    CHECK(out == "kept");
  }
}

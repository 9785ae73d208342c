// The pieces of num_returns and streaming generators that need no runtime:
// parts objects and pick (detail/multi_return.hpp), the generator
// coroutine (generator.hpp), and a streaming task's spec on the wire.
#include <catch2/catch.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "lumen/detail/multi_return.hpp"
#include "lumen/generator.hpp"
#include "task_spec_test_support.hpp"
#include "wire/task_spec_codec.hpp"
#include "wire/task_spec_writer.hpp"

using namespace lumen;
using namespace lumen::detail;

namespace {

generator<int> squares(int n) {
  for (int i = 0; i < n; ++i)
    co_yield i* i;
}

generator<std::string> words_then_throw() {
  co_yield std::string{"a"};
  co_yield std::string{"b"};
  throw std::runtime_error("out of words");
}

} // namespace

TEST_CASE("parts: each element of a tuple picks out as its own object",
          "[returns]") {
  std::tuple<int, std::string, std::vector<double>> t{
    7, "seven", {1.5, 2.5, 3.5}};
  auto parts = to_parts(t);
  CHECK(from_object<int>(pick_part(parts, 0)) == 7);
  CHECK(from_object<std::string>(pick_part(parts, 1)) == "seven");
  CHECK(from_object<std::vector<double>>(pick_part(parts, 2)) ==
        std::vector<double>{1.5, 2.5, 3.5});
  CHECK_THROWS_AS(pick_part(parts, 3), decode_error);
}

TEST_CASE("parts: a pair, and bad parts objects are refused", "[returns]") {
  auto parts = to_parts(std::pair<std::string, std::int64_t>{"x", -4});
  CHECK(from_object<std::string>(pick_part(parts, 0)) == "x");
  CHECK(from_object<std::int64_t>(pick_part(parts, 1)) == -4);
  // Not a parts object.
  CHECK_THROWS_AS(pick_part(to_object(42), 0), decode_error);
  // Cut short anywhere.
  for (std::size_t n = 0; n < parts.bytes.size(); ++n) {
    object_data cut;
    cut.bytes.append(parts.bytes.data(), n);
    CHECK_THROWS_AS(pick_part(cut, 1), decode_error);
  }
}

TEST_CASE("generator: yields values in order, then ends", "[streams]") {
  auto g = squares(4);
  std::vector<int> seen;
  while (g.next())
    seen.push_back(g.value());
  CHECK(seen == std::vector<int>{0, 1, 4, 9});
  CHECK_FALSE(g.next());
}

TEST_CASE("generator: the body's exception comes after its values",
          "[streams]") {
  auto g = words_then_throw();
  REQUIRE(g.next());
  CHECK(g.value() == "a");
  REQUIRE(g.next());
  CHECK(g.value() == "b");
  CHECK_THROWS_WITH(g.next(), "out of words");
  CHECK_FALSE(g.next());
}

TEST_CASE("generator: run without a stream, it counts its items", "[streams]") {
  // What lineage gets when it runs a generator again only for its count.
  auto count = run_stream(squares(5));
  CHECK(from_object<std::uint64_t>(count) == 5u);
}

TEST_CASE("task spec: a streaming task's window survives the wire",
          "[streams][wire]") {
  using namespace task_spec_test;
  auto spec = sample_spec();
  spec.lineage.clear();
  spec.options.streaming = true;
  spec.options.max_unconsumed = 17;
  recording_resolver r1;
  auto bytes = encode_task_spec(spec);
  auto decoded = decode_task_spec(bytes.data(), bytes.size(), r1.fn());
  CHECK(decoded.options.streaming);
  CHECK(decoded.options.max_unconsumed == 17u);
  std::string written;
  append_task_spec(written, spec);
  recording_resolver r2;
  auto read = decode_task_spec(written.data(), written.size(), r2.fn());
  CHECK(read.options.streaming);
  CHECK(read.options.max_unconsumed == 17u);
  spec.options.streaming = false;
  spec.options.max_unconsumed = 0;
  auto plain = encode_task_spec(spec);
  recording_resolver r3;
  CHECK_FALSE(
    decode_task_spec(plain.data(), plain.size(), r3.fn()).options.streaming);
}

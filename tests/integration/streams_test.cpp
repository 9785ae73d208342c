// Streaming generators (issue 24 item 3) on one node: items stream while
// the producer runs, backpressure, the producer's exception, stopping the
// producer when the stream is dropped or cancelled. Across nodes:
// streams_cluster_test.cpp.
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "lumen/lumen.hpp"
#include "stream_tasks.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using lumen_it::patience;

namespace {

/// A fresh file name under the temp directory, removed at scope end.
struct temp_path {
  explicit temp_path(const std::string& tag)
    : path((std::filesystem::temp_directory_path() /
            ("lumen_streams_" + tag + "_" + std::to_string(::getpid())))
             .string()) {
    std::filesystem::remove(path);
  }
  ~temp_path() {
    std::filesystem::remove(path);
  }
  std::string path;
};

/// Waits until the line count of `path` stops changing for `quiet`.
std::size_t settled_lines(const std::string& path,
                          std::chrono::milliseconds quiet = 300ms) {
  auto last = stream_tasks::count_lines(path);
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(quiet);
    auto now = stream_tasks::count_lines(path);
    if (now == last)
      return now;
    last = now;
  }
  return last;
}

} // namespace

TEST_CASE("streams: a generator's items arrive in order, then the end",
          "[streams]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto before = lumen_it::object_count();
  {
    auto stream = lumen::task(stream_tasks::count_to).remote(1000);
    std::int64_t expected = 0;
    for (lumen::object_ref<std::int64_t> ref : stream)
      REQUIRE(lumen::get(ref, patience) == expected++);
    CHECK(expected == 1000);
    CHECK(stream.consumed() == 1000u);
    CHECK(lumen::get(stream.completed(), patience) == 1000u);
    CHECK_FALSE(stream.next(1s).has_value());
  }
  CHECK(lumen::detail::open_streams() == 0);
  REQUIRE(lumen_it::await_idle());
  CHECK(lumen_it::await_object_count(before) == before);
}

TEST_CASE("streams: an empty generator ends at once", "[streams]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto stream = lumen::task(stream_tasks::count_to).remote(0);
  CHECK_FALSE(stream.next(patience).has_value());
}

TEST_CASE("streams: items are refs that outlive the stream and feed tasks",
          "[streams]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  std::vector<lumen::object_ref<std::int64_t>> kept;
  {
    auto stream = lumen::task(stream_tasks::count_to).remote(10);
    for (auto ref : stream)
      kept.push_back(ref);
  }
  REQUIRE(kept.size() == 10u);
  CHECK(lumen::get(kept[7], patience) == 7);
  auto [q, r] =
    lumen::task(stream_tasks::divmod).num_returns<2>().remote(42, 5);
  CHECK(lumen::get(q, patience) == 8);
  CHECK(lumen::get(r, patience) == 2);
}

TEST_CASE("streams: the producer pauses at max_unconsumed unread items",
          "[streams][backpressure]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  temp_path file{"pause"};
  auto stream = lumen::task(stream_tasks::count_marked)
                  .max_unconsumed(4)
                  .remote(file.path, std::int64_t{100}, 0);
  // Four items are handed over; the fifth is made, then waits for room.
  REQUIRE(lumen_it::eventually([&] {
    return stream_tasks::count_lines(file.path) >= 5;
  }));
  CHECK(settled_lines(file.path) == 5u);
  // Reading two makes room for two more.
  REQUIRE(stream.next(patience).has_value());
  REQUIRE(stream.next(patience).has_value());
  CHECK(settled_lines(file.path) == 7u);
  std::size_t n = 2;
  while (auto ref = stream.next(patience)) {
    auto s = lumen::get(*ref, patience);
    CHECK(s == lumen::node_id() + ":" + std::to_string(n));
    ++n;
  }
  CHECK(n == 100u);
}

TEST_CASE("streams: the stream ends with the producer's exception",
          "[streams][errors]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto stream = lumen::task(stream_tasks::throw_after).remote(3);
  for (int i = 0; i < 3; ++i) {
    auto ref = stream.next(patience);
    REQUIRE(ref.has_value());
    CHECK(lumen::get(*ref, patience) == i);
  }
  CHECK_THROWS_AS(stream.next(patience), lumen::task_error);
  CHECK_THROWS_WITH(stream.next(patience), Catch::Contains("boom after 3"));
}

TEST_CASE("streams: dropping the stream stops the producer and leaks "
          "nothing",
          "[streams][memory]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  temp_path file{"drop"};
  REQUIRE(lumen_it::await_idle());
  auto before = lumen_it::object_count();
  {
    auto stream = lumen::task(stream_tasks::count_marked)
                    .max_unconsumed(8)
                    .remote(file.path, std::int64_t{1'000'000}, 1);
    for (int i = 0; i < 3; ++i)
      REQUIRE(stream.next(patience).has_value());
  }
  // The generator stops at its next co_yield: its task ends.
  REQUIRE(lumen_it::await_idle());
  auto lines = settled_lines(file.path);
  CHECK(lines <= 3u + 8u + 1u);
  CHECK(lumen::detail::open_streams() == 0);
  CHECK(lumen_it::await_object_count(before) == before);
}

TEST_CASE("streams: cancel stops an unbounded producer", "[streams]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  temp_path file{"cancel"};
  auto stream = lumen::task(stream_tasks::count_marked)
                  .remote(file.path, std::int64_t{1'000'000}, 1);
  REQUIRE(stream.next(patience).has_value());
  stream.cancel();
  CHECK_FALSE(stream.next(patience).has_value());
  REQUIRE(lumen_it::await_idle());
  auto lines = settled_lines(file.path);
  CHECK(lines < 100'000u);
  CHECK(lumen::detail::stream_stop(stream.task()) == false);
}

TEST_CASE("streams: lumen::cancel of a generator's task stops its producer "
          "and ends its stream",
          "[streams][cancel]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  temp_path file{"lumen_cancel"};
  auto stream = lumen::task(stream_tasks::count_marked)
                  .remote(file.path, std::int64_t{1'000'000}, 1);
  REQUIRE(stream.next(patience).has_value());
  lumen::cancel(stream.completed());
  CHECK_FALSE(stream.next(patience).has_value());
  CHECK_THROWS_AS(lumen::get(stream.completed(), patience),
                  lumen::task_cancelled_error);
  REQUIRE(lumen_it::await_idle());
  // It stopped within a few items of the cancel, not at a million.
  CHECK(settled_lines(file.path) < 100'000u);
  CHECK(lumen::detail::open_streams() == 0);
}

TEST_CASE("streams: stream_stop, the hook for lumen::cancel, stops it by "
          "task id",
          "[streams]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto stream = lumen::task(stream_tasks::count_marked)
                  .max_unconsumed(2)
                  .remote(std::string{}, std::int64_t{1'000'000}, 0);
  REQUIRE(stream.next(patience).has_value());
  CHECK(lumen::detail::stream_stop(stream.task()));
  CHECK_FALSE(stream.next(patience).has_value());
  CHECK(lumen_it::await_idle());
}

TEST_CASE("streams: an actor's generator method streams its items",
          "[streams][actor]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  auto s = lumen::actor(stream_tasks::Splitter::create).remote(10);
  auto stream =
    s.task(&stream_tasks::Splitter::upto).max_unconsumed(3).remote(50);
  int expected = 10;
  for (auto ref : stream)
    REQUIRE(lumen::get(ref, patience) == expected++);
  CHECK(expected == 60);
}

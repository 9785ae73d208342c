// Functions and an actor for the num_returns and streaming generator tests
// (tests/integration/returns_test.cpp, streams_test.cpp), on one node and
// on node processes that load this library.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <lumen/actor.hpp>
#include <lumen/generator.hpp>

namespace stream_tasks {

/// x * 2, the id of the node running it, and make_blob(blob, x) (large:
/// it stays on the node that made it).
std::tuple<int, std::string, std::vector<char>> split3(int x,
                                                       std::int64_t blob);

/// Quotient and remainder; throws std::domain_error when b is 0.
std::pair<int, int> divmod(int a, int b);

/// Appends a line to `path` (so a test can see it ran), sleeps `ms`, then
/// returns x and the id of the node it ran on.
std::pair<int, std::string> nap_pair(std::string path, int ms, int x);

/// 0, 1, ..., n-1.
lumen::generator<std::int64_t> count_to(std::int64_t n);

/// Yields "<node id>:<i>" for i in 0..n-1; appends "i\n" to `path` (if
/// not empty) before each co_yield, and sleeps `ms` milliseconds after.
lumen::generator<std::string> count_marked(std::string path, std::int64_t n,
                                           int ms);

/// 0, ..., n-1, then throws std::runtime_error("boom after <n>").
lumen::generator<int> throw_after(int n);

/// Appends "<node id>\n" to `path` when it starts, then yields i for i
/// in 0..n-1, sleeping `ms` after each.
lumen::generator<std::int64_t> count_noted(std::string path, std::int64_t n,
                                           int ms);

/// An actor whose methods return several values, or yield them.
struct Splitter {
  static Splitter* create(int base);

  /// base + x and the node id.
  std::tuple<int, std::string> both(int x);

  /// base, base + 1, ..., base + n - 1.
  lumen::generator<int> upto(int n);

  /// As count_marked, from an actor: "<node id>:<i>" for i in 0..n-1,
  /// appending "i\n" to `path` before each co_yield.
  lumen::generator<std::string> marked(std::string path, std::int64_t n);

  int base = 0;
};

/// The sum of a.upto(n)'s items, read as they stream where this runs.
std::int64_t sum_upto(lumen::actor_handle<Splitter> a, int n);

/// Lines in the file `path` (0 if it does not exist).
std::size_t count_lines(const std::string& path);

} // namespace stream_tasks

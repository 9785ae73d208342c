// Functions and actors the chaos tests (tests/chaos/) run on node processes
// while nodes are killed under them; part of liblumen_cluster_test_tasks.so
// like cluster_tasks.hpp.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <lumen/actor.hpp>

namespace chaos_tasks {

/// Size of every value in the task tree: 50 KB.
inline constexpr std::size_t tree_value_size = 50 * 1024;

/// A leaf's value: tree_value_size bytes, byte i being (i * 131 + seed * 7)
/// mod 256. Plain function, no task.
std::vector<char> tree_leaf(std::int64_t seed);

/// An inner node's value from its children's values (in child order):
/// byte i is (sum over children c of (c + 1) * child_c[i], plus seed + i)
/// mod 256. Plain function, no task.
std::vector<char> tree_combine(const std::vector<std::vector<char>>& children,
                               std::int64_t seed);

/// The seed of child `i` (0-based) of a node with `seed` and `fanout`.
std::int64_t tree_child_seed(std::int64_t seed, int fanout, int i);

/// A tree of tasks: at depth 0 sleeps `leaf_ms` and returns tree_leaf(seed);
/// otherwise submits `fanout` child tasks (one level down, child seeds from
/// tree_child_seed, `max_retries(-1)`, each holding 1 of the custom resource
/// "worker"), gets them and returns tree_combine of their values.
std::vector<char> tree(int depth, int fanout, std::int64_t seed, int leaf_ms);

/// What `tree(depth, fanout, seed, _)` returns, by plain recursion in the
/// calling process.
std::vector<char> tree_expected(int depth, int fanout, std::int64_t seed);

/// Counts the sequence numbers it is given; lives on the head in the tests.
struct Collector {
  static Collector* create();

  /// Records `seq`; returns how many numbers (with repeats) it has seen.
  std::int64_t add(std::int64_t seq);

  /// The distinct numbers seen so far.
  std::set<std::int64_t> seen();

  std::set<std::int64_t> numbers{};
  std::int64_t count = 0;
};

/// Passes sequence numbers on to a Collector; restarted when its node dies.
struct Forwarder {
  static Forwarder* create(int index);

  /// Sleeps `ms`, then adds `seq` to `collector` and waits for it; returns
  /// `seq`.
  std::int64_t forward(lumen::actor_handle<Collector> collector,
                       std::int64_t seq, int ms);

  /// The id of the node hosting this instance.
  std::string node();

  /// Waits for a task that needs the resource "nowhere", which no node
  /// has: returns only when the node shuts down (then it throws).
  int stall();

  int index = 0;
};

} // namespace chaos_tasks

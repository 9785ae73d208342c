// Functions the cluster tests run on node processes, which load them with
// `lumen start --load liblumen_cluster_test_tasks.so`; the test driver
// links the same library, so both register the same names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <lumen/actor.hpp>

namespace cluster_tasks {

/// The id of the node running the task, and `x`.
std::string where(int x);

/// `n` bytes, byte i being (i * 31 + seed) mod 251.
std::vector<char> make_blob(std::int64_t n, int seed);

/// The id of the node running it, and whether `blob` is make_blob(n, seed).
std::string check_blob(std::vector<char> blob, std::int64_t n, int seed);

/// Sleeps `ms` milliseconds, then returns the node id.
std::string nap(int ms);

/// Appends the id of the node running it and a newline to the file `path`
/// (flushed before it goes on), then sleeps `ms` milliseconds; returns the
/// node id. The file tells a test where, and how often, the task ran.
std::string mark_and_nap(std::string path, int ms);

/// `n` numbers 0, 1, ..., n-1 (8 n bytes: large values stay on the node
/// that made them).
std::vector<std::int64_t> chain_start(std::int64_t n);

/// `v` with `k` added to each element.
std::vector<std::int64_t> chain_step(std::vector<std::int64_t> v,
                                     std::int64_t k);

/// The sum of `v`'s elements.
std::int64_t chain_sum(std::vector<std::int64_t> v);

struct Tally;

/// Adds `x` to the Tally actor named `name` in namespace "it", found from
/// wherever this runs; returns the new total.
int bump_named(std::string name, int x);

/// Adds `x` through a handle passed in as an argument.
int bump_handle(lumen::actor_handle<Tally> h, int x);

/// Adds `x` to each Tally in `hs` (handles nested in a value), in order;
/// returns the sum of their new totals.
int bump_all(std::vector<lumen::actor_handle<Tally>> hs, int x);

/// An actor with state, to place on nodes by resource.
struct Tally {
  static Tally* create(int start);

  /// Adds `x`; returns the running total.
  int add(int x);

  /// The id of the node hosting the actor.
  std::string node();

  /// lumen::was_current_actor_restarted() in this instance.
  bool restarted();

  /// Counts the bytes of `text`; returns the count so far.
  long long add_text(std::string text);

  int total = 0;
  long long chars = 0;
};

/// An actor that gets Tally handles as factory arguments, nested in a
/// value, as the parameter server's workers get their shards.
struct Relay {
  static Relay* create(std::vector<lumen::actor_handle<Tally>> tallies);

  /// bump_all(tallies, x) from inside the actor.
  int bump(int x);

  /// Keeps `more` too; returns how many it holds.
  int take(std::vector<lumen::actor_handle<Tally>> more);

  /// Drops the handles it holds; returns how many it held.
  int drop();

  std::vector<lumen::actor_handle<Tally>> tallies;
};

} // namespace cluster_tasks

// Functions and an actor the borrowing tests (integration/
// borrow_cluster_test.cpp) run on node processes: refs made, returned,
// relayed, kept and read on other nodes than their owner's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <lumen/object_ref.hpp>

namespace borrow_tasks {

using refs = std::vector<lumen::object_ref<std::int64_t>>;

/// Puts `n` objects base, base+1, ... on the node running it and returns
/// refs to them (owned by that node).
refs make_refs(int n, std::int64_t base);

/// Runs make_refs(n, base) on node `node` and returns its refs: the caller
/// gets refs made two hops away.
refs relay_refs(int n, std::int64_t base, std::string node);

/// The sum of the objects `rs` name, read where this runs.
std::int64_t sum_refs(refs rs);

/// Sleeps `ms` milliseconds holding `rs`, then returns their sum.
std::int64_t hold_refs(refs rs, int ms);

/// Refs with padding that makes the whole more than 256 KiB: a value that
/// travels between nodes by pull, not inline.
using big_bag = std::pair<refs, std::vector<std::int64_t>>;

/// make_refs(n, base) with 64 Ki padding elements (512 KiB).
big_bag make_big_bag(int n, std::int64_t base);

/// The sum of the objects the bag's refs name, read where this runs; -1 if
/// its padding did not arrive whole.
std::int64_t sum_bag(big_bag bag);

/// Objects in the object table of the node running it (pending ones too).
std::uint64_t node_objects();

/// Keeps refs it is given and reads or returns them later.
struct Keeper {
  static Keeper* create();
  /// Keeps `rs` (added to those kept); returns how many it keeps.
  std::int64_t keep(refs rs);
  /// The sum of the kept objects, read where the actor lives.
  std::int64_t sum();
  /// The kept refs, which it then drops.
  refs give();
  refs kept;
};

} // namespace borrow_tasks

// Scale on one node (the performance issue's envelope): a million queued
// tasks complete with memory bounded by the queue, 10,000 actors each
// answer, a task given 10,000 refs sums them, a get of 10,000 objects
// returns every value. Tagged [scale]: ctest labels them "scale", runs
// each alone, with a timeout of its own (tests/CMakeLists.txt).
#include <malloc.h>

#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

#include "lumen/lumen.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;

namespace {

/// Queued tasks, actors, refs and objects: the sizes.
constexpr int million = 1'000'000;
constexpr int ten_thousand = 10'000;

/// Bound on the resident memory a queued task may add, with its ref held
/// by the caller. What one takes (measured at about 1.5 KiB): the spec
/// (ids, function and display names, options, the encoded argument), the
/// entry of its return object in the object table and the caller's ref,
/// its place in the node's queue, and its lineage row until the GCS has
/// committed it (the encoded spec, kept in memory and written once by
/// RocksDB). 3 KiB leaves room for allocator slack and RocksDB's write
/// buffers, which are bounded but show up in the same resident figure;
/// a per-task leak or a copy of the queue would pass it.
constexpr double max_bytes_per_queued_task = 3 * 1024;

lumen_it::gate scl_gate;
lumen_it::occupancy scl_held;

/// Holds its CPU until the gate opens (outside Lumen, so the CPU is not
/// given back as in lumen::get); 1 if it opened in time.
int scl_block() {
  scl_held.enter();
  bool opened = scl_gate.wait(10min);
  scl_held.leave();
  return opened ? 1 : 0;
}

int scl_echo(int i) {
  return i;
}

std::int64_t scl_sum(std::vector<lumen::object_ref<int>> refs) {
  std::int64_t sum = 0;
  for (int v : lumen::get(refs, 5min))
    sum += v;
  return sum;
}

struct ScaleActor {
  static ScaleActor* create(int i) {
    return new ScaleActor{i};
  }

  int index() {
    return i;
  }

  int i = 0;
};

double cpus_available() {
  auto s = lumen_it::snapshot();
  return s.available.count("CPU") > 0 ? s.available.at("CPU") : 0.0;
}

} // namespace

LUMEN_REMOTE(scl_block, scl_echo, scl_sum, ScaleActor::create,
             &ScaleActor::index);

TEST_CASE("scale: a million queued tasks complete in memory bounded by the "
          "queue",
          "[scale]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  scl_gate.close();
  scl_held.reset();
  auto objects_before = lumen_it::object_count();
  std::vector<lumen::object_ref<int>> blockers;
  for (int i = 0; i < 2; ++i)
    blockers.push_back(lumen::task(scl_block).remote());
  REQUIRE(lumen_it::await_entered(scl_held, 2));
  ::malloc_trim(0); // pages freed before go back: the growth counts all
  auto before = lumen_it::resident_bytes();
  std::vector<lumen::object_ref<int>> refs;
  refs.reserve(million);
  for (int i = 0; i < million; ++i)
    refs.push_back(lumen::task(scl_echo).remote(i));
  // Every one waits in the node's queue: both CPUs are held.
  bool all_queued = lumen_it::eventually(
    [] {
      return lumen_it::snapshot().queued >= million;
    },
    2min);
  auto after = lumen_it::resident_bytes();
  auto per_task =
    (static_cast<double>(after) - static_cast<double>(before)) / million;
  auto ran_early =
    lumen::wait(std::vector{refs.front(), refs.back()}, 1, 0ms).ready.size();
  scl_gate.open();
  CHECK(all_queued);
  CHECK(ran_early == 0);
  for (int v : lumen::get(blockers, 1min))
    CHECK(v == 1);
  auto values = lumen::get(refs, 5min);
  REQUIRE(values.size() == refs.size());
  int wrong = 0;
  for (std::size_t i = 0; i < values.size(); ++i)
    wrong += values[i] == static_cast<int>(i) ? 0 : 1;
  CHECK(wrong == 0);
  INFO("resident growth while queued: " << per_task << " bytes per task ("
                                        << before << " -> " << after << ")");
  CHECK(per_task < max_bytes_per_queued_task);
  // The memory goes with the queue: the results are freed with their refs,
  // and the CPUs are all free again.
  refs.clear();
  blockers.clear();
  CHECK(lumen_it::await_object_count(objects_before, 1min) == objects_before);
  CHECK(lumen_it::eventually([] {
    return cpus_available() == 2;
  }));
}

TEST_CASE("scale: 10,000 actors on one node each answer", "[scale]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  std::vector<lumen::actor_handle<ScaleActor>> actors;
  actors.reserve(ten_thousand);
  for (int i = 0; i < ten_thousand; ++i)
    actors.push_back(lumen::actor(ScaleActor::create).remote(i));
  std::vector<lumen::object_ref<int>> refs;
  refs.reserve(ten_thousand);
  for (auto& a : actors)
    refs.push_back(a.task(&ScaleActor::index).remote());
  auto values = lumen::get(refs, 5min);
  REQUIRE(values.size() == refs.size());
  int wrong = 0;
  for (int i = 0; i < ten_thousand; ++i)
    wrong += values[static_cast<std::size_t>(i)] == i ? 0 : 1;
  CHECK(wrong == 0);
  CHECK(lumen_it::snapshot().actors == ten_thousand);
  // The last handle of each gone: all 10,000 end.
  refs.clear();
  actors.clear();
  CHECK(lumen_it::eventually(
    [] {
      return lumen_it::snapshot().actors == 0;
    },
    2min));
}

TEST_CASE("scale: a task given 10,000 refs sums their values", "[scale]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  // Half put, half results of tasks still to run when the sum is asked.
  std::vector<lumen::object_ref<int>> refs;
  refs.reserve(ten_thousand);
  for (int i = 0; i < ten_thousand; ++i)
    refs.push_back(i % 2 == 0 ? lumen::put(i)
                              : lumen::task(scl_echo).remote(i));
  auto sum = lumen::get(lumen::task(scl_sum).remote(refs), 5min);
  CHECK(sum == std::int64_t{ten_thousand} * (ten_thousand - 1) / 2);
}

TEST_CASE("scale: a get of 10,000 objects returns every value", "[scale]") {
  lumen::init_guard guard{lumen::config{.num_cpus = 2}};
  constexpr std::size_t elements = 1000;
  std::vector<lumen::object_ref<std::vector<std::int64_t>>> refs;
  refs.reserve(ten_thousand);
  for (int i = 0; i < ten_thousand; ++i)
    refs.push_back(lumen::put(std::vector<std::int64_t>(elements, i)));
  auto values = lumen::get(refs, 5min);
  REQUIRE(values.size() == refs.size());
  int wrong = 0;
  for (std::size_t i = 0; i < values.size(); ++i)
    wrong += values[i] == std::vector<std::int64_t>(
                            elements, static_cast<std::int64_t>(i))
               ? 0
               : 1;
  CHECK(wrong == 0);
}

// lineage_pins: which tasks' lineage an owner still needs (lineage
// collection): single tasks, chains, diamonds, dependencies owned
// elsewhere, and a chain of a million.
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "lineage/lineage_pins.hpp"

using lumen::task_id;
using lumen::detail::lineage_pins;

namespace {

task_id t(std::uint64_t n) {
  return task_id{0, n};
}

std::vector<std::uint64_t> numbers(const std::vector<task_id>& ts) {
  std::vector<std::uint64_t> out;
  for (auto& x : ts)
    out.push_back(x.lo);
  std::sort(out.begin(), out.end());
  return out;
}

using list = std::vector<std::uint64_t>;

} // namespace

TEST_CASE("lineage pins: a task without ref arguments is collected when "
          "its object goes",
          "[lineage][gc]") {
  lineage_pins pins;
  pins.submitted(t(1), {});
  CHECK(pins.records() == 0);
  CHECK(pins.freed(t(1)));       // the queue was empty: wake the taker
  CHECK_FALSE(pins.freed(t(2))); // queued already
  CHECK(numbers(pins.take_collected()) == list{1, 2});
  CHECK(pins.take_collected().empty());
  CHECK(pins.collected_total() == 2);
}

TEST_CASE("lineage pins: a freed argument stays while a downstream object "
          "is referenced",
          "[lineage][gc]") {
  lineage_pins pins;
  // 1 -> 2 -> 3: each takes the one before as an argument.
  pins.submitted(t(2), {t(1)});
  pins.submitted(t(3), {t(2)});
  pins.freed(t(1));
  pins.freed(t(2));
  CHECK(
    pins.take_collected().empty()); // 3 is referenced: 2 and 1 may rebuild it
  CHECK(pins.records() == 3);
  CHECK(pins.freed(t(3)));
  CHECK(numbers(pins.take_collected()) == list{1, 2, 3});
  CHECK(pins.records() == 0);
}

TEST_CASE("lineage pins: an argument still referenced stays after its "
          "downstream task is collected",
          "[lineage][gc]") {
  lineage_pins pins;
  pins.submitted(t(2), {t(1)});
  pins.freed(t(2));
  CHECK(numbers(pins.take_collected()) == list{2});
  CHECK(pins.records() == 0); // 1 needs no record while it is referenced
  pins.freed(t(1));
  CHECK(numbers(pins.take_collected()) == list{1});
}

TEST_CASE("lineage pins: a diamond goes when its last object does",
          "[lineage][gc]") {
  lineage_pins pins;
  // 1 feeds 2 and 3; 4 takes 2 and 3, and 1 again.
  pins.submitted(t(2), {t(1)});
  pins.submitted(t(3), {t(1)});
  pins.submitted(t(4), {t(2), t(3), t(1)});
  for (auto n : {1, 2, 3})
    pins.freed(t(n));
  CHECK(pins.take_collected().empty());
  pins.freed(t(4));
  CHECK(numbers(pins.take_collected()) == list{1, 2, 3, 4});
  CHECK(pins.records() == 0);
}

TEST_CASE("lineage pins: two downstream tasks each keep an argument",
          "[lineage][gc]") {
  lineage_pins pins;
  pins.submitted(t(2), {t(1)});
  pins.submitted(t(3), {t(1)});
  pins.freed(t(1));
  pins.freed(t(2));
  CHECK(numbers(pins.take_collected()) == list{2});
  pins.freed(t(3));
  CHECK(numbers(pins.take_collected()) == list{1, 3});
}

TEST_CASE("lineage pins: a dependency owned elsewhere leaves no record",
          "[lineage][gc]") {
  lineage_pins pins;
  // 9 was submitted on another node: freed is never called for it here.
  pins.submitted(t(2), {t(9)});
  CHECK(pins.records() == 2);
  pins.freed(t(2));
  CHECK(numbers(pins.take_collected()) == list{2});
  CHECK(pins.records() == 0);
}

TEST_CASE("lineage pins: a task submitted again pins its arguments once",
          "[lineage][gc]") {
  lineage_pins pins;
  pins.submitted(t(2), {t(1)});
  pins.submitted(t(2), {t(1)}); // its parent ran again
  pins.freed(t(1));
  pins.freed(t(2));
  CHECK(numbers(pins.take_collected()) == list{1, 2});
  CHECK(pins.records() == 0);
}

TEST_CASE("lineage pins: a chain of a million is collected without "
          "recursion",
          "[lineage][gc]") {
  lineage_pins pins;
  constexpr std::uint64_t n = 1'000'000;
  for (std::uint64_t i = 2; i <= n; ++i)
    pins.submitted(t(i), {t(i - 1)});
  for (std::uint64_t i = 1; i < n; ++i)
    pins.freed(t(i));
  CHECK(pins.take_collected().empty());
  pins.freed(t(n));
  auto all = pins.take_collected();
  CHECK(all.size() == n);
  CHECK(all.front() == t(n)); // downstream first
  CHECK(pins.records() == 0);
}

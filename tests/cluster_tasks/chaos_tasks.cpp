// The functions and actors behind chaos_tasks.hpp, registered with
// LUMEN_REMOTE.
#include "chaos_tasks.hpp"

#include <chrono>
#include <thread>

#include <lumen/lumen.hpp>

namespace chaos_tasks {

namespace {

/// How long a task in the tree waits for its children, and a forwarder for
/// the collector: far longer than a failure-free run, short enough that a
/// hang surfaces as an error rather than a stuck test.
constexpr auto patience = std::chrono::seconds(120);

} // namespace

std::vector<char> tree_leaf(std::int64_t seed) {
  std::vector<char> v(tree_value_size);
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] =
      static_cast<char>((static_cast<std::int64_t>(i) * 131 + seed * 7) & 0xff);
  return v;
}

std::vector<char> tree_combine(const std::vector<std::vector<char>>& children,
                               std::int64_t seed) {
  std::vector<char> v(tree_value_size);
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::int64_t sum = seed + static_cast<std::int64_t>(i);
    for (std::size_t c = 0; c < children.size(); ++c)
      sum += static_cast<std::int64_t>(c + 1) *
             static_cast<unsigned char>(children[c].at(i));
    v[i] = static_cast<char>(sum & 0xff);
  }
  return v;
}

std::int64_t tree_child_seed(std::int64_t seed, int fanout, int i) {
  return seed * fanout + i + 1;
}

std::vector<char> tree(int depth, int fanout, std::int64_t seed, int leaf_ms) {
  if (depth <= 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(leaf_ms));
    return tree_leaf(seed);
  }
  std::vector<lumen::object_ref<std::vector<char>>> refs;
  for (int i = 0; i < fanout; ++i)
    refs.push_back(
      lumen::task(tree)
        .max_retries(-1)
        .resources({{"worker", 1}})
        .remote(depth - 1, fanout, tree_child_seed(seed, fanout, i), leaf_ms));
  return tree_combine(lumen::get(refs, patience), seed);
}

std::vector<char> tree_expected(int depth, int fanout, std::int64_t seed) {
  if (depth <= 0)
    return tree_leaf(seed);
  std::vector<std::vector<char>> children;
  for (int i = 0; i < fanout; ++i)
    children.push_back(
      tree_expected(depth - 1, fanout, tree_child_seed(seed, fanout, i)));
  return tree_combine(children, seed);
}

Collector* Collector::create() {
  return new Collector{};
}

std::int64_t Collector::add(std::int64_t seq) {
  numbers.insert(seq);
  return ++count;
}

std::set<std::int64_t> Collector::seen() {
  return numbers;
}

Forwarder* Forwarder::create(int index) {
  return new Forwarder{index};
}

std::int64_t Forwarder::forward(lumen::actor_handle<Collector> collector,
                                std::int64_t seq, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  lumen::get(collector.task(&Collector::add).remote(seq), patience);
  return seq;
}

std::string Forwarder::node() {
  return lumen::node_id();
}

int Forwarder::stall() {
  auto never = lumen::task(tree).resources({{"nowhere", 1}}).remote(0, 0, 0, 0);
  return static_cast<int>(lumen::get(never).size());
}

} // namespace chaos_tasks

LUMEN_REMOTE(chaos_tasks::tree);
LUMEN_REMOTE(chaos_tasks::Collector::create, &chaos_tasks::Collector::add,
             &chaos_tasks::Collector::seen);
LUMEN_REMOTE(chaos_tasks::Forwarder::create, &chaos_tasks::Forwarder::forward,
             &chaos_tasks::Forwarder::node, &chaos_tasks::Forwarder::stall);

// Streaming generators: `generator_items` (one producer, one consumer,
// small items, on this node) and `two_node_generator_items` (the producer
// on the second node; measured from bench_two_nodes.cpp).
#include <cstdint>
#include <string>
#include <vector>

#include <lumen/lumen.hpp>

#include "bench/bench_workloads.hpp"

namespace lumen_bench {

/// 0, 1, ..., n-1.
lumen::generator<std::int64_t> stream_items(std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    co_yield i;
}

} // namespace lumen_bench

LUMEN_REMOTE(lumen_bench::stream_items);

namespace lumen::cli::bench {

namespace {

constexpr std::int64_t items_per_step = 10'000;

/// Reads a stream of items_per_step items, getting each; checks their sum.
void read_stream(const std::string& node, const char* what) {
  auto caller = lumen::task(lumen_bench::stream_items).max_unconsumed(1024);
  if (!node.empty())
    caller.node_affinity(node);
  auto stream = caller.remote(items_per_step);
  std::int64_t sum = 0;
  std::int64_t n = 0;
  for (auto ref : stream) {
    sum += lumen::get(ref);
    ++n;
  }
  check_eq(n, items_per_step, what);
  check_eq(sum, items_per_step * (items_per_step - 1) / 2, what);
}

} // namespace

std::vector<workload> stream_workloads() {
  return {workload{{"generator_items"}, [](const timing& t) {
                     return std::vector<result>{
                       timeit("generator_items", "/s",
                              static_cast<double>(items_per_step), t, [] {
                                read_stream({}, "generator_items");
                              })};
                   }}};
}

result measure_stream(const std::string& other, const timing& t,
                      const std::string& name) {
  return timeit(name, "/s", static_cast<double>(items_per_step), t, [&] {
    read_stream(other, name.c_str());
  });
}

} // namespace lumen::cli::bench

// Spreading work over a cluster: pi estimated by Monte Carlo in chunks, each
// chunk a task placed with .spread(), each result saying which node ran it.
//
//   ./cluster                            the embedded one-node cluster
//   LUMEN_ADDRESS=HOST:PORT ./cluster    a driver of the cluster at HOST:PORT
//   ./cluster --address HOST:PORT        the same
//   LUMEN_NODE_ROLE=worker LUMEN_ADDRESS=HOST:PORT ./cluster
//                                        this binary as a worker node of that
//                                        cluster, until SIGTERM (MPI-style:
//                                        it knows count_hits because it is
//                                        the same program)
//
// The README's "From one machine to three" walks through all three.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <lumen/lumen.hpp>

/// Throws `samples` darts at the unit square; returns the node that ran
/// this and how many darts fell inside the quarter circle.
std::pair<std::string, std::int64_t> count_hits(std::int64_t samples,
                                                std::uint64_t seed) {
  std::mt19937_64 rng{seed};
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  std::int64_t hits = 0;
  for (std::int64_t i = 0; i < samples; ++i) {
    double x = unit(rng);
    double y = unit(rng);
    if (x * x + y * y <= 1.0)
      ++hits;
  }
  return {lumen::node_id(), hits};
}

LUMEN_REMOTE(count_hits);

namespace {

constexpr int chunks = 32;
constexpr std::int64_t samples_per_chunk = 1'000'000;

std::string short_id(const std::string& id) {
  return id.substr(0, 8);
}

std::string role_of(const lumen::node_info& n) {
  if (n.head)
    return "head";
  return n.driver ? "driver" : "worker";
}

} // namespace

int main(int argc, char** argv) {
  lumen::config cfg;
  if (argc == 3 && std::strcmp(argv[1], "--address") == 0)
    cfg.address = argv[2];
  else if (argc != 1) {
    std::fprintf(stderr, "usage: %s [--address HOST:PORT]\n", argv[0]);
    return 2;
  }
  try {
    // No address and no LUMEN_ADDRESS: the embedded one-node cluster. With
    // LUMEN_NODE_ROLE=worker, init runs this process as a worker node and
    // never returns.
    lumen::init_guard lumen{cfg};

    double cpus = 0;
    std::printf("nodes (this one first):\n");
    for (auto& n : lumen::nodes()) {
      if (!n.alive)
        continue; // e.g. drivers that have finished
      auto cpu = n.resources_total.find("CPU");
      double node_cpus = cpu == n.resources_total.end() ? 0 : cpu->second;
      cpus += node_cpus;
      std::printf("  %s  %-6s  %-21s  %g CPU\n", short_id(n.id).c_str(),
                  role_of(n).c_str(),
                  n.address.empty() ? "(embedded)" : n.address.c_str(),
                  node_cpus);
    }
    if (cpus == 0) {
      std::fprintf(stderr, "no node offers a CPU: start workers first\n");
      return 1;
    }

    // One task per chunk, spread round robin over the nodes with a CPU.
    std::vector<lumen::object_ref<std::pair<std::string, std::int64_t>>> refs;
    for (int i = 0; i < chunks; ++i)
      refs.push_back(
        lumen::task(count_hits)
          .spread()
          .remote(samples_per_chunk, static_cast<std::uint64_t>(i + 1)));

    std::int64_t hits = 0;
    std::map<std::string, int> chunks_by_node;
    for (auto& [node, node_hits] : lumen::get(refs)) {
      hits += node_hits;
      ++chunks_by_node[node];
    }
    double pi = 4.0 * static_cast<double>(hits) /
                static_cast<double>(chunks * samples_per_chunk);
    std::printf("pi ~ %.5f from %d chunks of %lld samples\n", pi, chunks,
                static_cast<long long>(samples_per_chunk));
    for (auto& [node, count] : chunks_by_node)
      std::printf("  %2d chunks ran on %s%s\n", count, short_id(node).c_str(),
                  node == lumen::node_id() ? " (this process)" : "");
    return std::abs(pi - std::acos(-1.0)) < 0.01 ? 0 : 1;
  } catch (const lumen::error& e) {
    std::fprintf(stderr, "cluster: %s\n", e.what());
    return 1;
  }
}

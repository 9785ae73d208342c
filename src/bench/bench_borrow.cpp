// Borrowing across two nodes (docs/architecture.md, "Borrowing"): refs
// owned by the second node, borrowed by this one.
//
// - two_node_get_object_containing_1k_refs: an actor on the second node
//   holds 1,000 refs to objects it put; each get here of its `refs()`
//   result decodes an object holding 1,000 refs borrowed from there (and
//   drops them again). Objects got per second.
// - two_node_borrowed_refs_released: 100,000 refs borrowed from the second
//   node are dropped here at once; timed until the owner's store counts no
//   registration for them any more (polled with a task on that node).
//   Refs released at their owner per second.
// - two_node_borrowed_refs_resident_growth_mib and _heap_growth_mib: what
//   that workload's rounds left behind, on both nodes together: resident
//   memory (read after the allocators returned their free pages) and
//   allocated bytes, from after its first round (which sizes the pools)
//   to after its last. Both nodes' figures are printed to stderr.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <lumen/lumen.hpp>

#include "bench/bench_harness.hpp"
#include "bench/bench_workloads.hpp"
#include "bench/process_memory.hpp"
#include "node/embedded_runtime.hpp"

namespace lumen_bench {

/// Holds refs to objects it put on its node.
struct ref_holder {
  static ref_holder* create(int n) {
    auto* h = new ref_holder{};
    h->held.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
      h->held.push_back(lumen::put(i));
    return h;
  }

  /// Copies of the refs it holds.
  std::vector<lumen::object_ref<int>> refs() {
    return held;
  }

  std::vector<lumen::object_ref<int>> held;
};

/// Registrations that other nodes hold on objects owned by the node
/// running it.
std::uint64_t lent_registrations() {
  auto* rt = lumen::detail::current_embedded_runtime();
  return rt == nullptr ? 0 : rt->borrow_stats()[1];
}

/// (resident bytes, allocated bytes) of the process running it, read
/// after its allocator returned its free pages.
std::pair<double, double> memory_here() {
  lumen::cli::bench::return_free_pages();
  return {lumen::cli::bench::resident_bytes(), lumen::cli::bench::heap_bytes()};
}

} // namespace lumen_bench

LUMEN_REMOTE(lumen_bench::ref_holder::create, &lumen_bench::ref_holder::refs);
LUMEN_REMOTE(lumen_bench::lent_registrations, lumen_bench::memory_here);

namespace lumen::cli::bench {

namespace {

using lumen_bench::ref_holder;

std::uint64_t lent_at(const std::string& other) {
  return lumen::get(
    lumen::task(lumen_bench::lent_registrations).node_affinity(other).remote(),
    std::chrono::seconds(30));
}

std::pair<double, double> memory_at(const std::string& other) {
  return lumen::get(
    lumen::task(lumen_bench::memory_here).node_affinity(other).remote(),
    std::chrono::seconds(30));
}

/// Waits (bounded) until the owner counts at most `n` registrations.
void wait_lent_at_most(const std::string& other, std::uint64_t n,
                       const char* what) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (lent_at(other) > n) {
    if (std::chrono::steady_clock::now() > deadline)
      throw failure(std::string{what} + ": the owner still counts " +
                    std::to_string(lent_at(other)) +
                    " registrations after 60 s");
  }
}

} // namespace

void measure_borrowing(const std::string& other, const timing& t,
                       const std::string& get_name, bool get,
                       const std::string& release_name, bool release,
                       std::vector<result>& out) {
  if (get) {
    auto h = lumen::actor(ref_holder::create).node_affinity(other).remote(1000);
    out.push_back(timeit(get_name, "/s", 10, t, [&] {
      for (int i = 0; i < 10; ++i) {
        auto refs = lumen::get(h.task(&ref_holder::refs).remote());
        check_eq(refs.size(), std::size_t{1000},
                 "refs in the object got from the second node");
      }
    }));
  }
  if (release) {
    constexpr int batch = 100'000;
    auto h =
      lumen::actor(ref_holder::create).node_affinity(other).remote(batch);
    using clock = std::chrono::steady_clock;
    // Registrations an earlier workload's refs still hold are given back
    // meanwhile: the base is the count once it stops moving.
    auto base = lent_at(other);
    for (auto settle = clock::now() + std::chrono::seconds(60);
         clock::now() < settle;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto now = lent_at(other);
      if (now == base)
        break;
      base = now;
    }
    // Borrows `batch` refs, then drops them; returns the seconds from the
    // drop until the owner counts none of them.
    auto round = [&] {
      auto refs = lumen::get(h.task(&ref_holder::refs).remote());
      check_eq(refs.size(), static_cast<std::size_t>(batch),
               "refs borrowed from the second node");
      // Every registration is counted at the owner before the clock starts.
      auto deadline = clock::now() + std::chrono::seconds(60);
      while (lent_at(other) < base + batch)
        if (clock::now() > deadline)
          throw failure(release_name + ": registrations never reached the "
                                       "owner");
      auto start = clock::now();
      refs.clear();
      wait_lent_at_most(other, base, release_name.c_str());
      return std::chrono::duration<double>(clock::now() - start).count();
    };
    round(); // sizes the pools and tables the rounds reuse
    auto here0 = lumen_bench::memory_here();
    auto there0 = memory_at(other);
    std::size_t steps = 0;
    double seconds = 0;
    auto until = clock::now() + std::chrono::duration<double>(
                                  t.warmup_seconds + t.duration_seconds);
    do {
      seconds += round();
      ++steps;
    } while (clock::now() < until || steps < 2);
    auto here1 = lumen_bench::memory_here();
    auto there1 = memory_at(other);
    result r;
    r.name = release_name;
    r.unit = "/s";
    r.steps = steps;
    r.seconds = seconds;
    r.value = batch * static_cast<double>(steps) / seconds;
    out.push_back(r);
    constexpr double mib = 1024.0 * 1024.0;
    auto grown = [&](auto pick) {
      result g = r;
      g.unit = "MiB";
      g.value = (pick(here1) - pick(here0) + pick(there1) - pick(there0)) / mib;
      return g;
    };
    auto rss = grown([](auto& m) {
      return m.first;
    });
    rss.name = "two_node_borrowed_refs_resident_growth_mib";
    auto heap = grown([](auto& m) {
      return m.second;
    });
    heap.name = "two_node_borrowed_refs_heap_growth_mib";
    out.push_back(rss);
    out.push_back(heap);
    std::fprintf(stderr,
                 "%s: %zu x %d refs borrowed and dropped after one round; "
                 "resident here %.1f -> %.1f MiB, on the owner %.1f -> %.1f "
                 "MiB; allocated here %.1f -> %.1f MiB, on the owner %.1f -> "
                 "%.1f MiB\n",
                 release_name.c_str(), steps, batch, here0.first / mib,
                 here1.first / mib, there0.first / mib, there1.first / mib,
                 here0.second / mib, here1.second / mib, there0.second / mib,
                 there1.second / mib);
  }
}

} // namespace lumen::cli::bench

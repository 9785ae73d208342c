// Reading and trimming the process's memory (process_memory.hpp).
#include "bench/process_memory.hpp"

#include <jemalloc/jemalloc.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "bench/bench_harness.hpp"

namespace lumen::cli::bench {

double resident_bytes() {
  long pages = 0, resident = 0;
  if (auto* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    std::fclose(f);
  }
  check(resident > 0, "cannot read /proc/self/statm");
  return static_cast<double>(resident) *
         static_cast<double>(::sysconf(_SC_PAGESIZE));
}

double heap_bytes() {
  std::uint64_t epoch = 1;
  auto size = sizeof(epoch);
  check(::mallctl("epoch", &epoch, &size, &epoch, size) == 0,
        "jemalloc: cannot refresh its statistics");
  std::size_t allocated = 0;
  size = sizeof(allocated);
  check(::mallctl("stats.allocated", &allocated, &size, nullptr, 0) == 0,
        "jemalloc: cannot read stats.allocated");
  return static_cast<double>(allocated);
}

void return_free_pages() {
  auto purge = "arena." + std::to_string(MALLCTL_ARENAS_ALL) + ".purge";
  check(::mallctl(purge.c_str(), nullptr, nullptr, nullptr, 0) == 0,
        "jemalloc: cannot purge its arenas");
}

} // namespace lumen::cli::bench

// The cache of large buffers (lumen/detail/buffer_pool.hpp).
#include "lumen/detail/buffer_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

namespace lumen::detail {

namespace {

using clock = std::chrono::steady_clock;

constexpr std::size_t max_default_limit = std::size_t{2} << 30;

std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

std::size_t default_limit() {
  auto pages = sysconf(_SC_PHYS_PAGES);
  auto page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0)
    return pooled_buffer_min * 8;
  auto physical =
    static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size);
  return std::min(physical / 8, max_default_limit);
}

/// Maps `size` bytes (a multiple of the granule) aligned to the granule,
/// so that the kernel can back them with whole huge pages.
char* map_aligned(std::size_t size) {
  auto span = size + pooled_buffer_granule;
  void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    throw std::bad_alloc{};
  auto addr = reinterpret_cast<std::uintptr_t>(raw);
  auto aligned = round_up(addr, pooled_buffer_granule);
  if (aligned > addr)
    ::munmap(raw, aligned - addr);
  auto tail = addr + span - (aligned + size);
  if (tail > 0)
    ::munmap(reinterpret_cast<void*>(aligned + size), tail);
  auto* p = reinterpret_cast<char*>(aligned);
  // Only a hint: without transparent huge pages the buffer still works.
  ::madvise(p, size, MADV_HUGEPAGE);
  return p;
}

struct cached_buffer {
  char* p;
  std::size_t capacity;
  clock::time_point freed;
};

struct pool {
  std::mutex mtx;
  std::vector<cached_buffer> cached; // oldest first
  std::size_t cached_bytes = 0;
  std::size_t limit = default_limit();

  /// Takes out buffers unused for too long, and the oldest until `room`
  /// more bytes fit under the limit, into `out`; call holding `mtx`.
  void evict(std::size_t room, std::vector<cached_buffer>& out) {
    auto now = clock::now();
    while (!cached.empty() && (cached_bytes + room > limit ||
                               now - cached.front().freed > buffer_pool_idle)) {
      cached_bytes -= cached.front().capacity;
      out.push_back(cached.front());
      cached.erase(cached.begin());
    }
  }
};

pool& the_pool() {
  // Never destroyed: buffers may be released by static destructors.
  static pool* p = new pool;
  return *p;
}

void unmap_all(const std::vector<cached_buffer>& bufs) {
  for (auto& b : bufs)
    ::munmap(b.p, b.capacity);
}

} // namespace

char* acquire_pooled_buffer(std::size_t n, std::size_t* capacity) {
  auto size = round_up(std::max(n, pooled_buffer_min), pooled_buffer_granule);
  // A cached buffer serves a request it exceeds by at most a quarter (and
  // a granule): a small object must not pin a huge buffer.
  auto max_size = size + size / 4 + pooled_buffer_granule;
  std::vector<cached_buffer> gone;
  char* found = nullptr;
  {
    auto& pl = the_pool();
    std::lock_guard<std::mutex> guard{pl.mtx};
    pl.evict(0, gone);
    auto best = pl.cached.end();
    for (auto i = pl.cached.begin(); i != pl.cached.end(); ++i)
      if (i->capacity >= size && i->capacity <= max_size &&
          (best == pl.cached.end() || i->capacity < best->capacity))
        best = i;
    if (best != pl.cached.end()) {
      found = best->p;
      size = best->capacity;
      pl.cached_bytes -= size;
      pl.cached.erase(best);
    }
  }
  unmap_all(gone);
  if (found == nullptr)
    found = map_aligned(size);
  *capacity = size;
  return found;
}

void release_pooled_buffer(char* p, std::size_t capacity) noexcept {
  if (p == nullptr)
    return;
  std::vector<cached_buffer> gone;
  bool keep = false;
  try {
    auto& pl = the_pool();
    std::lock_guard<std::mutex> guard{pl.mtx};
    if (capacity <= pl.limit) {
      pl.evict(capacity, gone);
      pl.cached.push_back(cached_buffer{p, capacity, clock::now()});
      pl.cached_bytes += capacity;
      keep = true;
    }
  } catch (...) {
    // No memory for the list entry: give the buffer back instead.
  }
  unmap_all(gone);
  if (!keep)
    ::munmap(p, capacity);
}

void advise_bulk_write(void* p, std::size_t n) noexcept {
  if (p == nullptr || n < pooled_buffer_min)
    return;
  auto first =
    round_up(reinterpret_cast<std::uintptr_t>(p), pooled_buffer_granule);
  auto last = (reinterpret_cast<std::uintptr_t>(p) + n) /
              pooled_buffer_granule * pooled_buffer_granule;
  if (last > first)
    ::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

std::size_t buffer_pool_limit() noexcept {
  auto& pl = the_pool();
  std::lock_guard<std::mutex> guard{pl.mtx};
  return pl.limit;
}

void set_buffer_pool_limit(std::size_t bytes) {
  std::vector<cached_buffer> gone;
  {
    auto& pl = the_pool();
    std::lock_guard<std::mutex> guard{pl.mtx};
    pl.limit = bytes;
    pl.evict(0, gone);
  }
  unmap_all(gone);
}

std::size_t buffer_pool_cached() noexcept {
  auto& pl = the_pool();
  std::lock_guard<std::mutex> guard{pl.mtx};
  return pl.cached_bytes;
}

} // namespace lumen::detail

// Memory for large object buffers: a process-wide cache of freed buffers,
// backed by huge pages where the OS allows.
//
// A first write to fresh memory costs a page fault per 4 KiB page, which on
// the VMs we measured makes a copy into a new 800 MiB allocation 5-50 times
// slower than a copy into memory already touched (TOOLCHAIN.md). So
// `byte_buffer` takes every buffer of at least `pooled_buffer_min` bytes
// from here: whole 2 MiB huge pages (madvise MADV_HUGEPAGE, so even a first
// write faults once per 2 MiB), and a freed buffer is kept, already
// faulted in, for the next buffer of about its size, as Ray's plasma store
// reuses the memory of freed objects. The cache keeps at most
// `buffer_pool_limit()` bytes (default: an eighth of physical memory, at
// most 2 GiB); past that the least recently freed buffers go back to the
// OS, as does a cached buffer unused for `buffer_pool_idle` once the pool
// is next used. The cache is not counted against the object store's
// capacity, which counts the bytes of live objects.
//
// Thread safety: all functions may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>

namespace lumen::detail {

/// Buffers of at least this many bytes come from the pool.
inline constexpr std::size_t pooled_buffer_min = 8u << 20;

/// Buffer sizes are rounded up to a multiple of this (one huge page).
inline constexpr std::size_t pooled_buffer_granule = 2u << 20;

/// A cached buffer unused this long is given back to the OS.
inline constexpr std::chrono::seconds buffer_pool_idle{30};

/// Returns a buffer of at least `n` bytes (`n >= pooled_buffer_min`) and
/// sets `*capacity` to its size; throws std::bad_alloc.
char* acquire_pooled_buffer(std::size_t n, std::size_t* capacity);

/// Gives back a buffer from `acquire_pooled_buffer` with its capacity.
void release_pooled_buffer(char* p, std::size_t capacity) noexcept;

/// Hints that `n` bytes at `p`, freshly allocated elsewhere (a decoded
/// std::vector), are about to be written in full: backs them with huge
/// pages where possible, so that writing them faults once per 2 MiB. Does
/// nothing for less than `pooled_buffer_min` bytes.
void advise_bulk_write(void* p, std::size_t n) noexcept;

/// Bytes the cache may keep.
std::size_t buffer_pool_limit() noexcept;

/// Sets the bytes the cache may keep (0: keep none), freeing what is over.
void set_buffer_pool_limit(std::size_t bytes);

/// Bytes the cache keeps now.
std::size_t buffer_pool_cached() noexcept;

} // namespace lumen::detail

// The memory of the process running a workload, as the microbenchmark
// reports it (scale_* and two_node_borrowed_refs_*): resident pages, bytes
// the allocator (jemalloc, the `lumen` tool's) has handed out, and a purge
// of its cached free pages, so that a resident figure read after it counts
// what is live (and fragmented), not what the allocator keeps for reuse.
//
// Thread safety: any thread.
#pragma once

namespace lumen::cli::bench {

/// Resident bytes of this process (/proc/self/statm); throws failure if
/// it cannot be read.
double resident_bytes();

/// Bytes malloc has handed out and not taken back (jemalloc's
/// stats.allocated, refreshed first); throws failure.
double heap_bytes();

/// Gives the allocator's free pages back to the system, every arena;
/// throws failure.
void return_free_pages();

} // namespace lumen::cli::bench

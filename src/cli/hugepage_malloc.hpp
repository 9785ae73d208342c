// Huge pages for the heap of every `lumen` process.
//
// A first write to freshly allocated memory faults once per 4 KiB page,
// which on the VMs we measured makes writing a new 64 MiB std::vector 5-50
// times slower than writing memory already touched (TOOLCHAIN.md). glibc
// backs its allocations with transparent huge pages (one fault per 2 MiB)
// when started with GLIBC_TUNABLES=glibc.malloc.hugetlb=1, a setting read
// only at process start-up. So `lumen` runs itself again with it, once,
// before doing anything else, unless the environment already names that
// tunable or LUMEN_HUGEPAGE_MALLOC=0. Node processes (`lumen start`, the
// microbenchmark's nodes) inherit it; a driver program may export it too.
// With transparent huge pages off in the kernel, glibc ignores it.
#pragma once

namespace lumen::cli {

/// Re-executes this program with glibc's huge-page malloc, as above;
/// returns (changing nothing) when that is not wanted or not possible.
void reexec_with_hugepage_malloc(char** argv);

} // namespace lumen::cli

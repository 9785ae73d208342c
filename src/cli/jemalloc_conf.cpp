// The `lumen` tool allocates with jemalloc (linked in, CMakeLists.txt):
// with glibc malloc, a task spec made by the submitting thread and freed by
// the scheduler actor costs arena locks and futex wake-ups on both sides
// (README "Performance"). Huge pages for its extents keep fresh large
// buffers as fast as glibc's huge-page malloc made them.
//
// Large buffers (a decoded 64 MiB std::vector, say) are reused warm: by
// default jemalloc gives every extent of 8 MiB or more back to the OS the
// moment it is freed (a dedicated arena with no decay, and a forced purge
// of large extents), so the next one faults in and zeroes every page again,
// which on these VMs costs about as much as the copy itself (a two-node
// 64 MiB push spent a quarter of its samples in clear_page_erms, in the
// task decoding its argument). `oversize_threshold:0` keeps them in the
// ordinary arenas, and `muzzy_decay_ms:-1` turns off the forced purge: a
// freed extent stays dirty for dirty_decay_ms (10 s, the default), then
// is handed back lazily (MADV_FREE: the kernel takes the pages when it
// needs them). docs/performance.md has the figures.
//
// MALLOC_CONF in the environment still overrides this.
extern "C" {
// NOLINTNEXTLINE: jemalloc reads this symbol by name.
const char* malloc_conf =
  "thp:always,metadata_thp:auto,oversize_threshold:0,muzzy_decay_ms:-1";
}

// The `lumen` tool allocates with jemalloc (linked in, CMakeLists.txt):
// with glibc malloc, a task spec made by the submitting thread and freed by
// the scheduler actor costs arena locks and futex wake-ups on both sides
// (README "Performance"). Huge pages for its extents keep fresh large
// buffers as fast as glibc's huge-page malloc made them. MALLOC_CONF in
// the environment still overrides this.
extern "C" {
// NOLINTNEXTLINE: jemalloc reads this symbol by name.
const char* malloc_conf = "thp:always,metadata_thp:auto";
}

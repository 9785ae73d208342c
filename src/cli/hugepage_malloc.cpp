// Huge pages for the heap of every `lumen` process (hugepage_malloc.hpp).
#include "cli/hugepage_malloc.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace lumen::cli {

void reexec_with_hugepage_malloc(char** argv) {
  constexpr const char* tunable = "glibc.malloc.hugetlb";
  if (const char* off = std::getenv("LUMEN_HUGEPAGE_MALLOC");
      off != nullptr && std::strcmp(off, "0") == 0)
    return;
  const char* now = std::getenv("GLIBC_TUNABLES");
  if (now != nullptr && std::strstr(now, tunable) != nullptr)
    return; // set already (by us, or by the user: theirs wins)
  std::string value = std::string{tunable} + "=1";
  if (now != nullptr && *now != '\0')
    value = std::string{now} + ":" + value;
  // The program's own path, not /proc/self/exe: the process keeps its
  // name ("lumen" in ps and top).
  char self[4096];
  auto n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0)
    return;
  self[n] = '\0';
  if (::setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0)
    return;
  ::execv(self, argv);
  // Exec failed: go on with the heap as it is.
}

} // namespace lumen::cli

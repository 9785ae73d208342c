// Uses Lumen as an installed package: see CMakeLists.txt next to this file.
#include <lumen/lumen.hpp>

#include <cstdio>

int add(int a, int b) {
  return a + b;
}

LUMEN_REMOTE(add);

int main() {
  lumen::init();
  auto r = lumen::task(add).remote(2, 3);
  int v = lumen::get(r);
  lumen::shutdown();
  std::printf("standalone: add(2, 3) = %d\n", v);
  return v == 5 ? 0 : 1;
}

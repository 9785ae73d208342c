// expect: COMPILES
// Control case: the same calls with the right types compile, so the other
// cases fail for the reason they name and not because the harness is broken.
#include <lumen/lumen.hpp>

int add(int a, int b) {
  return a + b;
}

LUMEN_REMOTE(add);

int main() {
  auto x = lumen::put(1);
  lumen::task(add).remote(x, 2);
  lumen::task(add).remote(short{1}, 2);
}

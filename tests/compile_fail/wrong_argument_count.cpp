// expect: lumen::task: wrong number of arguments for this function
#include <lumen/lumen.hpp>

int add(int a, int b) {
  return a + b;
}

LUMEN_REMOTE(add);

int main() {
  lumen::task(add).remote(1);
}

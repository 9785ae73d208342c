// expect: lumen::task: argument type does not convert to the function's
// parameter type Passing a string where the function takes an int must not
// compile.
#include <lumen/lumen.hpp>

int twice(int x) {
  return 2 * x;
}

LUMEN_REMOTE(twice);

int main() {
  lumen::task(twice).remote(std::string{"seven"});
}

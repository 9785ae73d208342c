// expect: num_returns<N>() needs a function or method that returns a std::tuple
// or std::pair
#include <lumen/lumen.hpp>

int one(int x) {
  return x;
}

LUMEN_REMOTE(one);

int main() {
  lumen::task(one).num_returns<1>().remote(1);
}

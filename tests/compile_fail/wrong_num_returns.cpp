// expect: N must equal the number of elements of the std::tuple/std::pair
#include <lumen/lumen.hpp>

#include <tuple>

std::tuple<int, int, int> three(int x) {
  return {x, x, x};
}

LUMEN_REMOTE(three);

int main() {
  auto [a, b] = lumen::task(three).num_returns<2>().remote(1);
  static_cast<void>(a);
  static_cast<void>(b);
}

// expect: COMPILES
// Control case for wrong_num_returns and num_returns_not_tuple: the right
// N, an actor method's tuple and a generator compile.
#include <lumen/lumen.hpp>

#include <tuple>
#include <utility>

std::tuple<int, int, int> three(int x) {
  return {x, x, x};
}

lumen::generator<int> count(int n) {
  for (int i = 0; i < n; ++i)
    co_yield i;
}

struct Pairs {
  static Pairs* create() {
    return new Pairs;
  }
  std::pair<int, double> both(int x) {
    return {x, x * 0.5};
  }
  lumen::generator<int> upto(int n) {
    for (int i = 0; i < n; ++i)
      co_yield i;
  }
};

LUMEN_REMOTE(three, count);
LUMEN_REMOTE(Pairs::create, &Pairs::both, &Pairs::upto);

int main() {
  auto [a, b, c] = lumen::task(three).num_returns<3>().remote(1);
  lumen::object_ref<int> first = a;
  static_cast<void>(first);
  static_cast<void>(b);
  static_cast<void>(c);
  auto p = lumen::actor(Pairs::create).remote();
  auto [x, y] = p.task(&Pairs::both).num_returns<2>().remote(2);
  lumen::object_ref<double> half = y;
  static_cast<void>(x);
  static_cast<void>(half);
  lumen::object_ref_stream<int> s =
    lumen::task(count).max_unconsumed(8).remote(3);
  for (lumen::object_ref<int> r : s)
    static_cast<void>(r);
  lumen::object_ref_stream<int> s2 =
    p.task(&Pairs::upto).max_unconsumed(4).remote(3);
  static_cast<void>(s2.next());
}

// expect: lumen::async<T> is for actor methods
// A free function (a task) cannot be a coroutine: only actor methods can.
#include <lumen/lumen.hpp>

lumen::async<int> not_a_task(int x) {
  co_return x;
}

LUMEN_REMOTE(not_a_task);

int main() {}

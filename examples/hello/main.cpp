// Hello, Lumen: a remote function, a task, put/get and wait.
#include <cstdio>
#include <string>
#include <vector>

#include <lumen/lumen.hpp>

std::string greet(const std::string& name) {
  return "hello, " + name;
}

int square(int x) {
  return x * x;
}

int sum(std::vector<int> xs) {
  int total = 0;
  for (int x : xs)
    total += x;
  return total;
}

LUMEN_REMOTE(greet, square, sum);

int main() {
  lumen::init_guard lumen; // the embedded one-node cluster

  auto greeting = lumen::task(greet).remote(std::string{"world"});
  std::printf("%s\n", lumen::get(greeting).c_str());

  std::vector<lumen::object_ref<int>> squares;
  for (int i = 1; i <= 10; ++i)
    squares.push_back(lumen::task(square).remote(i));
  auto ready = lumen::wait(squares, squares.size());
  std::printf("%zu of %zu squares ready\n", ready.ready.size(), squares.size());

  auto numbers = lumen::put(lumen::get(squares));
  std::printf("sum of squares 1..10 = %d\n",
              lumen::get(lumen::task(sum).remote(numbers)));
  return 0;
}

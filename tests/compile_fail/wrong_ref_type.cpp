// expect: lumen::task: an object_ref argument must hold exactly the parameter's
// type An object_ref<std::string> cannot stand for an int parameter.
#include <lumen/lumen.hpp>

int twice(int x) {
  return 2 * x;
}

LUMEN_REMOTE(twice);

int main() {
  auto s = lumen::put(std::string{"seven"});
  lumen::task(twice).remote(s);
}

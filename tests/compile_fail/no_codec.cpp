// expect: lumen::put: no codec for this type
// A type without an inspect overload or codec specialization cannot be put.
#include <lumen/lumen.hpp>

struct opaque {
  int x = 0;
};

int main() {
  lumen::put(opaque{});
}

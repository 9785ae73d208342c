// A native CAF typed actor spawned through Lumen: placed and named like a
// Lumen actor, used with CAF's own request/receive.
#include <chrono>
#include <cstdio>

#include <caf/all.hpp>

#include <lumen/lumen.hpp>
#include <lumen/native_actor.hpp>

using add_atom = caf::atom_constant<caf::atom("add")>;
using total_atom = caf::atom_constant<caf::atom("total")>;

/// Keeps a running total.
using accumulator = caf::typed_actor<caf::replies_to<add_atom, int>::with<int>,
                                     caf::replies_to<total_atom>::with<int>>;

struct accumulator_state {
  int total = 0;
};

accumulator::behavior_type
make_accumulator(accumulator::stateful_pointer<accumulator_state> self) {
  return {
    [self](add_atom, int x) {
      return self->state.total += x;
    },
    [self](total_atom) {
      return self->state.total;
    },
  };
}

int main() {
  lumen::init_guard lumen{lumen::config{.num_cpus = 2}};

  // Holds one CPU while it lives, under the name "acc".
  auto acc = lumen::spawn_native<accumulator>(
    lumen::native_options{.num_cpus = 1, .name = "acc"}, make_accumulator);

  // Anyone can find it by name and talk to it with CAF.
  auto found = lumen::get_native_actor<accumulator>("acc");
  caf::scoped_actor self{lumen::detail::native_system()};
  for (int i = 1; i <= 10; ++i)
    self->send(*found, add_atom::value, i);
  self->request(acc, std::chrono::seconds(5), total_atom::value)
    .receive(
      [](int total) {
        std::printf("total = %d\n", total);
      },
      [](caf::error& err) {
        std::printf("error: %s\n", caf::to_string(err).c_str());
      });
  self->send_exit(acc, caf::exit_reason::user_shutdown);
  return 0;
}

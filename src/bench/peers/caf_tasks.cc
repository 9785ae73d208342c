// The CAF 0.17 peer of `src/bench/peers/run.sh`: what one ephemeral actor
// per task costs on CAF alone, under the scheduler Lumen's runtime uses
// (policy "sharing", max-threads = hardware threads clamped to 2..4, as in
// embedded_runtime.cpp).
//
// A task is a fresh event-based actor: spawned, sent one request, it
// replies 1 (Lumen's small_value) and quits. The caller checks every reply
// and the sum of each batch. Modes:
//
//   blocking  the main thread (Lumen's driver) spawns one task actor,
//             requests through a scoped_actor and blocks for the reply;
//             one at a time: the shape of single_client_tasks_sync.
//   chain     one at a time too, but the caller is an event-based actor
//             (no blocked thread): CAF's floor for one task at a time.
//   64, 1000  a coordinator actor keeps that many task actors in flight
//             until 1000 have replied; the main thread asks for a batch of
//             1000 and blocks once for it: single_client_tasks_async's
//             shape (1000 submitted, all got) with 64 or all 1000 in
//             flight.
//
// Timing is Lumen's harness (timeit in the microbenchmark's
// bench_harness.hpp): a warm-up of duration/4 clamped to 0.2..1 s, then
// steps for `duration` seconds; the rate is tasks per second. Prints
// `NAME VALUE /s`.
//
// Built by run.sh with g++ against Debian's libcaf-dev; not a CMake target.
// Named .cc, not .cpp, so that no glob of src/**/*.cpp (the library's, or
// a folder's) takes this program, and its main(), into a Lumen target.
//
// Usage: caf_tasks blocking|chain|64|1000 DURATION_SECONDS NAME
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <caf/all.hpp>

namespace {

using run_atom = caf::atom_constant<caf::atom("run")>;
using batch_atom = caf::atom_constant<caf::atom("batch")>;

constexpr int batch_size = 1000;

/// The task: replies Lumen's small_value (1) and quits.
caf::behavior task_actor(caf::event_based_actor* self) {
  return {[=](run_atom) {
    self->quit();
    return 1;
  }};
}

struct coordinator_state {
  int to_start = 0;
  int pending = 0;
  int done = 0;
  long long sum = 0;
  caf::response_promise promise;
};

using coordinator_actor = caf::stateful_actor<coordinator_state>;

void fail(const std::string& what) {
  std::cerr << "caf_tasks: " << what << std::endl;
  std::exit(1);
}

void launch(coordinator_actor* self) {
  auto& s = self->state;
  --s.to_start;
  ++s.pending;
  auto task = self->spawn(task_actor);
  self->request(task, caf::infinite, run_atom::value)
    .then(
      [=](int v) {
        auto& st = self->state;
        st.sum += v;
        ++st.done;
        --st.pending;
        if (st.to_start > 0)
          launch(self);
        else if (st.pending == 0)
          st.promise.deliver(st.sum);
      },
      [=](caf::error& e) {
        fail("task failed: " + to_string(e));
      });
}

/// On (batch, n, in_flight): runs n tasks with at most in_flight at once;
/// replies the sum of their results.
caf::behavior coordinator(coordinator_actor* self) {
  return {[=](batch_atom, int n, int in_flight) -> caf::result<long long> {
    auto& s = self->state;
    s.to_start = n;
    s.pending = 0;
    s.done = 0;
    s.sum = 0;
    s.promise = self->make_response_promise();
    for (int i = 0; i < in_flight && s.to_start > 0; ++i)
      launch(self);
    return s.promise;
  }};
}

template <class Step>
double timeit(double ops_per_step, double duration, Step step) {
  using clock = std::chrono::steady_clock;
  auto since = [](clock::time_point t0) {
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  double warmup = std::clamp(duration / 4, 0.2, 1.0);
  std::size_t warm = 0;
  auto t0 = clock::now();
  do {
    step();
    ++warm;
  } while (since(t0) < warmup);
  auto batch = std::max<std::size_t>(
    1, static_cast<std::size_t>(static_cast<double>(warm) * duration / warmup /
                                500));
  std::size_t steps = 0;
  double elapsed = 0;
  t0 = clock::now();
  do {
    for (std::size_t i = 0; i < batch; ++i)
      step();
    steps += batch;
    elapsed = since(t0);
  } while (elapsed < duration);
  return ops_per_step * static_cast<double>(steps) / elapsed;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: caf_tasks blocking|chain|64|1000 DURATION NAME\n";
    return 2;
  }
  std::string mode = argv[1];
  double duration = std::atof(argv[2]);
  std::string name = argv[3];
  if (duration <= 0)
    fail("duration must be above 0");
  caf::actor_system_config cfg;
  auto threads =
    std::max(2u, std::min(4u, std::thread::hardware_concurrency()));
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", static_cast<std::size_t>(threads));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  double rate = 0;
  {
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    if (mode == "blocking") {
      rate = timeit(1, duration, [&] {
        auto task = sys.spawn(task_actor);
        self->request(task, caf::infinite, run_atom::value)
          .receive(
            [&](int v) {
              if (v != 1)
                fail("task replied " + std::to_string(v));
            },
            [&](caf::error& e) {
              fail("task failed: " + to_string(e));
            });
      });
    } else {
      int in_flight = 0;
      if (mode == "chain")
        in_flight = 1;
      else
        in_flight = std::atoi(mode.c_str());
      if (in_flight < 1 || in_flight > batch_size)
        fail("unknown mode " + mode);
      auto coord = sys.spawn(coordinator);
      rate = timeit(batch_size, duration, [&] {
        self
          ->request(coord, caf::infinite, batch_atom::value, batch_size,
                    in_flight)
          .receive(
            [&](long long sum) {
              if (sum != batch_size)
                fail("batch sum " + std::to_string(sum));
            },
            [&](caf::error& e) {
              fail("batch failed: " + to_string(e));
            });
      });
      self->send_exit(coord, caf::exit_reason::user_shutdown);
    }
  }
  std::printf("%s %.1f /s\n", name.c_str(), rate);
  return 0;
}

// Functions and actor classes that `lumen microbenchmark` runs as tasks and
// actors; Ray's `ray_perf.py` shapes, with results that can be checked (a
// "small value" is the int 1, so a batch's results sum to its size).
// Registered with LUMEN_REMOTE in bench_tasks.cpp under these qualified
// names.
//
// Thread safety: each is called by the runtime on its worker threads.
#pragma once

#include <vector>

#include <lumen/lumen.hpp>

namespace lumen_bench {

/// Ray's `small_value`: returns 1.
int small_value();

/// Ray's `create_object_containing_ref`: 10,000 refs to put(1).
std::vector<lumen::object_ref<int>> create_object_containing_ref();

/// Ray's `do_put_small`: 100 puts of 0; returns how many it put.
int do_put_small();

/// Ray's `do_put`: 10 puts of an 80 MiB array (10 Mi doubles); returns the
/// bytes put.
long long do_put();

/// Ray's `Actor` (num_cpus 0): small values, with an argument, and a batch
/// of `small_value` tasks.
struct bench_actor {
  static bench_actor* create();
  int small_value();
  /// Returns x + 1 (the arg is put(0), so 1).
  int small_value_arg(int x);
  /// Submits n small_value tasks, gets them, returns their sum.
  int small_value_batch(int n);
};

/// Ray's `Client`: calls its servers' methods n times each.
struct bench_client {
  static bench_client* create(std::vector<lumen::actor_handle<bench_actor>> s);
  /// n small_value calls per server; returns the sum of the results.
  int small_value_batch(int n);
  /// x = put(0); n small_value_arg(x) calls per server; returns the sum.
  int small_value_batch_arg(int n);

  std::vector<lumen::actor_handle<bench_actor>> servers;
};

/// Ray's `work` task of n:n actor calls: n calls spread round robin over
/// `actors`; returns the sum of the results.
int work(std::vector<lumen::actor_handle<bench_actor>> actors, int n);

/// Sums a batch of small-value results; bench::failure unless it is n.
int sum_checked(const std::vector<int>& values, int n, const char* what);

} // namespace lumen_bench

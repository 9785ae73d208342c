// Task and actor-call workloads of `lumen microbenchmark`, shaped as in
// Ray's `ray microbenchmark` (ray/_private/ray_perf.py), and the remote
// functions and actor classes every workload uses.
#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <lumen/lumen.hpp>

#include "bench/bench_remote.hpp"
#include "bench/bench_workloads.hpp"

namespace lumen_bench {

using lumen::cli::bench::check_eq;

int sum_checked(const std::vector<int>& values, int n, const char* what) {
  check_eq(values.size(), static_cast<std::size_t>(n), what);
  long long sum = 0;
  for (int v : values)
    sum += v;
  check_eq(sum, static_cast<long long>(n), what);
  return n;
}

int small_value() {
  return 1;
}

std::vector<lumen::object_ref<int>> create_object_containing_ref() {
  std::vector<lumen::object_ref<int>> refs;
  refs.reserve(10000);
  for (int i = 0; i < 10000; ++i)
    refs.push_back(lumen::put(1));
  return refs;
}

int do_put_small() {
  int n = 0;
  for (int i = 0; i < 100; ++i)
    n += lumen::put(0).valid() ? 1 : 0;
  return n;
}

/// Ray allocates each array with np.zeros (lazily zeroed pages); here one
/// array is made once and shared, so the timing is the put alone.
long long do_put() {
  static const std::vector<double> array(10 * 1024 * 1024, 0.0);
  long long bytes = 0;
  for (int i = 0; i < 10; ++i)
    if (lumen::put(array).valid())
      bytes += static_cast<long long>(array.size() * sizeof(double));
  return bytes;
}

bench_actor* bench_actor::create() {
  return new bench_actor;
}

int bench_actor::small_value() {
  return 1;
}

int bench_actor::small_value_arg(int x) {
  return x + 1;
}

int bench_actor::small_value_batch(int n) {
  std::vector<lumen::object_ref<int>> refs;
  refs.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    refs.push_back(lumen::task(lumen_bench::small_value).remote());
  return sum_checked(lumen::get(refs), n, "bench_actor::small_value_batch");
}

bench_client*
bench_client::create(std::vector<lumen::actor_handle<bench_actor>> s) {
  auto* c = new bench_client;
  c->servers = std::move(s);
  return c;
}

int bench_client::small_value_batch(int n) {
  std::vector<lumen::object_ref<int>> refs;
  refs.reserve(servers.size() * static_cast<std::size_t>(n));
  for (auto& s : servers)
    for (int i = 0; i < n; ++i)
      refs.push_back(s.task(&bench_actor::small_value).remote());
  return sum_checked(lumen::get(refs), static_cast<int>(refs.size()),
                     "bench_client::small_value_batch");
}

int bench_client::small_value_batch_arg(int n) {
  auto x = lumen::put(0);
  std::vector<lumen::object_ref<int>> refs;
  refs.reserve(servers.size() * static_cast<std::size_t>(n));
  for (auto& s : servers)
    for (int i = 0; i < n; ++i)
      refs.push_back(s.task(&bench_actor::small_value_arg).remote(x));
  return sum_checked(lumen::get(refs), static_cast<int>(refs.size()),
                     "bench_client::small_value_batch_arg");
}

int work(std::vector<lumen::actor_handle<bench_actor>> actors, int n) {
  std::vector<lumen::object_ref<int>> refs;
  refs.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    refs.push_back(actors[static_cast<std::size_t>(i) % actors.size()]
                     .task(&bench_actor::small_value)
                     .remote());
  return sum_checked(lumen::get(refs), n, "work");
}

} // namespace lumen_bench

LUMEN_REMOTE(lumen_bench::small_value,
             lumen_bench::create_object_containing_ref,
             lumen_bench::do_put_small, lumen_bench::do_put, lumen_bench::work);
LUMEN_REMOTE(lumen_bench::bench_actor::create,
             &lumen_bench::bench_actor::small_value,
             &lumen_bench::bench_actor::small_value_arg,
             &lumen_bench::bench_actor::small_value_batch);
LUMEN_REMOTE(lumen_bench::bench_client::create,
             &lumen_bench::bench_client::small_value_batch,
             &lumen_bench::bench_client::small_value_batch_arg);

namespace lumen::cli::bench {

namespace {

using lumen_bench::bench_actor;
using lumen_bench::bench_client;
using lumen_bench::sum_checked;
using actor_list = std::vector<lumen::actor_handle<bench_actor>>;

/// Ray's `multiprocessing.cpu_count() // 2`, at least 1.
std::size_t half_the_cpus() {
  return std::max(1u, std::thread::hardware_concurrency() / 2);
}

/// n calls of small_value on one actor, then get all, check the sum.
void small_value_calls(const lumen::actor_handle<bench_actor>& a, int n,
                       const char* what) {
  std::vector<lumen::object_ref<int>> refs;
  refs.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    refs.push_back(a.task(&bench_actor::small_value).remote());
  sum_checked(lumen::get(refs), n, what);
}

actor_list make_actors(std::size_t n) {
  actor_list actors;
  for (std::size_t i = 0; i < n; ++i)
    actors.push_back(lumen::actor(bench_actor::create).remote());
  return actors;
}

/// Gets each of `refs`, checking each is `expected`.
void get_each(const std::vector<lumen::object_ref<int>>& refs, int expected,
              const char* what) {
  for (int v : lumen::get(refs))
    check_eq(v, expected, what);
}

workload single(const std::string& name, double ops,
                std::function<std::function<void()>()> setup) {
  return workload{{name}, [=](const timing& t) {
                    auto step = setup();
                    return std::vector<result>{
                      timeit(name, "/s", ops, t, step)};
                  }};
}

} // namespace

void small_value_tasks(int n, const char* what) {
  std::vector<lumen::object_ref<int>> refs;
  refs.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    refs.push_back(lumen::task(lumen_bench::small_value).remote());
  sum_checked(lumen::get(refs), n, what);
}

std::vector<workload> task_workloads() {
  std::vector<workload> ws;
  ws.push_back(single("single_client_tasks_sync", 1, [] {
    return [] {
      check_eq(lumen::get(lumen::task(lumen_bench::small_value).remote()), 1,
               "small_value");
    };
  }));
  ws.push_back(single("single_client_tasks_async", 1000, [] {
    return [] {
      small_value_tasks(1000, "single_client_tasks_async");
    };
  }));
  ws.push_back(single("single_client_tasks_and_get_batch", 1, [] {
    return [] {
      small_value_tasks(1000, "single_client_tasks_and_get_batch");
    };
  }));
  // Ray: n = 10000 tasks from each of m = 4 actors.
  ws.push_back(single("multi_client_tasks_async", 10000 * 4, [] {
    auto actors = make_actors(4);
    return [actors] {
      std::vector<lumen::object_ref<int>> refs;
      for (auto& a : actors)
        refs.push_back(a.task(&bench_actor::small_value_batch).remote(10000));
      get_each(refs, 10000, "multi_client_tasks_async");
    };
  }));
  ws.push_back(single("1_1_actor_calls_sync", 1, [] {
    auto a = lumen::actor(bench_actor::create).remote();
    return [a] {
      check_eq(lumen::get(a.task(&bench_actor::small_value).remote()), 1,
               "1_1_actor_calls_sync");
    };
  }));
  ws.push_back(single("1_1_actor_calls_async", 1000, [] {
    auto a = lumen::actor(bench_actor::create).remote();
    return [a] {
      small_value_calls(a, 1000, "1_1_actor_calls_async");
    };
  }));
  ws.push_back(single("1_1_actor_calls_concurrent", 1000, [] {
    auto a = lumen::actor(bench_actor::create).max_concurrency(16).remote();
    return [a] {
      small_value_calls(a, 1000, "1_1_actor_calls_concurrent");
    };
  }));
  // Ray: one Client calls n = 5000 times each of cpu_count // 2 actors.
  auto servers = half_the_cpus();
  ws.push_back(single("1_n_actor_calls_async", 5000.0 * servers, [servers] {
    auto client =
      lumen::actor(bench_client::create).remote(make_actors(servers));
    return [client, servers] {
      auto n =
        lumen::get(client.task(&bench_client::small_value_batch).remote(5000));
      check_eq(n, static_cast<int>(5000 * servers), "1_n_actor_calls_async");
    };
  }));
  // Ray: m = 4 `work` tasks, each n = 5000 calls spread over the actors.
  ws.push_back(single("n_n_actor_calls_async", 5000 * 4, [servers] {
    auto actors = make_actors(servers);
    return [actors] {
      std::vector<lumen::object_ref<int>> refs;
      for (int i = 0; i < 4; ++i)
        refs.push_back(lumen::task(lumen_bench::work).remote(actors, 5000));
      get_each(refs, 5000, "n_n_actor_calls_async");
    };
  }));
  // Ray: one Client per actor, n = 1000 calls each with a put ref.
  ws.push_back(
    single("n_n_actor_calls_with_arg_async", 1000.0 * servers, [servers] {
      std::vector<lumen::actor_handle<bench_client>> clients;
      for (auto& a : make_actors(servers))
        clients.push_back(
          lumen::actor(bench_client::create).remote(actor_list{a}));
      return [clients] {
        std::vector<lumen::object_ref<int>> refs;
        for (auto& c : clients)
          refs.push_back(
            c.task(&bench_client::small_value_batch_arg).remote(1000));
        get_each(refs, 1000, "n_n_actor_calls_with_arg_async");
      };
    }));
  for (auto& w : async_workloads())
    ws.push_back(std::move(w));
  return ws;
}

} // namespace lumen::cli::bench

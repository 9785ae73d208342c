// Workloads across two nodes on loopback: this process becomes a head node
// and starts a second node as a child process (bench_cluster.hpp). Tasks,
// actors and objects are placed on the second node with node_affinity.
// The *_tls_* metrics run the object transfers again on a second two-node
// cluster whose nodes use TLS (certificates made by `lumen tls init` in a
// temporary directory).
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <stdlib.h>

#include <lumen/lumen.hpp>

#include "bench/bench_cluster.hpp"
#include "bench/bench_remote.hpp"
#include "bench/bench_workloads.hpp"
#include "node/node_config.hpp"
#include "node/node_process.hpp"

namespace lumen_bench {

constexpr std::size_t transfer_bytes = 64u << 20;

/// The byte at `i` of the transfer pattern.
inline char pattern_at(std::size_t i) {
  return static_cast<char>((i * 131 + (i >> 12)) & 0xff);
}

/// The 64 MiB pattern, made once per process.
const std::vector<char>& transfer_pattern() {
  static const std::vector<char> bytes = [] {
    std::vector<char> b(transfer_bytes);
    for (std::size_t i = 0; i < b.size(); ++i)
      b[i] = pattern_at(i);
    return b;
  }();
  return bytes;
}

/// Checks `b` against the pattern at every 4 KiB and at its last byte;
/// returns the size if it matches, -1 if not.
long long check_pattern(const std::vector<char>& b) {
  if (b.size() != transfer_bytes)
    return -1;
  for (std::size_t i = 0; i < b.size(); i += 4096)
    if (b[i] != pattern_at(i))
      return -1;
  return b.back() == pattern_at(b.size() - 1) ? static_cast<long long>(b.size())
                                              : -1;
}

/// The node a task runs on.
std::string node_of_task() {
  return lumen::node_id();
}

/// A 64 MiB object made on the node the task runs on.
std::vector<char> make_64mib() {
  return transfer_pattern();
}

} // namespace lumen_bench

LUMEN_REMOTE(lumen_bench::check_pattern, lumen_bench::node_of_task,
             lumen_bench::make_64mib);

namespace lumen::cli::bench {

namespace {

constexpr double gigabyte = 1e9;

std::vector<result> measure(const std::string& other, const timing& t,
                            const std::vector<bool>& wanted) {
  using lumen_bench::bench_actor;
  std::vector<result> out;
  auto names = two_node_metric_names();
  check_eq(
    lumen::get(
      lumen::task(lumen_bench::node_of_task).node_affinity(other).remote()),
    other, "node_affinity task ran on the second node");
  if (wanted[0])
    out.push_back(timeit(names[0], "/s", 1000, t, [&] {
      std::vector<lumen::object_ref<int>> refs;
      refs.reserve(1000);
      for (int i = 0; i < 1000; ++i)
        refs.push_back(
          lumen::task(lumen_bench::small_value).node_affinity(other).remote());
      lumen_bench::sum_checked(lumen::get(refs), 1000, names[0].c_str());
    }));
  if (wanted[1]) {
    auto a = lumen::actor(bench_actor::create).node_affinity(other).remote();
    out.push_back(timeit(names[1], "/s", 1000, t, [&] {
      std::vector<lumen::object_ref<int>> refs;
      refs.reserve(1000);
      for (int i = 0; i < 1000; ++i)
        refs.push_back(a.task(&bench_actor::small_value).remote());
      lumen_bench::sum_checked(lumen::get(refs), 1000, names[1].c_str());
    }));
  }
  measure_objects(other, t, names[2], wanted[2], names[3], wanted[3], out);
  measure_borrowing(other, t, names[6], wanted[6], names[7],
                    wanted[7] || wanted[9] || wanted[10], out);
  if (wanted[8])
    out.push_back(measure_stream(other, t, names[8]));
  return out;
}

} // namespace

void measure_objects(const std::string& other, const timing& t,
                     const std::string& push_name, bool push,
                     const std::string& pull_name, bool pull,
                     std::vector<result>& out) {
  auto mib64 = lumen_bench::transfer_bytes / gigabyte;
  if (push) {
    auto& bytes = lumen_bench::transfer_pattern();
    out.push_back(timeit(push_name, "GB/s", mib64, t, [&] {
      auto r = lumen::task(lumen_bench::check_pattern)
                 .node_affinity(other)
                 .remote(lumen::put(bytes));
      check_eq(lumen::get(r), static_cast<long long>(bytes.size()),
               "64 MiB object as the second node read it");
    }));
  }
  if (pull)
    out.push_back(timeit(pull_name, "GB/s", mib64, t, [&] {
      auto r =
        lumen::task(lumen_bench::make_64mib).node_affinity(other).remote();
      check_eq(lumen_bench::check_pattern(lumen::get(r)),
               static_cast<long long>(lumen_bench::transfer_bytes),
               "64 MiB object made on the second node");
    }));
}

namespace {

/// A directory with `lumen tls init`'s CA, two node certificates and
/// token, removed on destruction.
struct tls_dir {
  std::string path;

  explicit tls_dir(const std::string& lumen_binary) {
    char tmpl[] = "/tmp/lumen-bench-tls-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw failure("a directory for TLS certificates");
    path = tmpl;
    auto cmd =
      "'" + lumen_binary + "' tls init " + path + " --nodes 2 > /dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0)
      throw failure("lumen tls init " + path);
  }

  ~tls_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

} // namespace

lumen::tls_config bench_tls(const std::string& dir, int node) {
  auto name = dir + "/node" + std::to_string(node);
  return lumen::tls_config{name + ".pem", name + ".key", dir + "/ca.pem"};
}

std::vector<std::string> two_node_metric_names() {
  return {"two_node_tasks_async",
          "two_node_actor_calls_async",
          "two_node_object_push_64mib_gigabytes",
          "two_node_object_pull_64mib_gigabytes",
          "two_node_object_push_64mib_tls_gigabytes",
          "two_node_object_pull_64mib_tls_gigabytes",
          "two_node_get_object_containing_1k_refs",
          "two_node_borrowed_refs_released",
          "two_node_generator_items",
          "two_node_borrowed_refs_resident_growth_mib",
          "two_node_borrowed_refs_heap_growth_mib"};
}

std::vector<result> run_two_node_workloads(const std::string& lumen_binary,
                                           const timing& t,
                                           const std::vector<bool>& wanted) {
  std::vector<result> out;
  if (wanted[0] || wanted[1] || wanted[2] || wanted[3] || wanted[6] ||
      wanted[7] || wanted[8] || wanted[9] || wanted[10]) {
    auto address = start_head(lumen::lineage_mode::stash);
    head_guard stop_head;
    child_node child{lumen_binary, address};
    auto other = wait_for_other_node(child);
    out = measure(other, t, wanted);
    // The head first: stopping the child first makes the head's GCS report
    // it dead on stderr.
    lumen::shutdown();
    child.stop();
  }
  if (wanted[4] || wanted[5]) {
    auto names = two_node_metric_names();
    tls_dir certs{lumen_binary};
    auto address =
      start_head(lumen::lineage_mode::stash, bench_tls(certs.path, 1));
    head_guard stop_head;
    child_node child{lumen_binary, address, certs.path};
    auto other = wait_for_other_node(child);
    measure_objects(other, t, names[4], wanted[4], names[5], wanted[5], out);
    lumen::shutdown();
    child.stop();
  }
  return out;
}

int run_bench_node(const std::string& head_address,
                   const std::string& runtime_dir, const std::string& tls_dir) {
  lumen::detail::node_config cfg;
  cfg.base.address = head_address;
  cfg.runtime_dir = runtime_dir;
  if (!tls_dir.empty())
    cfg.base.tls = bench_tls(tls_dir, 2);
  return lumen::detail::run_node(cfg);
}

} // namespace lumen::cli::bench

// The workloads of `lumen microbenchmark`, by group. Each group's file
// registers the functions and actor classes its workloads run with
// LUMEN_REMOTE (the `lumen` binary is the whole program, so a node started
// from it knows them too).
//
// The one-node workloads expect the embedded runtime started with
// bench_config(); the two-node ones start their own cluster.
//
// Thread safety: call from the benchmark's main thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bench/bench_harness.hpp"
#include "lumen/config.hpp"

namespace lumen::cli::bench {

/// Of the custom resource that placement group bundles ask for, how much
/// the benchmark's node offers (Ray's run uses {"custom": 100}).
inline constexpr double custom_resource_amount = 100;

/// The config of the embedded one-node runtime the workloads run on.
inline lumen::config bench_config() {
  lumen::config cfg;
  cfg.resources = {{"custom", custom_resource_amount}};
  return cfg;
}

/// Tasks and actor calls (bench_tasks.cpp).
std::vector<workload> task_workloads();

/// cancel_10k_queued_tasks: the rate of cancelling queued tasks, from the
/// first cancel until all refs failed (bench_cancel.cpp).
std::vector<workload> cancel_workloads();
/// Async-actor calls and concurrent timers (bench_async.cpp).
std::vector<workload> async_workloads();

/// The step of single_client_tasks_async: submits n small_value tasks,
/// gets them all, checks their sum (bench::failure naming `what`).
void small_value_tasks(int n, const char* what);

/// single_client_tasks_async under those of lineage off, stash and
/// write_ahead whose metric is `wanted`: off and stash measured in turns,
/// then write_ahead; each turn starts (and stops) an embedded runtime of
/// its own with bench_config() and that mode, so call them with no
/// runtime running (bench_lineage.cpp).
std::vector<workload>
lineage_workloads(const std::function<bool(const std::string&)>& wanted);

/// The recovery metric, in seconds: a chain of 100 tasks, each value
/// larger than 256 KiB, runs on a second node (a child process of
/// `lumen_binary`, as in the two-node workloads); the time from its
/// SIGKILL until `get` of the last value returns it, rebuilt from lineage
/// (failure detection included). Starts its own head in this process.
std::string lineage_recovery_metric_name();
result run_lineage_recovery(const std::string& lumen_binary);

/// Streaming generators on this node (bench_streams.cpp).
std::vector<workload> stream_workloads();

/// `name`: a stream's items/s with its producer on node `other`.
result measure_stream(const std::string& other, const timing& t,
                      const std::string& name);

/// put/get/wait, large objects, placement groups and this machine's memcpy
/// and loopback TCP bandwidth (bench_objects.cpp).
std::vector<workload> object_workloads();

/// The scale workloads (bench_scale.cpp): 1M queued tasks (seconds, and
/// resident and heap bytes per queued task), 10k actors, a task given 10k
/// refs, a get of 10k objects (seconds each). Fixed sizes times `fraction`
/// (0 to 1; below 1 each prints the size it ran at to stderr), run once
/// each.
std::vector<workload> scale_workloads(double fraction = 1);

/// Workloads across two nodes on loopback (bench_two_nodes.cpp): the
/// metric names, and a run that starts a head in this process and a second
/// node as a child process of `lumen_binary`.
std::vector<std::string> two_node_metric_names();
std::vector<result> run_two_node_workloads(const std::string& lumen_binary,
                                           const timing& t,
                                           const std::vector<bool>& wanted);

/// The 64 MiB push and pull to and from node `other` (bench_two_nodes.cpp),
/// as `push_name` and `pull_name`, those wanted.
void measure_objects(const std::string& other, const timing& t,
                     const std::string& push_name, bool push,
                     const std::string& pull_name, bool pull,
                     std::vector<result>& out);

/// The borrowing rows (bench_borrow.cpp), against node `other`: a get of
/// an object holding 1,000 refs owned there (`get_name`), and the rate at
/// which refs borrowed from there and dropped here are released there
/// (`release_name`), those wanted.
void measure_borrowing(const std::string& other, const timing& t,
                       const std::string& get_name, bool get,
                       const std::string& release_name, bool release,
                       std::vector<result>& out);

/// The TLS files of node `node` (1: the head) in a `lumen tls init` dir.
lumen::tls_config bench_tls(const std::string& dir, int node);

/// The hidden entry point of the second node: `lumen microbenchmark
/// --internal-node HEAD_ADDRESS RUNTIME_DIR [TLS_DIR]`; returns the exit
/// status. With TLS_DIR, the node uses TLS with its node2 certificate.
int run_bench_node(const std::string& head_address,
                   const std::string& runtime_dir,
                   const std::string& tls_dir = {});

} // namespace lumen::cli::bench

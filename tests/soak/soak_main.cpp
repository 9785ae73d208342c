// lumen_soak: a head and two workers on 127.0.0.1 under a mixed load of
// tasks, actors, puts and transfers for a given time, while a fault thread
// SIGKILLs or SIGSTOPs a random worker every period, and the head twice.
// It checks that every result is correct, reports the slope of every
// process's resident memory after its warm-up, and at the end that the
// resources return to full, that the object stores are empty again (no ref
// remains) and that no process or file is left behind.
// Exit status 0 when every check passed, 1 otherwise, 2 on bad flags.
//
// Run by tests/soak/soak.sh (the long soak) and by ctest as soak.short (3
// minutes); `lumen_soak --help` lists the flags.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <lumen/lumen.hpp>

#include "../chaos/chaos_support.hpp"
#include "cluster_tasks.hpp"
#include "soak_faults.hpp"
#include "soak_memory.hpp"

namespace {

using namespace soak;
using cluster_tasks::Tally;

constexpr auto patience = std::chrono::seconds(180);

const char* usage =
  "usage: lumen_soak [flags]\n"
  "  --duration S        load and faults for S seconds (default 1800)\n"
  "  --fault-every S     a fault every S seconds (default 60)\n"
  "  --stop-ms MS        how long a SIGSTOPped node stays stopped (3000)\n"
  "  --faults KINDS      worker faults: kill,stop | kill | stop (kill,stop)\n"
  "  --head-faults N     faults of the head, spread over the run (2)\n"
  "  --head-fault KIND   kill (SIGKILL, start again), stop, or mix\n"
  "                      (alternate, a stop first) (kill)\n"
  "  --warmup S          memory slopes from S s after a process starts "
  "(120)\n"
  "  --sample-every S    memory samples every S seconds (5)\n"
  "  --min-fit-window S  judge slopes over windows of at least S s (300)\n"
  "  --max-slope MIB     largest slope allowed, MiB/min (2)\n"
  "  --seed N            picks victims and kinds (default: random, printed)\n"
  "  --pause-ms MS       pause between rounds of load (20)\n"
  "  --samples FILE      write every memory sample as CSV\n";

std::optional<options> parse(int argc, char** argv) {
  options o;
  o.seed = std::random_device{}();
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--help" || f == "-h" || i + 1 >= argc)
      return std::nullopt;
    std::string v = argv[++i];
    auto secs = [&v] {
      return std::chrono::seconds(std::stol(v));
    };
    try {
      if (f == "--duration")
        o.duration = secs();
      else if (f == "--fault-every")
        o.fault_every = secs();
      else if (f == "--stop-ms")
        o.stop_for = std::chrono::milliseconds(std::stol(v));
      else if (f == "--faults") {
        o.kill_workers = v.find("kill") != std::string::npos;
        o.stop_workers = v.find("stop") != std::string::npos;
        if (!o.kill_workers && !o.stop_workers)
          return std::nullopt;
      } else if (f == "--head-faults")
        o.head_faults = std::stoi(v);
      else if (f == "--head-fault") {
        if (v != "kill" && v != "stop" && v != "mix")
          return std::nullopt;
        o.head_stop = v == "stop";
        o.head_mix = v == "mix";
      } else if (f == "--warmup")
        o.warmup = secs();
      else if (f == "--sample-every")
        o.sample_every = secs();
      else if (f == "--min-fit-window")
        o.min_fit_window = secs();
      else if (f == "--max-slope")
        o.max_slope_mib_per_min = std::stod(v);
      else if (f == "--seed")
        o.seed = static_cast<unsigned>(std::stoul(v));
      else if (f == "--pause-ms")
        o.pause = std::chrono::milliseconds(std::stol(v));
      else if (f == "--samples")
        o.samples_file = v;
      else
        return std::nullopt;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (o.duration.count() <= 0 || o.fault_every.count() <= 0 ||
      o.sample_every.count() <= 0)
    return std::nullopt;
  return o;
}

/// `n` bytes as cluster_tasks::make_blob(n, seed) makes them.
std::vector<char> blob(std::int64_t n, int seed) {
  std::vector<char> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    v[static_cast<std::size_t>(i)] = static_cast<char>((i * 31 + seed) % 251);
  return v;
}

/// The mixed load and its checks, one round at a time.
class load {
 public:
  load(problems& p, clock_type::time_point t0) : problems_(p), t0_(t0) {
    for (int i = 0; i < 4; ++i) {
      actors_.push_back(lumen::actor(Tally::create)
                          .resources({{"worker", 1}})
                          .max_restarts(-1)
                          .max_task_retries(-1)
                          .remote(start_of(i)));
      last_.push_back(start_of(i));
    }
  }

  /// One round of every kind of work; what is wrong goes to the problems.
  void round(int r) {
    try {
      run(r);
    } catch (const std::exception& e) {
      fail(r, std::string{"an exception: "} + e.what());
    }
  }

  long rounds_ok() const {
    return ok_;
  }
  long checks() const {
    return checks_;
  }
  long resets() const {
    return resets_;
  }

  /// Drops the actors (they end: no handle is left).
  void release() {
    actors_.clear();
  }

 private:
  static int start_of(int i) {
    return 1000 * (i + 1);
  }

  void fail(int r, const std::string& what) {
    problems_.record("round " + std::to_string(r) + " at " +
                     std::to_string(static_cast<int>(since(t0_))) +
                     " s: " + what);
  }

  void check(int r, bool ok, const std::string& what) {
    ++checks_;
    if (!ok)
      fail(r, what);
    round_ok_ &= ok;
  }

  void run(int r) {
    round_ok_ = true;
    // Live workers now, for transfers from one to another.
    std::vector<std::string> workers;
    for (auto& n : lumen::nodes())
      if (n.alive && !n.head && !n.driver)
        workers.push_back(n.id);
    auto on = [&workers](std::size_t k) {
      return workers.empty() ? std::string{} : workers[k % workers.size()];
    };
    auto task_on = [](const std::string& node, auto f) {
      auto t = lumen::task(f).resources({{"worker", 1}}).max_retries(-1);
      if (!node.empty())
        t.node_affinity(node, /*soft=*/true);
      return t;
    };
    // Tasks.
    std::vector<lumen::object_ref<std::string>> where;
    for (int i = 0; i < 16; ++i)
      where.push_back(
        task_on(on(static_cast<std::size_t>(i)), cluster_tasks::where)
          .remote(i));
    // A transfer: a blob made on one worker, checked on another.
    const std::int64_t n = 256 * 1024 * (1 + r % 4);
    const int seed = r % 251;
    auto made =
      task_on(on(static_cast<std::size_t>(r)), cluster_tasks::make_blob)
        .remote(n, seed);
    auto moved =
      task_on(on(static_cast<std::size_t>(r) + 1), cluster_tasks::check_blob)
        .remote(made, n, seed);
    // A put, read by a task on a worker and here.
    const std::int64_t pn = 128 * 1024 + r % 1000;
    auto put = lumen::put(blob(pn, seed + 1));
    auto put_read =
      task_on(on(static_cast<std::size_t>(r)), cluster_tasks::check_blob)
        .remote(put, pn, seed + 1);
    // Actor calls, five per actor, in order.
    std::vector<std::vector<lumen::object_ref<int>>> calls(actors_.size());
    for (std::size_t a = 0; a < actors_.size(); ++a)
      for (int k = 0; k < 5; ++k)
        calls[a].push_back(actors_[a].task(&Tally::add).remote(1));

    auto got = lumen::get(where, patience);
    for (int i = 0; i < 16; ++i) {
      auto& s = got[static_cast<std::size_t>(i)];
      auto colon = s.rfind(':');
      check(r, colon == 32 && s.substr(colon + 1) == std::to_string(i),
            "where(" + std::to_string(i) + ") returned '" + s + "'");
    }
    auto m = lumen::get(moved, patience);
    check(r, m.size() > 3 && m.substr(m.size() - 3) == ":ok",
          "a " + std::to_string(n) + "-byte blob arrived as '" + m + "'");
    auto pr = lumen::get(put_read, patience);
    check(r, pr.size() > 3 && pr.substr(pr.size() - 3) == ":ok",
          "a put blob reached a worker as '" + pr + "'");
    check(r, lumen::get(put, patience) == blob(pn, seed + 1),
          "a put blob read here differs");
    for (std::size_t a = 0; a < actors_.size(); ++a) {
      auto values = lumen::get(calls[a], patience);
      // In order on one instance: each is one more than the one before.
      // A restart (the node died) starts again from the factory's value;
      // the calls not yet answered run again there, so the first value
      // after it is start + 1 .. start + k for the k-th call of the round.
      int start = start_of(static_cast<int>(a));
      int prev = last_[a];
      for (int k = 0; k < 5; ++k) {
        int v = values[static_cast<std::size_t>(k)];
        bool next = v == prev + 1;
        bool reset = !next && v >= start + 1 && v <= start + k + 1;
        if (reset)
          ++resets_;
        check(r, next || reset,
              "actor " + std::to_string(a) + " call " + std::to_string(k) +
                " returned " + std::to_string(v) + " after " +
                std::to_string(prev));
        prev = v;
      }
      last_[a] = prev;
    }
    if (round_ok_)
      ++ok_;
  }

  problems& problems_;
  clock_type::time_point t0_;
  std::vector<lumen::actor_handle<Tally>> actors_;
  std::vector<int> last_;
  long ok_ = 0;
  long checks_ = 0;
  long resets_ = 0;
  bool round_ok_ = true;
};

/// The object stores of live nodes that still hold bytes although no ref
/// remains (the load has ended); empty once every store is empty again,
/// waiting up to `limit`.
std::string wait_stores_empty(std::chrono::seconds limit) {
  auto deadline = clock_type::now() + limit;
  std::string held;
  for (;;) {
    held.clear();
    for (auto& n : lumen::nodes())
      if (n.alive && n.object_store_used > 0)
        held += " " + n.id.substr(0, 8) + (n.driver ? " (driver) " : " ") +
                std::to_string(n.object_store_used >> 10) + " KiB";
    if (held.empty() || clock_type::now() >= deadline)
      return held;
    std::this_thread::sleep_for(500ms);
  }
}

/// Processes whose command line names `dir` (node processes of this run).
std::vector<int> processes_naming(const std::string& dir) {
  std::vector<int> found;
  if (auto* d = opendir("/proc")) {
    while (auto* e = readdir(d)) {
      int pid = std::atoi(e->d_name);
      if (pid <= 0 || pid == ::getpid() || durable_it::gone(pid))
        continue;
      std::ifstream in{std::string{"/proc/"} + e->d_name + "/cmdline"};
      std::string cmd{std::istreambuf_iterator<char>{in}, {}};
      if (cmd.find(dir) != std::string::npos)
        found.push_back(pid);
    }
    closedir(d);
  }
  return found;
}

/// What a stopped cluster should not leave in the runtime directory:
/// anything but the logs and the head's GCS directory, named by its first
/// two path components (e.g. "stash/1234: 7 files").
std::vector<std::string> leftovers(const std::string& dir) {
  namespace fs = std::filesystem;
  std::map<std::string, int> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    auto rel = fs::relative(it->path(), dir);
    auto top = rel.begin()->string();
    if (top == "logs" || top.rfind("gcs-", 0) == 0 || it->is_directory())
      continue; // empty directories (nodes/, spill/, stash/) may stay
    auto key = top;
    if (auto second = std::next(rel.begin());
        second != rel.end() && std::next(second) != rel.end())
      key += "/" + second->string();
    ++files[key];
  }
  std::vector<std::string> left;
  for (auto& [key, n] : files)
    left.push_back(key + ": " + std::to_string(n) + " file" +
                   (n == 1 ? "" : "s"));
  return left;
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = parse(argc, argv);
  if (!parsed) {
    std::fputs(usage, stderr);
    return 2;
  }
  const options o = *parsed;
  problems p;
  std::fprintf(stderr,
               "soak: %lld s, a fault every %lld s (workers: %s%s%s, stopped "
               "%lld ms; head: %d x %s), seed %u\n",
               static_cast<long long>(o.duration.count()),
               static_cast<long long>(o.fault_every.count()),
               o.kill_workers ? "SIGKILL" : "",
               o.kill_workers && o.stop_workers ? " or " : "",
               o.stop_workers ? "SIGSTOP" : "",
               static_cast<long long>(o.stop_for.count()), o.head_faults,
               o.head_mix    ? "SIGSTOP/SIGKILL"
               : o.head_stop ? "SIGSTOP"
                             : "SIGKILL",
               o.seed);
  soak_cluster cluster{o};
  long rounds = 0, ok = 0, checks = 0, resets = 0;
  int kills = 0, stops = 0, stops_dead = 0, head_faults = 0, head_stops = 0;
  std::vector<std::string> memory_problems;
  std::set<int> seen;
  try {
    cluster.start();
    std::fprintf(stderr, "soak: cluster at %s, runtime directory %s\n",
                 cluster.address().c_str(), cluster.dir().c_str());
    // The driver's own files go to the same runtime directory.
    ::setenv("LUMEN_RUNTIME_DIR", cluster.dir().c_str(), 1);
    lumen::init_guard g{lumen::config{.address = cluster.address()}};
    if (!wait_healthy(static_cast<std::size_t>(o.workers), 60s))
      throw std::runtime_error("the cluster did not come up");
    auto t0 = clock_type::now();
    memory_watch memory{cluster, o, t0};
    faults fault{cluster, o, p, t0};
    {
      load l{p, t0};
      memory.start();
      fault.start();
      auto last_note = t0;
      while (clock_type::now() < t0 + o.duration) {
        l.round(static_cast<int>(rounds++));
        if (clock_type::now() - last_note >= 30s) {
          last_note = clock_type::now();
          std::fprintf(stderr,
                       "soak: %.0f s: %ld rounds, %ld fully correct, %zu "
                       "problems\n",
                       since(t0), rounds, l.rounds_ok(), p.all().size());
        }
        std::this_thread::sleep_for(o.pause);
      }
      fault.stop();
      ok = l.rounds_ok();
      checks = l.checks();
      resets = l.resets();
      kills = fault.kills();
      stops = fault.stops();
      head_faults = fault.head_faults();
      head_stops = fault.head_stops();
      stops_dead = fault.stops_declared_dead();
      // The last fault's recovery, then the actors go.
      if (!wait_healthy(static_cast<std::size_t>(o.workers), 60s))
        p.record("the cluster was not whole at the end");
      l.release();
    }
    memory.stop();
    memory_problems = memory.report();
    if (auto held = chaos::wait_for_free_resources(60s); !held.empty())
      p.record("resources still held 60 s after the load ended:" + held);
    else
      std::fprintf(stderr, "soak: every resource is free again\n");
    if (auto held = wait_stores_empty(60s); !held.empty())
      p.record("objects still stored 60 s after the last ref went:" + held);
    else
      std::fprintf(stderr, "soak: every object store is empty again\n");
    auto [code, status] = cluster.cli("status --address " + cluster.address());
    std::fprintf(stderr, "soak: lumen status (exit %d):\n%s", code,
                 status.c_str());
    if (code != 0)
      p.record("lumen status failed");
  } catch (const std::exception& e) {
    p.record(std::string{"the soak stopped early: "} + e.what());
  }
  // lumen::shutdown has run; stop the nodes and look for what remains.
  seen = cluster.seen();
  auto [code, out] =
    cluster.cli("stop --timeout 20 --runtime-dir " + cluster.dir());
  if (code != 0)
    p.record("lumen stop failed: " + out);
  for (int i = 0; i < 100; ++i) {
    bool any = false;
    for (int pid : seen)
      any |= !durable_it::gone(pid);
    if (!any)
      break;
    std::this_thread::sleep_for(100ms);
  }
  for (int pid : seen)
    if (!durable_it::gone(pid))
      p.record("node process " + std::to_string(pid) +
               " is still running after lumen stop");
  for (int pid : processes_naming(cluster.dir()))
    if (!seen.count(pid))
      p.record("process " + std::to_string(pid) +
               " naming the runtime directory is still running");
  auto left = leftovers(cluster.dir());
  for (auto& f : left)
    p.record("left behind after lumen stop: " + f);
  for (auto& m : memory_problems)
    p.record(m);

  auto all = p.all();
  std::fprintf(stderr,
               "soak: %ld rounds (%ld fully correct, %ld checks), %d worker "
               "SIGKILLs, %d worker SIGSTOPs (%d of them declared dead, "
               "exited and replaced), %d head faults (%d SIGSTOPs), %ld "
               "actor restarts seen, %zu node processes in all; %zu "
               "problems\n",
               rounds, ok, checks, kills, stops, stops_dead, head_faults,
               head_stops, resets, seen.size(), all.size());
  for (auto& x : all)
    std::fprintf(stderr, "  - %s\n", x.c_str());
  std::fprintf(stderr, "soak: %s\n", all.empty() ? "PASSED" : "FAILED");
  return all.empty() ? 0 : 1;
}

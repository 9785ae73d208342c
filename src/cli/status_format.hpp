// How `lumen status` shows a cluster_status: nodes, resources per node and
// in sum, what running tasks hold by job (the driver that submitted them,
// alive or dead), object-store use, pending demand no node can meet,
// actors by state.
//
// Header-only, so that unit tests can use it without linking the tool.
//
// Thread safety: plain functions.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "node/node_process.hpp"

namespace lumen::cli {

/// An amount of a resource: "2", "0.5", "1.25" (at most three decimals,
/// trailing zeros cut).
inline std::string format_amount(double x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.3f", x);
  std::string s = buf;
  while (s.back() == '0')
    s.pop_back();
  if (s.back() == '.')
    s.pop_back();
  return s == "-0" ? "0" : s;
}

/// A byte count for people: "512 B", "1.5 KiB", "2.0 GiB".
/// Unix milliseconds as "2026-01-31 12:00:00 UTC"; "?" for 0 (a GCS that
/// did not record it).
inline std::string format_utc(std::uint64_t ms) {
  if (ms == 0)
    return "?";
  auto t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

/// A job's line: "running since <start>" or "finished, <start> to <end>".
inline std::string job_times(const detail::node_record& n) {
  if (n.alive)
    return "running since " + format_utc(n.started_ms);
  return "finished, " + format_utc(n.started_ms) + " to " +
         format_utc(n.ended_ms);
}

inline std::string format_bytes(std::size_t n) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (n < 1024)
    return std::to_string(n) + " B";
  double x = static_cast<double>(n);
  size_t u = 0;
  while (x >= 1024 && u + 1 < std::size(units)) {
    x /= 1024;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f %s", x, units[u]);
  return buf;
}

namespace detail_status {

/// Resource names with CPU first, then the others in order.
inline std::vector<std::string>
resource_names(const std::map<std::string, double>& total) {
  std::vector<std::string> out;
  if (total.count("CPU") > 0)
    out.push_back("CPU");
  for (auto& [name, amount] : total)
    if (name != "CPU")
      out.push_back(name);
  return out;
}

inline std::string pad(std::string s, size_t width) {
  if (s.size() < width)
    s.append(width - s.size(), ' ');
  return s;
}

/// "CPU 1/4, ssd 0/1" (used/total). A name missing from `available` has
/// none available: zero is zero.
inline std::string
used_of_total(const std::map<std::string, double>& total,
              const std::map<std::string, double>& available) {
  std::string out;
  for (auto& name : resource_names(total)) {
    auto t = total.at(name);
    auto a = available.count(name) > 0 ? available.at(name) : 0.0;
    out += out.empty() ? "" : ", ";
    out +=
      name + " " + format_amount(std::max(0.0, t - a)) + "/" + format_amount(t);
  }
  return out.empty() ? "none" : out;
}

/// "CPU 1, GPU 0.5" ("nothing" if empty).
inline std::string amounts(const std::map<std::string, double>& xs) {
  std::string out;
  for (auto& name : resource_names(xs))
    out += (out.empty() ? "" : ", ") + name + " " + format_amount(xs.at(name));
  return out.empty() ? "nothing" : out;
}

/// "2 tasks" / "1 task".
inline std::string tasks(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " task" : " tasks");
}

/// What job `id` is, from the nodes: "driver alive", "driver dead", "node
/// alive" (a task an actor's method submitted), or "unknown".
inline std::string
job_state(const std::vector<lumen::detail::node_record>& nodes,
          const std::string& id) {
  for (auto& n : nodes)
    if (n.id == id)
      return std::string{n.driver ? "driver " : "node "} +
             (n.alive ? "alive" : "dead");
  return "unknown";
}

} // namespace detail_status

/// The text `lumen status` prints for the cluster whose head is at
/// `address`. Sums count alive nodes only.
inline std::string format_status(const lumen::detail::cluster_status& st,
                                 const std::string& address) {
  using namespace detail_status;
  std::string out;
  size_t alive = 0;
  size_t id_width = 2;
  size_t address_width = 7;
  for (auto& n : st.nodes) {
    alive += n.alive ? 1 : 0;
    id_width = std::max(id_width, n.id.size());
    address_width = std::max(address_width, n.address.size());
  }
  out += "Cluster at " + address + ": " + std::to_string(st.nodes.size()) +
         (st.nodes.size() == 1 ? " node" : " nodes") + ", " +
         std::to_string(alive) + " alive, " +
         std::to_string(st.nodes.size() - alive) + " dead\n\nNodes:\n";
  out += "  " + pad("STATE", 7) + pad("ID", id_width + 2) +
         pad("ADDRESS", address_width + 2) + "ROLE\n";
  std::map<std::string, double> sum_total;
  std::map<std::string, double> sum_available;
  std::size_t store_used = 0;
  std::size_t store_capacity = 0;
  std::map<std::string, lumen::detail::job_hold> by_job;
  for (auto& n : st.nodes) {
    out += "  " + pad(n.alive ? "alive" : "dead", 7) + pad(n.id, id_width + 2) +
           pad(n.address, address_width + 2) +
           (n.head     ? "head"
            : n.driver ? "driver"
                       : "worker") +
           "\n";
    if (!n.alive)
      continue;
    out += "      resources     " + used_of_total(n.total, n.available) +
           " (used/total)\n";
    for (auto& [job, hold] : n.held)
      out += "      running       " + tasks(hold.tasks) + " of job " + job +
             " (" + job_state(st.nodes, job) + ") " +
             (hold.tasks == 1 ? "holds " : "hold ") + amounts(hold.resources) +
             "\n";
    out += "      object store  " + format_bytes(n.object_store_used) + " of " +
           format_bytes(n.object_store_capacity) + "\n";
    for (auto& [name, amount] : n.total) {
      sum_total[name] += amount;
      sum_available[name] +=
        n.available.count(name) > 0 ? n.available.at(name) : 0.0;
    }
    for (auto& [job, hold] : n.held) {
      auto& sum = by_job[job];
      sum.tasks += hold.tasks;
      for (auto& [name, amount] : hold.resources)
        sum.resources[name] += amount;
    }
    store_used += n.object_store_used;
    store_capacity += n.object_store_capacity;
  }
  out += "\nResources (used/total, alive nodes):\n";
  if (sum_total.empty())
    out += "  none\n";
  size_t name_width = 0;
  for (auto& [name, amount] : sum_total)
    name_width = std::max(name_width, name.size());
  for (auto& name : resource_names(sum_total)) {
    auto t = sum_total[name];
    auto used = std::max(0.0, t - sum_available[name]);
    out += "  " + pad(name, name_width + 2) + format_amount(used) + "/" +
           format_amount(t) + "\n";
  }
  out += "Object store: " + format_bytes(store_used) + " of " +
         format_bytes(store_capacity) + "\n";
  // Used resources, explained: a dead driver's tasks run (and hold what
  // they took) until they return.
  out += "\nHeld by running tasks, by job (the driver that submitted them):";
  out += by_job.empty() ? " none\n" : "\n";
  bool dead_job = false;
  for (auto& [job, hold] : by_job) {
    auto state = job_state(st.nodes, job);
    dead_job = dead_job || state == "driver dead";
    out += "  " + job + " (" + state + "): " + tasks(hold.tasks) +
           (hold.tasks == 1 ? " holds " : " hold ") + amounts(hold.resources) +
           "\n";
  }
  if (dead_job)
    out += "  (a dead driver's tasks were cancelled when it ended; each holds "
           "what it took until its code returns: threads are never killed)\n";
  // Every driver is a job; its id is its node's.
  out += "\nJobs (drivers):";
  std::string jobs;
  for (auto& n : st.nodes)
    if (n.driver)
      jobs += "  " + n.id + "  " + job_times(n) + "\n";
  out += jobs.empty() ? " none\n" : "\n" + jobs;
  out += "\nPending demand no node can meet:";
  if (st.infeasible.empty())
    out += " none\n";
  else
    out += "\n";
  for (auto& [shape, count] : st.infeasible)
    out += "  " + shape + ": " + std::to_string(count) + " waiting\n";
  out += "\nActors:";
  if (st.actors.empty())
    out += " none";
  static const char* order[] = {"alive", "pending", "restarting", "dead"};
  std::string sep = " ";
  for (auto state : order) {
    if (auto i = st.actors.find(state); i != st.actors.end()) {
      out += sep + std::to_string(i->second) + " " + state;
      sep = ", ";
    }
  }
  for (auto& [state, count] : st.actors) {
    if (std::find(std::begin(order), std::end(order), state) ==
        std::end(order)) {
      out += sep + std::to_string(count) + " " + state;
      sep = ", ";
    }
  }
  out += "\n\nLineage: " + std::to_string(st.committed_lineage) +
         " task specs committed to the GCS\n";
  return out;
}

} // namespace lumen::cli

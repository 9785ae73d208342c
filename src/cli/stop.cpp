// `lumen stop`: stops the nodes this machine started.
#include <chrono>
#include <iostream>
#include <string>

#include "cli/command_line.hpp"
#include "cli/stop_nodes.hpp"
#include "cli/values.hpp"
#include "lineage/stash.hpp"
#include "objects/spill_files.hpp"

namespace lumen::cli {

namespace {

/// Seconds `lumen stop` waits after SIGTERM by default.
constexpr double default_stop_timeout = 10;

const std::vector<option_spec>& stop_option_specs() {
  using k = option_kind;
  static const std::vector<option_spec> specs{
    {"help", k::flag, "", "print this help", false},
    {"timeout", k::value, "S",
     "seconds to wait for the nodes to exit after SIGTERM before sending "
     "SIGKILL (default: 10)"},
    {"runtime-dir", k::value, "DIR",
     "where the nodes' files are (default: $LUMEN_RUNTIME_DIR, else "
     "/tmp/lumen-<uid>)"},
  };
  return specs;
}

constexpr const char* stop_usage = "lumen stop [--timeout S]";

constexpr const char* stop_about =
  "Stops the nodes started on this machine (those with a node file in the\n"
  "runtime directory): SIGTERM to the worker nodes, then to the head;\n"
  "each gets --timeout seconds to shut down before SIGKILL. Removes node\n"
  "files whose process is gone. Exits with status 1 if a node could not\n"
  "be stopped. Removes the spill files (<runtime-dir>/spill) of nodes that\n"
  "ended without removing them, such as nodes killed with SIGKILL, and\n"
  "their lineage stashes (<runtime-dir>/stash) that no node adopted.";

} // namespace

int run_stop(const arguments& args) {
  auto& specs = stop_option_specs();
  auto in = parse_command_line(args, specs);
  if (in.count("help") > 0) {
    print_help(std::cout, stop_usage, stop_about, specs);
    return 0;
  }
  auto timeout = timeout_from(in, default_stop_timeout);
  auto dir = runtime_dir_from(in);
  check_runtime_dir(dir);
  auto status = stop_nodes(dir, timeout, std::cout);
  // Spill files of nodes that were killed before they could remove them
  // (those of nodes still running, here or of another cluster, stay).
  auto spill = dir + "/spill";
  if (auto n = lumen::detail::spill_files::remove_dead(spill); n > 0)
    std::cout << "lumen: removed the spill files of " << n << " ended node"
              << (n == 1 ? "" : "s") << " in " << spill << "\n";
  // Lineage stashes of nodes that ended without removing them (SIGKILLed
  // ones that no node started since adopted): their uncommitted rows go
  // as a clean stop's do. Those of nodes still running (their lock is
  // held) stay.
  auto stashes = dir + "/stash";
  if (auto n = lumen::detail::lineage_stash::remove_dead(stashes); n > 0)
    std::cout << "lumen: removed the lineage stashes of " << n << " ended node"
              << (n == 1 ? "" : "s") << " in " << stashes << "\n";
  return status;
}

} // namespace lumen::cli

// `lumen`: the command-line tool that starts, inspects and stops the nodes
// of a Lumen cluster. Each subcommand lives in a file of its own; adding
// one is one line in the table below (and its run_ function).
#include <algorithm>
#include <cstring>
#include <iostream>
#include <string>

#include "cli/command_line.hpp"

namespace {

using lumen::cli::subcommand;

/// Every subcommand of `lumen`, in the order `lumen --help` lists them.
const subcommand subcommands[] = {
  {"start", "start a head node, or a node that joins a cluster",
   lumen::cli::run_start},
  {"status", "show a cluster's nodes, resources, demand and actors",
   lumen::cli::run_status},
  {"stop", "stop the nodes this machine started", lumen::cli::run_stop},
  {"microbenchmark", "run Ray's microbenchmark workloads on Lumen",
   lumen::cli::run_microbenchmark},
  {"tls", "make a cluster CA, node certificates and a token (tls init DIR)",
   lumen::cli::run_tls},
};

void print_usage(std::ostream& out) {
  out << "Usage: lumen <command> [options]\n\n"
         "Starts, inspects and stops the nodes of a Lumen cluster.\n\n"
         "Commands:\n";
  for (auto& cmd : subcommands) {
    std::string name = cmd.name;
    name.resize(std::max<size_t>(name.size() + 2, 16), ' ');
    out << "  " << name << cmd.summary << "\n";
  }
  out << "\nRun 'lumen <command> --help' for the options of a command.\n";
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return 2;
  }
  std::string name = argv[1];
  lumen::cli::arguments args(argv + 2, argv + argc);
  if (name == "--help" || name == "-h" || name == "help") {
    if (name == "help" && !args.empty()) { // lumen help <command>
      name = args.front();
      args = {"--help"};
    } else {
      print_usage(std::cout);
      return 0;
    }
  }
  for (auto& cmd : subcommands) {
    if (name != cmd.name)
      continue;
    try {
      return cmd.run(args);
    } catch (const lumen::cli::usage_error& e) {
      std::cerr << "lumen " << name << ": " << e.what() << "\nRun 'lumen "
                << name << " --help' for its options.\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "lumen " << name << ": " << e.what() << "\n";
      return 1;
    }
  }
  std::cerr << "lumen: unknown command '" << name << "'\n\n";
  print_usage(std::cerr);
  return 2;
}

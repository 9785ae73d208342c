// The `lumen` subcommands and what they share: the table main.cpp
// dispatches on, and command-line parsing through Boost.Program_options
// into the settings of cli/settings.hpp.
//
// Thread safety: called from main's thread only.
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "cli/settings.hpp"

namespace lumen::cli {

/// Arguments after the subcommand's name.
using arguments = std::vector<std::string>;

/// One `lumen` subcommand.
struct subcommand {
  /// What the user types, e.g. "start".
  const char* name;
  /// One line for `lumen --help`.
  const char* summary;
  /// Runs it; returns the exit status. May throw usage_error (main prints
  /// it and exits with 2) or any std::exception (exit 1).
  int (*run)(const arguments& args);
};

// -- subcommands (one file each) ---------------------------------------------

/// `lumen start`: start a head node or join a node to a cluster (start.cpp).
int run_start(const arguments& args);

/// `lumen status`: show a cluster (status.cpp).
int run_status(const arguments& args);

/// `lumen stop`: stop the nodes this machine started (stop.cpp).
int run_stop(const arguments& args);

/// `lumen microbenchmark`: Ray's microbenchmark metrics (microbenchmark.cpp).
int run_microbenchmark(const arguments& args);

/// `lumen tls init DIR`: a cluster CA, node certificates and a token for
/// a test cluster (tls_init.cpp).
int run_tls(const arguments& args);

// -- shared by the subcommands -----------------------------------------------

/// Parses `args` against `specs` with Boost.Program_options: long options
/// only as listed (no abbreviations), `--key value` or `--key=value`, flags
/// without a value, no positional arguments. Throws usage_error
/// "command line: ..." naming the option on an unknown option, a missing
/// value or a second value of a non-list option.
settings parse_command_line(const arguments& args,
                            const std::vector<option_spec>& specs);

/// Prints `usage` (e.g. "lumen stop [options]"), `about` and the options of
/// `specs` as `--help` shows them.
void print_help(std::ostream& out, const std::string& usage,
                const std::string& about,
                const std::vector<option_spec>& specs);

/// `--timeout` in seconds from `in` (or `default_seconds`); a bad value
/// fails with usage_error naming the option.
std::chrono::milliseconds timeout_from(const settings& in,
                                       double default_seconds);

/// The runtime directory: `--runtime-dir` if given in `in`, else
/// runtime_dir_default(); absolute.
std::string runtime_dir_from(const settings& in);

/// Creates runtime directory `dir` (mode 0700) with its `logs/` and
/// `nodes/` if missing. Throws std::runtime_error if it cannot, or if
/// check_runtime_dir fails.
void prepare_runtime_dir(const std::string& dir);

/// Throws std::runtime_error if `dir` exists but belongs to another user or
/// others may write to it: its node files tell `lumen stop` which processes
/// to signal, so nobody else may plant them (lumen::detail's
/// check_runtime_dir, node/runtime_dir.hpp, which drivers use too).
void check_runtime_dir(const std::string& dir);

} // namespace lumen::cli

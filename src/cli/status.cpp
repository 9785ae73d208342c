// `lumen status`: asks a cluster's head for its view and prints it.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

#include "cli/command_line.hpp"
#include "cli/node_file.hpp"
#include "cli/start_options.hpp"
#include "cli/status_format.hpp"
#include "cli/values.hpp"
#include "node/node_process.hpp"
#include "node/node_security.hpp"

namespace lumen::cli {

namespace {

/// Seconds `lumen status` waits for the head by default.
constexpr double default_status_timeout = 5;

const std::vector<option_spec>& status_option_specs() {
  using k = option_kind;
  static const std::vector<option_spec> specs{
    {"help", k::flag, "", "print this help", false},
    {"address", k::value, "HOST:PORT",
     "the head to ask (default: $LUMEN_ADDRESS, else the head node started "
     "on this machine)"},
    {"runtime-dir", k::value, "DIR",
     "where to look for the head's node file (default: "
     "$LUMEN_RUNTIME_DIR, else /tmp/lumen-<uid>)"},
    {"timeout", k::value, "S",
     "seconds to wait for the head's answer (default: 5)"},
    {"config", k::value, "FILE",
     "a node's INI file (lumen start --config): its tls-certificate, "
     "tls-key, tls-ca, token or token-file, and its address, reach the "
     "head; other keys are ignored (default: $LUMEN_TLS_CERTIFICATE, "
     "$LUMEN_TLS_KEY, $LUMEN_TLS_CA, $LUMEN_TOKEN)"},
  };
  return specs;
}

constexpr const char* status_usage = "lumen status [--address HOST:PORT]";

constexpr const char* status_about =
  "Shows the cluster as its head sees it: nodes (alive or dead, id,\n"
  "address), resources used and total per node and in sum, object-store\n"
  "use per node, pending demand that no node can meet, and actors by\n"
  "state. Exits with status 1 if the head does not answer.";

/// The head's address: --address, else $LUMEN_ADDRESS, else the alive head
/// among this machine's node files.
std::string head_address(const settings& in) {
  if (auto i = in.find("address"); i != in.end()) {
    auto& s = i->second.back();
    try {
      parse_address(s.value);
    } catch (const value_error& e) {
      fail("address", s, e.what());
    }
    return s.value;
  }
  if (auto* env = std::getenv("LUMEN_ADDRESS"); env != nullptr && *env) {
    try {
      parse_address(env);
    } catch (const value_error& e) {
      throw usage_error(std::string{"LUMEN_ADDRESS: "} + e.what());
    }
    return env;
  }
  auto dir = runtime_dir_from(in);
  check_runtime_dir(dir);
  for (auto& f : read_node_files(dir))
    if (f.head() && node_alive(f))
      return f.address;
  throw std::runtime_error(
    "no head node to ask: give --address HOST:PORT, set "
    "LUMEN_ADDRESS, or start one with 'lumen start --head' "
    "(no running head has a node file under " +
    dir + ")");
}

} // namespace

int run_status(const arguments& args) {
  auto& specs = status_option_specs();
  auto in = parse_command_line(args, specs);
  if (in.count("help") > 0) {
    print_help(std::cout, status_usage, status_about, specs);
    return 0;
  }
  auto timeout = timeout_from(in, default_status_timeout);
  // TLS files and token: as a node of the cluster would have them.
  lumen::detail::node_config security;
  if (auto i = in.find("config"); i != in.end()) {
    auto file = read_ini_file(i->second.back().value, start_option_specs());
    take_security_settings(file, security);
    if (in.count("address") == 0 && file.count("address") > 0)
      in["address"] = file["address"];
  }
  auto address = head_address(in);
  lumen::detail::cluster_status st;
  try {
    lumen::detail::resolve_security(security);
    st = lumen::detail::query_status(address, timeout, security.base);
  } catch (const std::exception& e) {
    // query_status's message names the address and why.
    std::cerr << "lumen status: " << e.what() << "\n";
    return 1;
  }
  std::cout << format_status(st, address);
  return 0;
}

} // namespace lumen::cli

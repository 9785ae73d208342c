// The options of `lumen start`: their table (shared by `--help` and the
// config file reader), and how the merged settings become the node_config
// that run_node takes.
//
// Header-only and free of Boost, so that unit tests can use it without
// linking the command-line tool.
//
// Thread safety: plain functions and values.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/settings.hpp"
#include "cli/values.hpp"
#include "log/log.hpp"
#include "net/transport_guard.hpp"
#include "node/node_config.hpp"

namespace lumen::cli {

/// Every option of `lumen start`; config files take the same keys without
/// the dashes (all but `help` and `config`).
inline const std::vector<option_spec>& start_option_specs() {
  using k = option_kind;
  static const std::vector<option_spec> specs{
    {"help", k::flag, "", "print this help", false},
    {"config", k::value, "FILE",
     "read options from this INI file (keys without the dashes); the "
     "command line wins",
     false},
    {"head", k::flag, "",
     "start a head node (GCS and a worker); excludes --address"},
    {"address", k::value, "HOST:PORT",
     "join the cluster whose head listens at HOST:PORT; excludes --head"},
    {"port", k::value, "PORT",
     "a head's cluster port; 0 picks a free one (default: 6390); a joining "
     "node listens on a free port"},
    {"host", k::value, "HOST",
     "address the node's ports bind to (default: 127.0.0.1)"},
    {"num-cpus", k::value, "X",
     "CPUs offered to tasks, fractions allowed (default: hardware threads)"},
    {"resources", k::value, "JSON",
     R"(custom resources, e.g. '{"ssd": 1, "accelerator": 0.5}' )"
     "(default: none)"},
    {"object-store-memory", k::value, "BYTES",
     "object store capacity, e.g. 4Gi or 500M; K/M/G/T are powers of 1000, "
     "Ki/Mi/Gi/Ti of 1024 (default: 30% of physical memory)"},
    {"lineage", k::value, "MODE",
     "stash (append specs locally, commit to the GCS in the background), "
     "write_ahead (commit each spec before its task runs) or off (no "
     "reconstruction) (default: stash)"},
    {"object-spilling-threshold", k::value, "X",
     "fraction of the object store above which objects spill to disk "
     "(default: 0.8)"},
    {"spill-directory", k::value, "DIR",
     "where spilled objects go (default: a directory under runtime-dir)"},
    {"spill-capacity", k::value, "BYTES",
     "bytes the spill directory may hold; 0 means until the disk is full "
     "(default: 0)"},
    {"max-message-size", k::value, "BYTES",
     "largest message the node reads from a connection; a peer announcing "
     "a larger one is cut off and logged, at least 16Mi (default: 1Gi)"},
    {"max-object-size", k::value, "BYTES",
     "largest object the node stores: a larger put or task result fails, "
     "a larger value from a peer is not pulled; 0 means the object store's "
     "capacity (default: 0)"},
    {"handshake-timeout", k::value, "SECONDS",
     "time a new connection has to finish its handshake (TLS, then CAF's) "
     "before it is cut off and logged; 0 means no limit (default: 10)"},
    {"idle-timeout", k::value, "SECONDS",
     "time a connection may stay silent (nodes send a heartbeat every "
     "second) before it is closed and logged; 0 means no limit "
     "(default: 60)"},
    {"frame-memory", k::value, "BYTES",
     "memory that partly received messages may hold on this node, all "
     "connections together; 0 means max-message-size, at least that "
     "(default: 0)"},
    {"object-transfer", k::value, "MODE",
     "direct (objects travel between object stores on a channel of their "
     "own, a broker on the node's transport, TLS included, taken with "
     "one-time tickets) or middleman (inside the node connections) "
     "(default: direct)"},
    {"gcs-dir", k::value, "DIR",
     "a head's durable GCS tables (default: <runtime-dir>/gcs-<port>; "
     "memory only for --port 0)"},
    {"failure-phi", k::value, "X",
     "a head suspects a node once its silence is this unlikely: phi, "
     "-log10 of the chance under its heartbeats' past intervals, above 0 "
     "(default: 8)"},
    {"failure-grace-ms", k::value, "MS",
     "a head declares a suspected node dead after this many milliseconds "
     "without a heartbeat or a connection, and none for this long after "
     "the head itself was stopped; at least 100 (default: 3000)"},
    {"load", k::list, "LIB.so",
     "shared library whose LUMEN_REMOTE registrations the node gains; "
     "repeatable (default: none)"},
    {"block", k::flag, "",
     "run the node in the foreground until SIGTERM or SIGINT (exit status "
     "0), or until the head declares it dead (exit status 75: start it "
     "again) (default: start "
     "it in the background and return)"},
    {"runtime-dir", k::value, "DIR",
     "where node files and logs go (default: $LUMEN_RUNTIME_DIR, else "
     "/tmp/lumen-<uid>)"},
    {"log-level", k::value, "LEVEL",
     "least severe level the node logs: trace, debug, info, warn, error or "
     "off (default: $LUMEN_LOG_LEVEL, else info)"},
    {"log-file", k::value, "FILE",
     "file the node logs to (default: $LUMEN_LOG_FILE, else "
     "<runtime-dir>/logs/<role>-<pid>.log, or stderr with --block)"},
    {"tls-certificate", k::value, "FILE",
     "this node's TLS certificate (PEM, signed by the cluster CA); TLS "
     "needs tls-certificate, tls-key and tls-ca together (default: "
     "$LUMEN_TLS_CERTIFICATE, else no TLS)"},
    {"tls-key", k::value, "FILE",
     "this node's private key (PEM, unencrypted, mode 600) (default: "
     "$LUMEN_TLS_KEY)"},
    {"tls-ca", k::value, "FILE",
     "the cluster CA's certificate (PEM), which every node's certificate "
     "must verify against (default: $LUMEN_TLS_CA)"},
    {"token", k::value, "TEXT",
     "the cluster token (16 or more characters): a head admits only nodes "
     "that present it; prefer token-file or LUMEN_TOKEN, as others see a "
     "command line (default: $LUMEN_TOKEN, else none)"},
    {"token-file", k::value, "FILE",
     "read the cluster token from this file (mode 600); excludes token "
     "(default: none)"},
    {"allow-insecure-network", k::flag, "",
     "listen on an address other than loopback without TLS and a token; "
     "only for a trusted, closed network (default: false, such a node "
     "refuses to start)"},
  };
  return specs;
}

/// Keys of `lumen start` that a command line overrides as one (see merge).
inline std::vector<std::vector<std::string>> start_option_groups() {
  return {{"head", "address"}, {"token", "token-file"}};
}

/// What `lumen start` does, after checking.
struct start_options {
  /// The node to run; `runtime_dir` is empty unless given (the caller
  /// fills in runtime_dir_default()).
  lumen::detail::node_config node;
  /// Stay in the foreground (`--block`).
  bool block = false;

  /// "head" or "worker": the node's role in its node file and log name.
  const char* role() const {
    return node.head ? "head" : "worker";
  }
};

namespace detail_start {

/// The value given for non-list `key`, or nullptr.
inline const setting* find(const settings& in, const std::string& key) {
  auto i = in.find(key);
  return i == in.end() || i->second.empty() ? nullptr : &i->second.back();
}

/// Calls `parse(s.value)`, turning a value_error into a usage_error that
/// names `key` and where `s` was given.
template <class Parse>
auto convert(const std::string& key, const setting& s, Parse parse) {
  try {
    return parse(s.value);
  } catch (const value_error& e) {
    fail(key, s, e.what());
  }
}

/// The level named `v` (trace, debug, info, warn, error or off).
inline lumen::log_level parse_log_level_name(std::string_view v) {
  if (auto level = lumen::detail::parse_log_level(v))
    return *level;
  throw value_error("expected trace, debug, info, warn, error or off, got '" +
                    std::string{v} + "'");
}

} // namespace detail_start

/// Takes the security keys of `in` (tls-certificate, tls-key, tls-ca,
/// token, token-file, allow-insecure-network) into `node`; paths become
/// absolute. Files are not read here (the node checks them when it
/// starts). Throws usage_error if both token and token-file are given.
inline void take_security_settings(const settings& in,
                                   lumen::detail::node_config& node) {
  using detail_start::convert;
  using detail_start::find;
  namespace fs = std::filesystem;
  auto path = [](const setting& s) {
    return fs::absolute(s.value).lexically_normal().string();
  };
  if (auto* s = find(in, "tls-certificate"))
    node.base.tls.certificate = path(*s);
  if (auto* s = find(in, "tls-key"))
    node.base.tls.key = path(*s);
  if (auto* s = find(in, "tls-ca"))
    node.base.tls.ca = path(*s);
  auto* token = find(in, "token");
  auto* token_file = find(in, "token-file");
  if (token != nullptr && token_file != nullptr)
    throw usage_error(spelled("token", *token) + " (" + origin(*token) +
                      ") and " + spelled("token-file", *token_file) + " (" +
                      origin(*token_file) +
                      ") exclude each other: give the cluster token once");
  if (token != nullptr)
    node.base.token = token->value;
  if (token_file != nullptr)
    node.token_file = path(*token_file);
  if (auto* s = find(in, "allow-insecure-network"))
    node.allow_insecure_network =
      convert("allow-insecure-network", *s, parse_bool);
}

/// Checks merged settings of `lumen start` and builds its options; throws
/// usage_error naming the key and where it was given. Exactly one of head
/// and address must be given. Paths in `load` that contain a '/' must name
/// existing files and become absolute (others are left to the dynamic
/// loader's search path); `runtime-dir` becomes absolute.
inline start_options make_start_options(const settings& in) {
  using detail_start::convert;
  using detail_start::find;
  using detail_start::parse_log_level_name;
  namespace fs = std::filesystem;
  start_options out;
  auto& node = out.node;
  auto* head = find(in, "head");
  auto* address = find(in, "address");
  node.head = head != nullptr && convert("head", *head, parse_bool);
  if (node.head && address != nullptr)
    throw usage_error(spelled("head", *head) + " (" + origin(*head) + ") and " +
                      spelled("address", *address) + " (" + origin(*address) +
                      ") exclude each other: a head node starts a "
                      "cluster, --address joins one");
  if (address != nullptr) {
    convert("address", *address, parse_address);
    node.base.address = address->value;
  } else if (!node.head) {
    throw usage_error("give --head to start a head node or --address "
                      "HOST:PORT to join a cluster (on the command line or "
                      "in the config file)");
  }
  if (auto* s = find(in, "port"))
    node.port = static_cast<std::uint16_t>(convert("port", *s, [](auto v) {
      return parse_unsigned(v, 65535);
    }));
  else
    node.port = node.head ? lumen::detail::default_cluster_port : 0;
  if (auto* s = find(in, "host")) {
    if (s->value.find_first_of(" \t/") != std::string::npos)
      fail("host", *s,
           "expected a host name or IP address, got " + in_quotes(s->value));
    node.host = s->value;
  }
  if (auto* s = find(in, "num-cpus"))
    node.base.num_cpus = convert("num-cpus", *s, parse_non_negative);
  if (auto* s = find(in, "resources"))
    node.base.resources = convert("resources", *s, parse_resources);
  if (auto* s = find(in, "object-store-memory"))
    node.base.object_store_memory =
      convert("object-store-memory", *s, parse_size);
  if (auto* s = find(in, "lineage"))
    node.base.lineage = convert("lineage", *s, parse_lineage_mode);
  if (auto* s = find(in, "object-spilling-threshold")) {
    auto x = convert("object-spilling-threshold", *s, parse_non_negative);
    if (x <= 0 || x > 1)
      fail("object-spilling-threshold", *s,
           "expected a fraction above 0 and at most 1, got " +
             in_quotes(s->value));
    node.base.object_spilling_threshold = x;
  }
  if (auto* s = find(in, "spill-directory"))
    node.base.spill_directory =
      fs::absolute(s->value).lexically_normal().string();
  if (auto* s = find(in, "spill-capacity"))
    node.base.spill_capacity = convert("spill-capacity", *s, parse_size);
  if (auto* s = find(in, "max-message-size")) {
    auto n = convert("max-message-size", *s, parse_size);
    if (n < lumen::detail::min_max_message_size)
      fail("max-message-size", *s,
           "expected at least 16Mi (16777216 bytes), got " +
             in_quotes(s->value));
    node.base.max_message_size = n;
  }
  if (auto* s = find(in, "max-object-size"))
    node.base.max_object_size = convert("max-object-size", *s, parse_size);
  if (auto* s = find(in, "handshake-timeout"))
    node.base.handshake_timeout =
      convert("handshake-timeout", *s, parse_non_negative);
  if (auto* s = find(in, "idle-timeout"))
    node.base.idle_timeout = convert("idle-timeout", *s, parse_non_negative);
  if (auto* s = find(in, "frame-memory")) {
    auto n = convert("frame-memory", *s, parse_size);
    if (n != 0 && n < node.base.max_message_size)
      fail("frame-memory", *s,
           "expected 0 or at least max-message-size (" +
             std::to_string(node.base.max_message_size) + " bytes), got " +
             in_quotes(s->value));
    node.base.frame_memory = n;
  }
  if (auto* s = find(in, "object-transfer"))
    node.base.object_transfer =
      convert("object-transfer", *s, [](std::string_view v) {
        if (v == "direct")
          return lumen::object_transfer_mode::direct;
        if (v == "middleman")
          return lumen::object_transfer_mode::middleman;
        throw value_error("expected direct or middleman, got '" +
                          std::string{v} + "'");
      });
  if (auto* s = find(in, "gcs-dir"))
    node.gcs_dir = fs::absolute(s->value).lexically_normal().string();
  if (auto* s = find(in, "failure-phi")) {
    auto x = convert("failure-phi", *s, parse_non_negative);
    if (x <= 0)
      fail("failure-phi", *s,
           "expected a number above 0, got " + in_quotes(s->value));
    node.failure.phi_threshold = x;
  }
  if (auto* s = find(in, "failure-grace-ms")) {
    auto x = convert("failure-grace-ms", *s, parse_non_negative);
    if (x < 100 || x > 86400000)
      fail("failure-grace-ms", *s,
           "expected milliseconds from 100 to 86400000, got " +
             in_quotes(s->value));
    node.failure.grace = std::chrono::milliseconds{static_cast<long>(x)};
  }
  if (auto i = in.find("load"); i != in.end()) {
    for (auto& s : i->second) {
      if (s.value.find('/') == std::string::npos) {
        node.load.push_back(s.value);
        continue;
      }
      std::error_code ec;
      if (!fs::is_regular_file(s.value, ec))
        fail("load", s, "no such file: " + in_quotes(s.value));
      node.load.push_back(fs::absolute(s.value).lexically_normal().string());
    }
  }
  if (auto* s = find(in, "block"))
    out.block = convert("block", *s, parse_bool);
  if (auto* s = find(in, "runtime-dir"))
    node.runtime_dir = fs::absolute(s->value).lexically_normal().string();
  if (auto* s = find(in, "log-level"))
    node.base.log_level = convert("log-level", *s, parse_log_level_name);
  if (auto* s = find(in, "log-file"))
    node.base.log_file = fs::absolute(s->value).lexically_normal().string();
  take_security_settings(in, node);
  return out;
}

} // namespace lumen::cli

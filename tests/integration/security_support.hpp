// What the TLS and token tests share: certificate sets made with
// `lumen tls init`, the nodes' logs, and a bare CAF client that connects
// to a node the way a stranger would (no lumen::init, no hello unless it
// says one).
#pragma once

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/gatekeeper.hpp"
#include "actors/messages.hpp"
#include "cluster_support.hpp"
#include "net/transport.hpp"

namespace security_it {

/// A fresh directory, removed when the test ends (unless
/// LUMEN_TEST_KEEP_DIR is set).
struct temp_dir {
  temp_dir() {
    char tmpl[] = "/tmp/lumen-sec-it-XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~temp_dir() {
    if (std::getenv("LUMEN_TEST_KEEP_DIR") == nullptr)
      cluster_it::run("rm -rf " + path);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string path;
};

/// A cluster CA with `nodes` node certificates and a token, made by
/// `lumen tls init <parent>/<name>`.
struct pki {
  pki(const std::string& parent, const std::string& name, int nodes = 4)
    : dir(parent + "/" + name) {
    auto [status, out] =
      cluster_it::run(std::string{LUMEN_CLI_PATH} + " tls init " + dir +
                      " --nodes " + std::to_string(nodes));
    if (status != 0)
      throw std::runtime_error("lumen tls init failed:\n" + out);
  }

  std::string cert(int i) const {
    return dir + "/node" + std::to_string(i) + ".pem";
  }

  std::string key(int i) const {
    return dir + "/node" + std::to_string(i) + ".key";
  }

  std::string ca() const {
    return dir + "/ca.pem";
  }

  std::string token_file() const {
    return dir + "/token";
  }

  std::string token() const {
    std::ifstream in{token_file()};
    std::string t;
    in >> t;
    return t;
  }

  /// Node `i`'s TLS files.
  lumen::tls_config tls(int i) const {
    return {cert(i), key(i), ca()};
  }

  /// `lumen start` options for node `i`: its TLS files and, if
  /// `with_token`, the token file.
  std::string args(int i, bool with_token = true) const {
    return "--tls-certificate " + cert(i) + " --tls-key " + key(i) +
           " --tls-ca " + ca() +
           (with_token ? " --token-file " + token_file() : "");
  }

  std::string dir;
};

/// Everything the nodes of `runtime_dir` with `role` ("head", "worker")
/// logged so far.
inline std::string logs(const std::string& runtime_dir,
                        const std::string& role) {
  return cluster_it::run("cat " + runtime_dir + "/logs/" + role + "-*.log")
    .second;
}

/// Waits (bounded) until the logs of `role` contain `text`.
inline bool
wait_for_log(const std::string& runtime_dir, const std::string& role,
             const std::string& text,
             std::chrono::seconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (logs(runtime_dir, role).find(text) != std::string::npos)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

/// The port of HOST:PORT.
inline std::uint16_t port_of(const std::string& address) {
  return static_cast<std::uint16_t>(
    std::stoi(address.substr(address.rfind(':') + 1)));
}

/// A bare actor system that talks to nodes: TLS with `tls` when it names
/// files (taken as they are, without check_tls_files, so a test can offer
/// a certificate the cluster must refuse), plain TCP otherwise.
class raw_client {
 public:
  explicit raw_client(const lumen::tls_config& tls = {}) {
    lumen::detail::register_wire_types(cfg_);
    lumen::detail::configure_transport(cfg_);
    cfg_.set("scheduler.max-threads", std::size_t{2});
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    lumen::detail::start_transport(*sys_, tls);
  }

  ~raw_client() {
    lumen::detail::stop_transport(*sys_);
  }

  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  caf::actor_system& sys() {
    return *sys_;
  }

  /// The actor published at `address` if it offers `Handle`'s interface.
  template <class Handle>
  caf::expected<Handle> connect(const std::string& address) {
    auto host = address.substr(0, address.rfind(':'));
    auto found = lumen::detail::connect_actor(*sys_, host, port_of(address),
                                              sys_->message_types<Handle>(),
                                              std::chrono::seconds(15));
    if (!found)
      return std::move(found.error());
    return caf::actor_cast<Handle>(std::move(*found));
  }

 private:
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
};

} // namespace security_it

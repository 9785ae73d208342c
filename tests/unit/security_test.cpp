// Unit tests of the security pieces that need no cluster: the constant-time
// token comparison, token files, the listening rule, the security keys of
// `lumen start`, the environment, and the checks of TLS files (on
// certificates made by `lumen tls init`).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/start_options.hpp"
#include "lumen/error.hpp"
#include "net/listen.hpp"
#include "net/tls_files.hpp"
#include "net/token.hpp"
#include "node/node_security.hpp"

using Catch::Matchers::Contains;
using namespace lumen::detail;

namespace {

namespace fs = std::filesystem;

/// A fresh directory, removed at the end of the test.
struct temp_dir {
  temp_dir() {
    char tmpl[] = "/tmp/lumen-sec-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  {
    std::ofstream out{path};
    out << text;
  }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

/// Sets an environment variable for one scope.
struct scoped_env {
  scoped_env(const char* name, const char* value) : name_(name) {
    if (auto* old = std::getenv(name))
      old_ = old;
    if (value != nullptr)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~scoped_env() {
    if (old_.empty())
      ::unsetenv(name_);
    else
      ::setenv(name_, old_.c_str(), 1);
  }
  const char* name_;
  std::string old_;
};

#ifdef LUMEN_CLI_PATH
/// Runs `lumen tls init DIR` quietly; returns its exit status.
int tls_init(const std::string& dir, const std::string& extra = {}) {
  auto cmd = std::string{LUMEN_CLI_PATH} + " tls init " + dir + " " + extra +
             " >/dev/null 2>&1";
  return std::system(cmd.c_str());
}
#endif

} // namespace

TEST_CASE("security: tokens compare in constant time", "[security]") {
  CHECK(constant_time_equal("0123456789abcdef", "0123456789abcdef"));
  CHECK_FALSE(constant_time_equal("0123456789abcdef", "0123456789abcdeF"));
  CHECK_FALSE(constant_time_equal("0123456789abcdef", "0123456789abcde"));
  CHECK_FALSE(constant_time_equal("", "0123456789abcdef"));
  CHECK(constant_time_equal("", ""));
  // A different first byte and a different last byte both fail.
  CHECK_FALSE(constant_time_equal("x123456789abcdef", "0123456789abcdef"));
}

TEST_CASE("security: tokens must be long and printable", "[security]") {
  CHECK_NOTHROW(check_token("0123456789abcdef", "token"));
  CHECK_THROWS_WITH(check_token("short", "token"),
                    Contains("too short (5 characters; at least 16)"));
  CHECK_THROWS_WITH(check_token("0123456789 abcdef", "token"),
                    Contains("printable ASCII"));
  CHECK_THROWS_WITH(check_token(std::string(20, '\n'), "token"),
                    Contains("printable ASCII"));
  auto t = random_token();
  CHECK(t.size() == 64);
  CHECK(t != random_token());
  CHECK_NOTHROW(check_token(t, "token"));
}

TEST_CASE("security: a token file must be private", "[security]") {
  temp_dir dir;
  auto path = dir.path + "/token";
  write_file(path, "  0123456789abcdef0123\n\n", 0600);
  CHECK(read_token_file(path) == "0123456789abcdef0123");
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  CHECK_THROWS_WITH(read_token_file(path), Contains("chmod 600"));
  write_file(dir.path + "/short", "abc\n", 0600);
  CHECK_THROWS_WITH(read_token_file(dir.path + "/short"),
                    Contains("too short"));
  CHECK_THROWS_WITH(read_token_file(dir.path + "/missing"),
                    Contains("cannot read the token file"));
}

TEST_CASE("security: loopback hosts", "[security]") {
  for (auto host : {"127.0.0.1", "127.1.2.3", "::1", "localhost"}) {
    INFO(host);
    CHECK(is_loopback_host(host));
  }
  for (auto host :
       {"0.0.0.0", "::", "", "10.0.0.1", "192.168.1.7", "128.0.0.1",
        "example.com", "localhost.example.com", "::ffff:127.0.0.1"}) {
    INFO(host);
    CHECK_FALSE(is_loopback_host(host));
  }
}

TEST_CASE("security: only loopback may listen without TLS and a token",
          "[security]") {
  CHECK(listen_refusal("127.0.0.1", {}).empty());
  CHECK(listen_refusal("::1", {}).empty());
  auto why = listen_refusal("10.0.0.1", {});
  CHECK_THAT(why, Contains("refusing to listen on '10.0.0.1' without TLS "
                           "and a cluster token"));
  CHECK_THAT(why, Contains("lumen tls init"));
  CHECK_THAT(why, Contains("allow-insecure-network"));
  CHECK_THAT(listen_refusal("0.0.0.0", {true, false, false}),
             Contains("without a cluster token"));
  CHECK_THAT(listen_refusal("0.0.0.0", {false, true, false}),
             Contains("without TLS:"));
  CHECK(listen_refusal("0.0.0.0", {true, true, false}).empty());
  CHECK(listen_refusal("0.0.0.0", {false, false, true}).empty());
}

TEST_CASE("security: lumen start takes the security keys", "[security]") {
  using namespace lumen::cli;
  auto parse = [](const std::string& text) {
    return make_start_options(
      merge(parse_ini(text, "t.ini", start_option_specs()), {},
            start_option_groups()));
  };
  auto o = parse("head = true\n"
                 "tls-certificate = pki/node1.pem\n"
                 "tls-key = /etc/pki/node1.key\n"
                 "tls-ca = /etc/pki/ca.pem\n"
                 "token-file = /etc/pki/token\n"
                 "allow-insecure-network = true\n");
  CHECK(o.node.base.tls.certificate ==
        (fs::current_path() / "pki/node1.pem").string());
  CHECK(o.node.base.tls.key == "/etc/pki/node1.key");
  CHECK(o.node.base.tls.ca == "/etc/pki/ca.pem");
  CHECK(o.node.token_file == "/etc/pki/token");
  CHECK(o.node.base.token.empty());
  CHECK(o.node.allow_insecure_network);
  CHECK_THROWS_WITH(parse("head = true\ntoken = 0123456789abcdef\n"
                          "token-file = /x\n"),
                    "token (t.ini:2) and token-file (t.ini:3) exclude each "
                    "other: give the cluster token once");
  // A token on the command line replaces the file's token-file.
  settings cl;
  add_setting(cl, *find_option(start_option_specs(), "token"),
              setting{"0123456789abcdef", {}, 0});
  auto merged = make_start_options(merge(
    parse_ini("head = true\ntoken-file = /x\n", "t.ini", start_option_specs()),
    cl, start_option_groups()));
  CHECK(merged.node.base.token == "0123456789abcdef");
  CHECK(merged.node.token_file.empty());
}

TEST_CASE("security: the environment completes a node's settings",
          "[security]") {
  temp_dir dir;
  scoped_env cert{"LUMEN_TLS_CERTIFICATE", "/e/cert.pem"};
  scoped_env key{"LUMEN_TLS_KEY", "/e/key.pem"};
  scoped_env ca{"LUMEN_TLS_CA", "/e/ca.pem"};
  scoped_env token{"LUMEN_TOKEN", "from-the-environment"};
  scoped_env insecure{"LUMEN_ALLOW_INSECURE_NETWORK", "1"};
  node_config a;
  resolve_security(a);
  CHECK(a.base.tls.certificate == "/e/cert.pem");
  CHECK(a.base.tls.ca == "/e/ca.pem");
  CHECK(a.base.token == "from-the-environment");
  CHECK(a.allow_insecure_network);
  // The config wins: its TLS files and its token file.
  node_config b;
  b.base.tls.certificate = "/c/cert.pem";
  b.token_file = dir.path + "/token";
  write_file(b.token_file, "from-the-token-file\n", 0600);
  resolve_security(b);
  CHECK(b.base.tls.certificate == "/c/cert.pem");
  CHECK(b.base.tls.key.empty());
  CHECK(b.base.token == "from-the-token-file");
  node_config c;
  c.base.token = "0123456789abcdef";
  c.token_file = b.token_file;
  CHECK_THROWS_WITH(resolve_security(c), Contains("not both"));
}

TEST_CASE("security: a node checks its settings before it listens",
          "[security]") {
  node_config c;
  c.host = "10.1.2.3";
  CHECK_THROWS_WITH(check_security(c), Contains("refusing to listen"));
  c.allow_insecure_network = true;
  CHECK_NOTHROW(check_security(c));
  c.base.token = "short";
  CHECK_THROWS_WITH(check_security(c), Contains("too short"));
  node_config d;
  d.base.tls.certificate = "/nonexistent/cert.pem";
  CHECK_THROWS_WITH(check_security(d), Contains("missing: tls-key, tls-ca"));
}

#ifdef LUMEN_CLI_PATH
TEST_CASE("security: TLS files are checked before use", "[security]") {
  temp_dir dir;
  auto pki = dir.path + "/pki";
  auto other = dir.path + "/other";
  REQUIRE(tls_init(pki, "--nodes 2") == 0);
  REQUIRE(tls_init(other, "--nodes 1") == 0);
  for (auto name : {"ca.pem", "ca.key", "node1.pem", "node1.key", "node2.pem",
                    "node2.key", "token"})
    CHECK(fs::exists(pki + "/" + name));
  CHECK((fs::status(pki + "/node1.key").permissions() &
         (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
  CHECK_NOTHROW(read_token_file(pki + "/token"));
  auto good =
    lumen::tls_config{pki + "/node1.pem", pki + "/node1.key", pki + "/ca.pem"};
  CHECK_NOTHROW(check_tls_files(good));
  auto t = good;
  t.key = pki + "/node2.key";
  CHECK_THROWS_WITH(check_tls_files(t),
                    Contains("does not belong to the certificate"));
  t = good;
  t.ca = other + "/ca.pem";
  CHECK_THROWS_WITH(check_tls_files(t),
                    Contains("does not verify against the CA file"));
  t = good;
  t.certificate = other + "/node1.pem";
  t.key = other + "/node1.key";
  CHECK_THROWS_WITH(check_tls_files(t), Contains("unable to get local issuer"));
  t = good;
  t.ca = pki + "/token";
  CHECK_THROWS_WITH(check_tls_files(t), Contains("holds no PEM certificate"));
  t = good;
  t.key = {};
  CHECK_THROWS_WITH(check_tls_files(t), Contains("missing: tls-key"));
  REQUIRE(::chmod(good.key.c_str(), 0644) == 0);
  CHECK_THROWS_WITH(check_tls_files(good), Contains("chmod 600"));
  // A second init into a directory with a CA refuses to overwrite it.
  CHECK(tls_init(pki) != 0);
  CHECK(tls_init(dir.path + "/zero", "--nodes 0") != 0);
}
#endif

#ifdef LUMEN_SOURCE_DIR
TEST_CASE("security: the TLS configs set every security key", "[security]") {
  using namespace lumen::cli;
  for (auto name : {"head.ini", "worker.ini"}) {
    auto path = std::string{LUMEN_SOURCE_DIR} + "/configs/tls/" + name;
    INFO(path);
    auto o = make_start_options(read_ini_file(path, start_option_specs()));
    CHECK(o.node.head == (std::string{name} == "head.ini"));
    CHECK_FALSE(lumen::detail::is_loopback_host(o.node.host));
    CHECK_FALSE(o.node.base.tls.certificate.empty());
    CHECK_FALSE(o.node.base.tls.key.empty());
    CHECK(o.node.base.tls.ca == "/etc/lumen/tls/ca.pem");
    CHECK(o.node.token_file == "/etc/lumen/tls/token");
    CHECK_FALSE(o.node.allow_insecure_network);
  }
}
#endif

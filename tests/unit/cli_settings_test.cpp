// Unit tests of `lumen start`'s options: the INI reader (every error names
// the key and line), the precedence of the command line over a config file,
// and the node_config the checked options make.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <unistd.h>

#include "cli/start_options.hpp"

using namespace lumen::cli;
using Catch::Matchers::Contains;

namespace {

settings ini(const std::string& text) {
  return parse_ini(text, "test.ini", start_option_specs());
}

/// A command-line setting, as the Boost glue makes it.
settings
cmdline(std::initializer_list<std::pair<const char*, const char*>> kv) {
  settings out;
  for (auto& [key, value] : kv)
    add_setting(out, *find_option(start_option_specs(), key),
                setting{value, {}, 0});
  return out;
}

start_options make(const settings& file, const settings& cl = {}) {
  return make_start_options(merge(file, cl, start_option_groups()));
}

} // namespace

TEST_CASE("cli: INI files give every start option", "[cli]") {
  auto s = ini("# a comment\n"
               "; another\n"
               "\n"
               "head = true\n"
               "port = 0   # inline comment\n"
               "host=0.0.0.0\n"
               "num-cpus = 2.5\n"
               "resources = {\"ssd\": 1, \"acc\": 0.5}\n"
               "object-store-memory = 2Gi\n"
               "load = liba.so\n"
               "load = \"libb.so\"\n"
               "block = yes\n"
               "runtime-dir = /tmp/lumen-x/../lumen-y\r\n");
  CHECK(s["head"].front().line == 4);
  CHECK(s["load"].size() == 2);
  CHECK(s["load"][1].line == 11);
  auto o = make(s);
  CHECK(o.node.head);
  CHECK(std::string{o.role()} == "head");
  CHECK(o.node.port == 0);
  CHECK(o.node.host == "0.0.0.0");
  CHECK(o.node.base.num_cpus == 2.5);
  CHECK(o.node.base.resources.at("ssd") == 1);
  CHECK(o.node.base.resources.at("acc") == 0.5);
  CHECK(o.node.base.object_store_memory == 2ull << 30);
  CHECK(o.node.load == std::vector<std::string>{"liba.so", "libb.so"});
  CHECK(o.block);
  CHECK(o.node.runtime_dir == "/tmp/lumen-y");
}

TEST_CASE("cli: defaults of start", "[cli]") {
  auto head = make(ini("head = true"));
  CHECK(head.node.port == lumen::detail::default_cluster_port);
  CHECK(head.node.host == "127.0.0.1");
  CHECK_FALSE(head.node.base.num_cpus);
  CHECK(head.node.base.resources.empty());
  CHECK(head.node.base.object_store_memory == 0);
  CHECK(head.node.load.empty());
  CHECK_FALSE(head.block);
  CHECK(head.node.runtime_dir.empty());
  auto worker = make(ini("address = 10.0.0.1:6390"));
  CHECK_FALSE(worker.node.head);
  CHECK(std::string{worker.role()} == "worker");
  CHECK(worker.node.base.address == "10.0.0.1:6390");
  CHECK(worker.node.port == 0); // a joining node picks a free port
  CHECK(make(ini("head = false\naddress = h:1")).node.base.address == "h:1");
}

TEST_CASE("cli: INI syntax errors name the line", "[cli]") {
  auto fails = [](const std::string& text, const std::string& what) {
    INFO(text);
    CHECK_THROWS_AS(ini(text), usage_error);
    CHECK_THROWS_WITH(ini(text), what);
  };
  fails("head = true\nnum-cpus 2",
        "test.ini:2: expected 'key = value', got 'num-cpus 2'");
  fails("\n = 2", "test.ini:2: missing key before '='");
  fails("num-cpus =", "test.ini:1: num-cpus: missing value");
  fails("num-cpus = # nothing", "test.ini:1: num-cpus: missing value");
  fails("[tls", "test.ini:1: section header '[tls' lacks its closing ']'");
  fails("[]", "test.ini:1: bad section name ''");
  fails("# x\nnum_cpus = 2",
        "test.ini:2: unknown key 'num_cpus'; did you mean 'num-cpus'?");
  fails("cpus = 2", "test.ini:1: unknown key 'cpus' (known keys: head, "
                    "address, port, host, num-cpus, resources, "
                    "object-store-memory, lineage, "
                    "object-spilling-threshold, spill-directory, "
                    "spill-capacity, max-message-size, max-object-size, "
                    "handshake-timeout, idle-timeout, frame-memory, "
                    "object-transfer, gcs-dir, failure-phi, "
                    "failure-grace-ms, load, block, "
                    "runtime-dir, log-level, log-file, tls-certificate, "
                    "tls-key, tls-ca, token, "
                    "token-file, allow-insecure-network)");
  fails("[tls]\ncert = a.pem",
        "test.ini:2: unknown key 'tls.cert' (known "
        "keys: head, address, port, host, num-cpus, "
        "resources, object-store-memory, "
        "lineage, object-spilling-threshold, "
        "spill-directory, spill-capacity, "
        "max-message-size, max-object-size, "
        "handshake-timeout, idle-timeout, "
        "frame-memory, object-transfer, gcs-dir, failure-phi, "
        "failure-grace-ms, load, block, "
        "runtime-dir, log-level, log-file, "
        "tls-certificate, tls-key, "
        "tls-ca, token, token-file, "
        "allow-insecure-network)");
  fails("config = other.ini",
        "test.ini:1: config: cannot be set in a config file");
  fails("help = true", "test.ini:1: help: cannot be set in a config file");
  fails("port = 1\n\nport = 2",
        "test.ini:3: port: given twice (first at line 1)");
}

TEST_CASE("cli: bad values in an INI file name key and line", "[cli]") {
  auto fails = [](const std::string& text, const std::string& what) {
    INFO(text);
    CHECK_THROWS_AS(make(ini(text)), usage_error);
    CHECK_THROWS_WITH(make(ini(text)), what);
  };
  fails("head = true\nnum-cpus = two",
        "test.ini:2: num-cpus: expected a non-negative number, got 'two'");
  fails("head = true\nnum-cpus = -1",
        "test.ini:2: num-cpus: expected a non-negative number, got '-1'");
  fails("head = sure", "test.ini:1: head: expected true or false, got 'sure'");
  fails("head = 1\nblock = 2",
        "test.ini:2: block: expected true or false, got '2'");
  fails("head = 1\nport = 70000",
        "test.ini:2: port: expected an integer from 0 to 65535, got '70000'");
  fails("head = 1\nhost = a b", "test.ini:2: host: expected a host name or "
                                "IP address, got 'a b'");
  fails("address = nowhere",
        "test.ini:1: address: expected HOST:PORT, got 'nowhere'");
  fails("head = 1\n\nobject-store-memory = 2Q",
        "test.ini:3: object-store-memory: unknown size suffix (use K, M, G, "
        "T, Ki, Mi, Gi or Ti), got '2Q'");
  fails("head = 1\nport = -2",
        "test.ini:2: port: expected an integer from 0 to 65535, got '-2'");
  fails("head = 1\nresources = {\"ssd\": -1}",
        "test.ini:2: resources: negative amount -1 for \"ssd\" at position 9 "
        "of '{\"ssd\": -1}'");
  fails("head = 1\nload = /nonexistent/libx.so",
        "test.ini:2: load: no such file: '/nonexistent/libx.so'");
  fails("head = 1\naddress = h:1",
        "head (test.ini:1) and address (test.ini:2) exclude each other: a "
        "head node starts a cluster, --address joins one");
  fails("num-cpus = 1", "give --head to start a head node or --address "
                        "HOST:PORT to join a cluster (on the command line "
                        "or in the config file)");
  fails("head = false", "give --head to start a head node or --address "
                        "HOST:PORT to join a cluster (on the command line "
                        "or in the config file)");
}

TEST_CASE("cli: bad values on the command line name the option", "[cli]") {
  CHECK_THROWS_WITH(make({}, cmdline({{"head", "true"}, {"num-cpus", "x"}})),
                    "command line: --num-cpus: expected a non-negative "
                    "number, got 'x'");
  CHECK_THROWS_WITH(
    make({}, cmdline({{"head", "true"}, {"resources", "{\"a\": 1,}"}})),
    Contains("command line: --resources: expected a resource "
             "name in double quotes at position 9"));
  CHECK_THROWS_WITH(make({}, cmdline({{"head", "true"}, {"address", "h:1"}})),
                    "--head (command line) and --address (command line) "
                    "exclude each other: a head node starts a cluster, "
                    "--address joins one");
  CHECK_THROWS_WITH(cmdline({{"port", "1"}, {"port", "2"}}),
                    "command line: --port: given twice");
  CHECK(cmdline({{"load", "a.so"}, {"load", "b.so"}})["load"].size() == 2);
}

TEST_CASE("cli: the command line wins over the config file", "[cli]") {
  auto file = ini("head = true\nport = 7000\nnum-cpus = 2\n"
                  "resources = {\"ssd\": 1}\nload = a.so\nload = b.so\n");
  auto o = make(file, cmdline({{"num-cpus", "4"}, {"load", "c.so"}}));
  CHECK(o.node.head);
  CHECK(o.node.port == 7000);
  CHECK(o.node.base.num_cpus == 4);
  CHECK(o.node.base.resources.at("ssd") == 1);
  // A list key given on the command line replaces the file's list.
  CHECK(o.node.load == std::vector<std::string>{"c.so"});
  // --address on the command line overrides `head = true` in the file.
  auto w = make(file, cmdline({{"address", "127.0.0.1:6390"}}));
  CHECK_FALSE(w.node.head);
  CHECK(w.node.base.address == "127.0.0.1:6390");
  CHECK(w.node.port == 7000); // the file's port still applies
  // ... and --head overrides `address = ...`.
  auto h =
    make(ini("address = h:1\nnum-cpus = 1"), cmdline({{"head", "true"}}));
  CHECK(h.node.head);
  CHECK(h.node.base.address.empty());
  CHECK(h.node.base.num_cpus == 1);
  // An error in a value the command line replaces is not reported.
  CHECK_NOTHROW(
    make(ini("head = 1\nnum-cpus = x"), cmdline({{"num-cpus", "1"}})));
}

TEST_CASE("cli: config files are read from disk", "[cli]") {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() /
             ("lumen-cli-settings-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto path = (dir / "node.ini").string();
  std::ofstream{path} << "\xEF\xBB\xBFhead = true\nload = " << path << "\n"
                      << "num-cpus = zero\n";
  auto s = read_ini_file(path, start_option_specs());
  CHECK(s["head"].front().line == 1);
  CHECK_THROWS_WITH(make(s), path +
                               ":3: num-cpus: expected a non-negative number, "
                               "got 'zero'");
  s.erase("num-cpus");
  CHECK(make(s).node.load == std::vector<std::string>{path});
  CHECK_THROWS_WITH(
    read_ini_file((dir / "missing.ini").string(), start_option_specs()),
    Contains("cannot read config file '") &&
      Contains("missing.ini': No such file"));
  fs::remove_all(dir);
}

#ifdef LUMEN_SOURCE_DIR
TEST_CASE("cli: the shipped configs parse and show every key", "[cli]") {
  for (auto name : {"local.ini", "head.ini", "worker.ini"}) {
    auto path = std::string{LUMEN_SOURCE_DIR} + "/configs/" + name;
    INFO(path);
    auto s = read_ini_file(path, start_option_specs());
    auto o = make(s);
    CHECK(o.node.head == (std::string{name} != "worker.ini"));
    std::ifstream in{path};
    std::string text{std::istreambuf_iterator<char>{in}, {}};
    for (auto& spec : start_option_specs()) {
      if (!spec.in_file)
        continue;
      auto key = std::string{spec.name};
      INFO(key);
      CHECK((text.find("\n" + key + " = ") != std::string::npos ||
             text.find("\n# " + key + " = ") != std::string::npos));
    }
    // Each commented-out example is a valid value of its key.
    std::istringstream lines{text};
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("# ", 0) != 0 || line.find(" = ") == std::string::npos)
        continue;
      auto entry = ini(line.substr(2));
      auto key = entry.begin()->first;
      INFO(line);
      if (key == "load")
        continue; // example paths need not exist here
      if (key != "head" && key != "address")
        entry["head"].push_back(setting{"true", "test.ini", 0});
      if (key == "head" && entry["head"].front().value == "false")
        entry["address"].push_back(setting{"h:1", "test.ini", 0});
      CHECK_NOTHROW(make(entry));
    }
  }
}
#endif

TEST_CASE("cli: the failure detector's keys", "[cli]") {
  auto defaults = make(ini("head = true"));
  CHECK(defaults.node.failure.phi_threshold == 8);
  CHECK(defaults.node.failure.grace == std::chrono::milliseconds{3000});
  auto o =
    make(ini("head = true\nfailure-phi = 12.5\nfailure-grace-ms = 1500"));
  CHECK(o.node.failure.phi_threshold == 12.5);
  CHECK(o.node.failure.grace == std::chrono::milliseconds{1500});
  CHECK_THROWS_WITH(make(ini("head = true\nfailure-grace-ms = 50")),
                    Contains("expected milliseconds from 100 to 86400000"));
  CHECK_THROWS_WITH(make(ini("head = true\nfailure-phi = 0")),
                    Contains("expected a number above 0"));
  CHECK_THROWS_AS(make(ini("head = true\nfailure-grace-ms = soon")),
                  usage_error);
}

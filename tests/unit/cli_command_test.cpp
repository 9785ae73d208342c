// Tests of the `lumen` executable's command-line handling that need no
// running node: --help everywhere, usage errors naming the option or the
// config file's key and line, and `lumen stop` / `lumen status` with nothing
// to stop or ask. Runs only when the build defines LUMEN_CLI_PATH.
#include <catch2/catch.hpp>

#ifdef LUMEN_CLI_PATH

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

struct run_result {
  int status = -1;
  std::string output; // stdout and stderr
};

/// Runs `lumen <args...>` through the shell, capturing its output.
run_result lumen(const std::vector<std::string>& args) {
  std::string cmd = "'" LUMEN_CLI_PATH "'";
  for (auto& arg : args) {
    cmd += " '";
    for (char c : arg)
      cmd += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
    cmd += "'";
  }
  cmd += " 2>&1";
  run_result out;
  auto* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0;)
    out.output.append(buf, n);
  int status = ::pclose(pipe);
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

fs::path temp_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() /
             ("lumen-cli-cmd-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

} // namespace

TEST_CASE("cli: lumen --help lists the subcommands", "[cli]") {
  for (auto args : {std::vector<std::string>{"--help"}, {"help"}}) {
    auto r = lumen(args);
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK_THAT(r.output,
               Contains("start") && Contains("status") && Contains("stop"));
  }
  auto none = lumen({});
  CHECK(none.status == 2);
  auto bad = lumen({"launch"});
  CHECK(bad.status == 2);
  CHECK_THAT(bad.output, Contains("unknown command 'launch'"));
}

TEST_CASE("cli: every subcommand has --help", "[cli]") {
  for (auto cmd : {"start", "status", "stop"}) {
    auto r = lumen({cmd, "--help"});
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Contains(std::string{"Usage: lumen "} + cmd) &&
                           Contains("--help"));
    CHECK(lumen({"help", cmd}).output == r.output);
  }
  auto start = lumen({"start", "--help"}).output;
  for (auto opt : {"--head", "--address", "--port", "--host", "--config",
                   "--num-cpus", "--resources", "--object-store-memory",
                   "--load", "--block", "--runtime-dir"})
    CHECK_THAT(start, Contains(opt));
}

TEST_CASE("cli: lumen start reports usage errors with their place", "[cli]") {
  auto dir = temp_dir("start");
  auto rt = (dir / "rt").string();
  auto fails = [&](std::vector<std::string> args, const std::string& what) {
    args.insert(args.begin(), {"start", "--runtime-dir", rt});
    auto r = lumen(args);
    INFO(r.output);
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains(what));
  };
  fails({}, "give --head to start a head node or --address HOST:PORT");
  fails({"--head", "--address", "h:1"}, "exclude each other");
  fails({"--head", "--bogus"}, "command line: unrecognised option '--bogus'");
  fails({"--head", "--num"}, "unrecognised option '--num'");
  fails({"--head", "stray"}, "command line: unexpected argument 'stray'");
  fails({"--head", "--port"}, "'--port' is missing");
  fails({"--head", "--port", "--num-cpus", "2"},
        "command line: --port: missing value (got the option '--num-cpus')");
  fails({"--head", "--port", "1", "--port", "2"},
        "command line: --port: given twice");
  fails({"--head=yes"}, "'--head' does not take any arguments");
  fails({"--head", "--num-cpus", "lots"},
        "command line: --num-cpus: expected a non-negative number");
  fails({"--head", "--resources", "{\"a\": x}"},
        "command line: --resources: expected a number for \"a\" at "
        "position 7");
  fails({"--head", "--object-store-memory", "1Zi"},
        "command line: --object-store-memory: unknown size suffix");
  fails({"--head", "--load", "/nonexistent/lib.so"},
        "command line: --load: no such file");
  auto ini = (dir / "bad.ini").string();
  std::ofstream{ini} << "head = true\n# fine\nnum-cpus = 2\nnum_cpus = 3\n";
  fails({"--config", ini}, ini + ":4: unknown key 'num_cpus'");
  std::ofstream{ini} << "head = true\n\nresources = {\"ssd\" 1}\n";
  fails({"--config", ini},
        ini + ":3: resources: expected ':' after \"ssd\" at position 8");
  std::ofstream{ini} << "head = true\nport: 7\n";
  fails({"--config", ini}, ini + ":2: expected 'key = value'");
  // The command line replaces the file's bad value, so only the
  // command line's own error remains.
  std::ofstream{ini} << "head = true\nnum-cpus = x\n";
  fails({"--config", ini, "--num-cpus", "1", "--port", "x"},
        "command line: --port: expected an integer");
  fails({"--config", (dir / "missing.ini").string(), "--head"},
        "cannot read config file");
  fs::remove_all(dir);
}

TEST_CASE("cli: lumen stop and status with no nodes", "[cli]") {
  auto dir = temp_dir("idle");
  auto rt = (dir / "rt").string();
  auto stop = lumen({"stop", "--runtime-dir", rt, "--timeout", "1"});
  INFO(stop.output);
  CHECK(stop.status == 0);
  CHECK_THAT(stop.output, Contains("no running nodes"));
  CHECK(lumen({"stop", "--timeout", "soon"}).status == 2);
  ::unsetenv("LUMEN_ADDRESS");
  auto status = lumen({"status", "--runtime-dir", rt});
  INFO(status.output);
  CHECK(status.status == 1);
  CHECK_THAT(status.output, Contains("no head node to ask"));
  CHECK(lumen({"status", "--address", "nowhere"}).status == 2);
  auto address = "127.0.0.1:" + std::to_string(closed_port());
  auto silent = lumen({"status", "--address", address, "--timeout", "2"});
  INFO(silent.output);
  CHECK(silent.status == 1);
  CHECK_THAT(silent.output, Contains(address));
  fs::remove_all(dir);
}

#endif // LUMEN_CLI_PATH

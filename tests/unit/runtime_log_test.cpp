// The process's logger (log/log.hpp): levels, the log file, stderr, and
// where a node's or a driver's options come from.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>

#include <fcntl.h>

#include "cli/start_options.hpp"
#include "log/log.hpp"
#include "lumen/error.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using lumen::log_level;
using lumen::detail::configure_log;
using lumen::detail::log_options;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, {}};
}

/// A fresh directory, removed at the end; the logger's options are put
/// back as they were.
struct log_fixture {
  log_fixture() {
    char tmpl[] = "/tmp/lumen-log-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
  }
  ~log_fixture() {
    configure_log(saved);
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  log_options saved = lumen::detail::current_log_options();
  fs::path dir;
};

/// Sends this process's stderr (fd 2) to a file while it lives.
struct stderr_capture {
  explicit stderr_capture(const fs::path& to) : path(to) {
    std::fflush(stderr);
    saved = ::dup(STDERR_FILENO);
    int fd = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
  }
  ~stderr_capture() {
    restore();
  }
  void restore() {
    if (saved < 0)
      return;
    std::fflush(stderr);
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    saved = -1;
  }
  std::string text() {
    std::fflush(stderr);
    return read_file(path);
  }
  fs::path path;
  int saved = -1;
};

/// Sets environment variable `name` while it lives (unset if `value` is
/// null), then restores it.
struct scoped_env {
  scoped_env(const char* name, const char* value) : name(name) {
    if (auto* old = std::getenv(name)) {
      had = true;
      before = old;
    }
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~scoped_env() {
    if (had)
      ::setenv(name, before.c_str(), 1);
    else
      ::unsetenv(name);
  }
  const char* name;
  bool had = false;
  std::string before;
};

} // namespace

TEST_CASE("log: the level decides which lines reach the file", "[log]") {
  log_fixture fx;
  auto file = fx.dir / "a" / "node.log"; // the directory is made
  configure_log({log_level::debug, file.string()});
  CHECK_FALSE(lumen::detail::log_enabled(log_level::trace));
  CHECK(lumen::detail::log_enabled(log_level::debug));
  CHECK_FALSE(lumen::detail::log_enabled(log_level::off));
  lumen::detail::log_trace("trace line ", 1);
  lumen::detail::log_debug("debug line ", 2);
  lumen::detail::log_info("info line ", 3.5);
  lumen::detail::log_warn("warn line ", std::string{"x"});
  lumen::detail::log_error("error line");
  auto text = read_file(file);
  CHECK_THAT(text, !Contains("trace line"));
  CHECK_THAT(text, Contains("debug   lumen: debug line 2\n"));
  CHECK_THAT(text, Contains("info    lumen: info line 3.5\n"));
  CHECK_THAT(text, Contains("warning lumen: warn line x\n"));
  CHECK_THAT(text, Contains("error   lumen: error line\n"));

  SECTION("a stricter level writes less") {
    configure_log({log_level::error, file.string()});
    lumen::detail::log_warn("second warn");
    lumen::detail::log_error("second error");
    auto more = read_file(file);
    CHECK_THAT(more, Contains(text)); // appended, not truncated
    CHECK_THAT(more, !Contains("second warn"));
    CHECK_THAT(more, Contains("second error"));
  }
  SECTION("off writes nothing") {
    configure_log({log_level::off, file.string()});
    CHECK_FALSE(lumen::detail::log_enabled(log_level::error));
    lumen::detail::log_error("not written");
    CHECK(read_file(file) == text);
  }
}

TEST_CASE("log: with a file, stderr gets warnings and errors only", "[log]") {
  log_fixture fx;
  auto file = fx.dir / "driver.log";
  stderr_capture err{fx.dir / "stderr.txt"};
  configure_log({log_level::info, file.string()});
  lumen::detail::log_info("an info line");
  lumen::detail::log_warn("a warning line");
  auto on_stderr = err.text();
  err.restore();
  CHECK(on_stderr == "lumen: warning: a warning line\n");
  auto in_file = read_file(file);
  CHECK_THAT(in_file, Contains("an info line"));
  CHECK_THAT(in_file, Contains("a warning line"));
}

TEST_CASE("log: without a file, stderr gets every line of the level", "[log]") {
  log_fixture fx;
  stderr_capture err{fx.dir / "stderr.txt"};
  configure_log({log_level::info, {}});
  lumen::detail::log_debug("a debug line");
  lumen::detail::log_info("an info line");
  auto on_stderr = err.text();
  err.restore();
  CHECK(on_stderr == "lumen: info: an info line\n");
}

TEST_CASE("log: a file that is stderr itself gets each line once", "[log]") {
  // As for a node that `lumen start` put in the background.
  log_fixture fx;
  auto file = fx.dir / "worker-1.log";
  stderr_capture err{file};
  configure_log({log_level::info, file.string()});
  lumen::detail::log_warn("only once");
  auto text = err.text();
  err.restore();
  auto first = text.find("only once");
  REQUIRE(first != std::string::npos);
  CHECK(text.find("only once", first + 1) == std::string::npos);
  CHECK_THAT(text, Contains("warning lumen: only once"));
}

TEST_CASE("log: a file that cannot be opened is an error", "[log]") {
  log_fixture fx;
  auto blocker = fx.dir / "not-a-dir";
  std::ofstream{blocker} << "x";
  CHECK_THROWS_AS(
    configure_log({log_level::info, (blocker / "x.log").string()}),
    lumen::error);
}

TEST_CASE("log: level names", "[log]") {
  using lumen::detail::log_level_name;
  using lumen::detail::parse_log_level;
  for (auto level : {log_level::trace, log_level::debug, log_level::info,
                     log_level::warn, log_level::error, log_level::off})
    CHECK(parse_log_level(log_level_name(level)) == level);
  CHECK(parse_log_level("warning") == log_level::warn);
  CHECK_FALSE(parse_log_level("loud"));
  CHECK_FALSE(parse_log_level("INFO"));
}

TEST_CASE("log: options come from the config, then the environment, then "
          "the role's default",
          "[log]") {
  using lumen::detail::log_options_of;
  scoped_env level{"LUMEN_LOG_LEVEL", nullptr};
  scoped_env file{"LUMEN_LOG_FILE", nullptr};
  lumen::config cfg;
  CHECK(log_options_of(cfg, true).level == lumen::default_driver_log_level);
  CHECK(log_options_of(cfg, false).level == lumen::default_node_log_level);
  CHECK(log_options_of(cfg, true).file.empty());
  {
    scoped_env l{"LUMEN_LOG_LEVEL", "debug"};
    scoped_env f{"LUMEN_LOG_FILE", "/tmp/from-env.log"};
    CHECK(log_options_of(cfg, true).level == log_level::debug);
    CHECK(log_options_of(cfg, true).file == "/tmp/from-env.log");
    cfg.log_level = log_level::error;
    cfg.log_file = "/tmp/from-config.log";
    CHECK(log_options_of(cfg, true).level == log_level::error);
    CHECK(log_options_of(cfg, true).file == "/tmp/from-config.log");
  }
  {
    scoped_env l{"LUMEN_LOG_LEVEL", "chatty"};
    lumen::config plain;
    CHECK_THROWS_WITH(log_options_of(plain, true),
                      Contains("LUMEN_LOG_LEVEL") && Contains("chatty"));
  }
}

TEST_CASE("log: lumen start takes --log-level and --log-file", "[log][cli]") {
  using namespace lumen::cli;
  settings in;
  in["head"].push_back(setting{"true", {}, 0});
  in["log-level"].push_back(setting{"debug", {}, 0});
  in["log-file"].push_back(setting{"rel/node.log", {}, 0});
  auto opts = make_start_options(in);
  CHECK(opts.node.base.log_level == log_level::debug);
  CHECK(opts.node.base.log_file ==
        (fs::current_path() / "rel/node.log").lexically_normal().string());
  in["log-level"] = {setting{"loud", "head.ini", 7}};
  CHECK_THROWS_WITH(make_start_options(in),
                    Contains("head.ini:7: log-level: expected trace, debug, "
                             "info, warn, error or off, got 'loud'"));
}

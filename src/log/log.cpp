// The process's logger on spdlog: a file sink and a stderr sink, each with
// its own level, behind the small API of log.hpp.
#include "log/log.hpp"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "lumen/error.hpp"

namespace lumen::detail {

namespace {

/// A line in a file: when, how severe, what. "lumen: " keeps lines
/// recognisable where several programs share a file.
constexpr const char* file_pattern = "%Y-%m-%d %H:%M:%S.%e %-7l lumen: %v";

/// A line on stderr, read by a person next to the program's own output.
constexpr const char* stderr_pattern = "lumen: %l: %v";

spdlog::level::level_enum to_spdlog(log_level level) noexcept {
  switch (level) {
  case log_level::trace:
    return spdlog::level::trace;
  case log_level::debug:
    return spdlog::level::debug;
  case log_level::info:
    return spdlog::level::info;
  case log_level::warn:
    return spdlog::level::warn;
  case log_level::error:
    return spdlog::level::err;
  case log_level::off:
    break;
  }
  return spdlog::level::off;
}

/// The logger of the process and what it was made from. Never destroyed,
/// so that lines logged while statics are destroyed still go out.
struct log_state {
  std::mutex mtx;
  std::shared_ptr<spdlog::logger> logger;
  log_options options;
  /// Least severe level any sink writes (as an int of log_level).
  std::atomic<int> threshold{static_cast<int>(log_level::off)};
};

/// Whether stderr is the file at `path` (a node in the background, whose
/// stderr `lumen start` sent to its log).
bool stderr_is(const std::string& path) {
  struct stat err {};
  struct stat file {};
  return ::fstat(STDERR_FILENO, &err) == 0 &&
         ::stat(path.c_str(), &file) == 0 && err.st_dev == file.st_dev &&
         err.st_ino == file.st_ino;
}

/// A logger for `opts`, and the least severe level it writes.
std::pair<std::shared_ptr<spdlog::logger>, log_level>
make_logger(const log_options& opts) {
  std::vector<spdlog::sink_ptr> sinks;
  auto least = log_level::off;
  if (opts.level == log_level::off)
    return {std::make_shared<spdlog::logger>("lumen"), least};
  bool stderr_too = true;
  auto stderr_level = opts.level;
  if (!opts.file.empty()) {
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(opts.file);
    file->set_pattern(file_pattern);
    file->set_level(to_spdlog(opts.level));
    sinks.push_back(std::move(file));
    least = opts.level;
    stderr_too = !stderr_is(opts.file);
    if (stderr_level < log_level::warn)
      stderr_level = log_level::warn;
  }
  if (stderr_too) {
    auto err = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    err->set_pattern(stderr_pattern);
    err->set_level(to_spdlog(stderr_level));
    sinks.push_back(std::move(err));
    if (stderr_level < least)
      least = stderr_level;
  }
  auto logger =
    std::make_shared<spdlog::logger>("lumen", sinks.begin(), sinks.end());
  logger->set_level(to_spdlog(least));
  // Lines are few; each one reaches the file at once, so a node's log is
  // complete when it is killed and a test can read it.
  logger->flush_on(spdlog::level::trace);
  return {std::move(logger), least};
}

log_state& state() {
  static auto* s = [] {
    auto* result = new log_state;
    auto [logger, least] = make_logger(result->options);
    result->logger = std::move(logger);
    result->threshold = static_cast<int>(least);
    return result;
  }();
  return *s;
}

} // namespace

log_options log_options_of(const config& cfg, bool driver) {
  log_options out;
  if (cfg.log_level) {
    out.level = *cfg.log_level;
  } else if (auto* env = std::getenv("LUMEN_LOG_LEVEL");
             env != nullptr && *env) {
    auto level = parse_log_level(env);
    if (!level)
      throw error(std::string{"LUMEN_LOG_LEVEL: expected trace, debug, info, "
                              "warn, error or off, got '"} +
                  env + "'");
    out.level = *level;
  } else {
    out.level = driver ? default_driver_log_level : default_node_log_level;
  }
  if (!cfg.log_file.empty())
    out.file = cfg.log_file;
  else if (auto* env = std::getenv("LUMEN_LOG_FILE"); env != nullptr && *env)
    out.file = env;
  return out;
}

void configure_log(const log_options& opts) {
  std::pair<std::shared_ptr<spdlog::logger>, log_level> made;
  try {
    made = make_logger(opts);
  } catch (const std::exception& e) {
    throw error("cannot open the log file '" + opts.file + "': " + e.what());
  }
  auto& s = state();
  std::lock_guard guard{s.mtx};
  s.logger = std::move(made.first);
  s.options = opts;
  s.threshold = static_cast<int>(made.second);
}

log_options current_log_options() {
  auto& s = state();
  std::lock_guard guard{s.mtx};
  return s.options;
}

bool log_enabled(log_level level) noexcept {
  return level != log_level::off &&
         static_cast<int>(level) >=
           state().threshold.load(std::memory_order_relaxed);
}

void write_log(log_level level, std::string_view line) noexcept {
  if (!log_enabled(level))
    return;
  auto& s = state();
  std::shared_ptr<spdlog::logger> logger;
  {
    std::lock_guard guard{s.mtx};
    logger = s.logger;
  }
  try {
    logger->log(to_spdlog(level),
                spdlog::string_view_t{line.data(), line.size()});
  } catch (...) {
    // Nowhere left to report it.
  }
}

void flush_log() noexcept {
  auto& s = state();
  std::shared_ptr<spdlog::logger> logger;
  {
    std::lock_guard guard{s.mtx};
    logger = s.logger;
  }
  try {
    logger->flush();
  } catch (...) {
  }
}

const char* log_level_name(log_level level) noexcept {
  switch (level) {
  case log_level::trace:
    return "trace";
  case log_level::debug:
    return "debug";
  case log_level::info:
    return "info";
  case log_level::warn:
    return "warn";
  case log_level::error:
    return "error";
  case log_level::off:
    break;
  }
  return "off";
}

std::optional<log_level> parse_log_level(std::string_view name) noexcept {
  for (auto level : {log_level::trace, log_level::debug, log_level::info,
                     log_level::warn, log_level::error, log_level::off})
    if (name == log_level_name(level))
      return level;
  if (name == "warning")
    return log_level::warn;
  return std::nullopt;
}

} // namespace lumen::detail

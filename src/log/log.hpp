// The process's logger: one per process, with a level, an optional file and
// stderr. Every line of the core goes through it (no bare std::cerr).
//
//   log_warn("closed the connection with ", peer, ": ", why);
//
// The parts are written with `operator<<`, and only when the level is on.
// Lines go to the log file (if one is set) at the configured level, and to
// stderr: all of them when there is no file, else warnings and errors only
// (and none when stderr is the log file itself, as in a node that
// `lumen start` put in the background). Before configure_log, lines of
// level warn and above go to stderr.
//
// Built on spdlog (Debian's libspdlog-dev), which only log.cpp includes, so
// that this header stays cheap to include.
//
// Thread safety: every function may be called from any thread;
// configure_log replaces the sinks atomically for later lines.
#pragma once

#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "lumen/config.hpp"

namespace lumen::detail {

/// Where and how much a process logs.
struct log_options {
  /// Least severe level written.
  log_level level = default_driver_log_level;
  /// File appended to; empty: stderr only.
  std::string file{};
};

/// The options of a process from its `config` (log_level, log_file, then
/// $LUMEN_LOG_LEVEL and $LUMEN_LOG_FILE, then the defaults of a driver or
/// of a node). Throws lumen::error on a bad $LUMEN_LOG_LEVEL.
log_options log_options_of(const config& cfg, bool driver);

/// Replaces the sinks and level of the process's logger. Throws
/// lumen::error if the file cannot be opened (the logger is unchanged).
void configure_log(const log_options& opts);

/// The options last given to configure_log (the defaults before).
log_options current_log_options();

/// Whether a line of `level` would be written anywhere.
bool log_enabled(log_level level) noexcept;

/// Writes one line of `level` (no trailing newline needed). Never throws.
void write_log(log_level level, std::string_view line) noexcept;

/// Flushes every sink.
void flush_log() noexcept;

/// "trace", "debug", "info", "warn", "error" or "off".
const char* log_level_name(log_level level) noexcept;

/// The level named `name` (as log_level_name spells it; "warning" too), or
/// nothing.
std::optional<log_level> parse_log_level(std::string_view name) noexcept;

/// Writes the parts, streamed one after the other, as one line of `level`.
template <class... Ts>
void log_line(log_level level, const Ts&... parts) {
  if (!log_enabled(level))
    return;
  std::ostringstream out;
  (out << ... << parts);
  write_log(level, out.str());
}

template <class... Ts>
void log_trace(const Ts&... parts) {
  log_line(log_level::trace, parts...);
}

template <class... Ts>
void log_debug(const Ts&... parts) {
  log_line(log_level::debug, parts...);
}

template <class... Ts>
void log_info(const Ts&... parts) {
  log_line(log_level::info, parts...);
}

template <class... Ts>
void log_warn(const Ts&... parts) {
  log_line(log_level::warn, parts...);
}

template <class... Ts>
void log_error(const Ts&... parts) {
  log_line(log_level::error, parts...);
}

} // namespace lumen::detail

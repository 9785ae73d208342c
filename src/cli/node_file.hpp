// Node files: what a running node writes to `<runtime-dir>/nodes/<pid>.node`
// once it listens, so that `lumen start`, `lumen status` and `lumen stop`
// on the same machine can find it; and the process checks those commands
// need (is a pid alive, is it still the process that wrote the file).
//
// Format: text lines `key=value`; the keys read here are pid, role ("head"
// or "worker"), id and address (HOST:PORT the node listens on). Blank
// lines, lines starting with '#' and other keys are ignored, so the node may
// add keys.
//
// Header-only, so that unit tests can use it without linking the tool.
//
// Thread safety: plain functions.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>

namespace lumen::cli {

/// One node file, read.
struct node_file {
  /// Where it was read from.
  std::string path;
  pid_t pid = 0;
  /// "head" or "worker".
  std::string role;
  std::string id;
  /// HOST:PORT the node listens on; for a head, the cluster's address.
  std::string address;
  /// When the file was last written.
  std::filesystem::file_time_type written{};

  bool head() const {
    return role == "head";
  }
};

/// Directory of the node files under `runtime_dir`.
inline std::filesystem::path nodes_dir(const std::string& runtime_dir) {
  return std::filesystem::path{runtime_dir} / "nodes";
}

/// Path of the node file of process `pid` under `runtime_dir`.
inline std::filesystem::path node_file_path(const std::string& runtime_dir,
                                            pid_t pid) {
  return nodes_dir(runtime_dir) / (std::to_string(pid) + ".node");
}

/// Parses the text of a node file. Returns nullopt, and the reason in
/// `*why` if given, when pid, role, id or address is missing or pid is not
/// a positive integer (a file being written may lack its last lines).
inline std::optional<node_file> parse_node_file(std::string_view text,
                                                std::string* why = nullptr) {
  node_file out;
  bool has_pid = false;
  std::istringstream in{std::string{text}};
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty() || line.front() == '#')
      continue;
    auto eq = line.find('=');
    if (eq == std::string::npos)
      continue;
    auto key = line.substr(0, eq);
    auto value = line.substr(eq + 1);
    if (key == "pid") {
      char* end = nullptr;
      errno = 0;
      long pid = std::strtol(value.c_str(), &end, 10);
      has_pid = !value.empty() && *end == '\0' && errno == 0 && pid > 0 &&
                pid <= 0x7fffffffL;
      out.pid = has_pid ? static_cast<pid_t>(pid) : 0;
    } else if (key == "role") {
      out.role = value;
    } else if (key == "id") {
      out.id = value;
    } else if (key == "address") {
      out.address = value;
    }
  }
  auto missing = !has_pid              ? "pid"
                 : out.role.empty()    ? "role"
                 : out.id.empty()      ? "id"
                 : out.address.empty() ? "address"
                                       : nullptr;
  if (missing != nullptr) {
    if (why != nullptr)
      *why = std::string{"no valid '"} + missing + "' line";
    return std::nullopt;
  }
  return out;
}

/// Reads node file `path`; nullopt (reason in `*why`) if it cannot be read
/// or parsed.
inline std::optional<node_file> read_node_file(const std::string& path,
                                               std::string* why = nullptr) {
  std::ifstream in{path};
  if (!in) {
    if (why != nullptr)
      *why = "cannot read it";
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto out = parse_node_file(text.str(), why);
  if (out) {
    out->path = path;
    std::error_code ec;
    out->written = std::filesystem::last_write_time(path, ec);
  }
  return out;
}

/// A `*.node` file under `<runtime-dir>/nodes/` that did not parse.
struct bad_node_file {
  std::string path;
  std::string why;
};

/// Reads every node file under `runtime_dir`, sorted by pid; files that do
/// not parse go to `*bad` if given. A missing directory means no nodes.
inline std::vector<node_file>
read_node_files(const std::string& runtime_dir,
                std::vector<bad_node_file>* bad = nullptr) {
  namespace fs = std::filesystem;
  std::vector<node_file> out;
  std::error_code ec;
  for (fs::directory_iterator i{nodes_dir(runtime_dir), ec}, end;
       !ec && i != end; i.increment(ec)) {
    if (i->path().extension() != ".node")
      continue;
    std::string why;
    if (auto f = read_node_file(i->path().string(), &why))
      out.push_back(std::move(*f));
    else if (bad != nullptr)
      bad->push_back({i->path().string(), why});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
    return a.pid < b.pid;
  });
  return out;
}

/// Whether process `pid` exists and has not exited: our own exited child is
/// reaped first, and a zombie (an exited process its new parent has not
/// reaped yet) counts as gone.
inline bool process_alive(pid_t pid) {
  if (pid <= 0)
    return false;
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid)
    return false;
  if (::kill(pid, 0) != 0 && errno != EPERM)
    return false;
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text;
  if (!std::getline(stat, text))
    return true; // no /proc: trust kill()
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size())
    return true;
  char state = text[close + 2]; // field 3, after "(comm) "
  return state != 'Z' && state != 'X';
}

/// Seconds since the epoch at which process `pid` started, from /proc;
/// nullopt where /proc cannot tell.
inline std::optional<double> process_start_time(pid_t pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text;
  if (!std::getline(stat, text))
    return std::nullopt;
  // Field 2 (comm) is in parentheses and may hold spaces: skip past it.
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return std::nullopt;
  std::istringstream fields{text.substr(close + 1)};
  std::string field;
  // After comm come fields 3 (state) ... 22 (starttime).
  for (int i = 3; i <= 22; ++i)
    if (!(fields >> field))
      return std::nullopt;
  std::ifstream proc_stat{"/proc/stat"};
  double boot = -1;
  for (std::string line; std::getline(proc_stat, line);)
    if (line.rfind("btime ", 0) == 0)
      boot = std::strtod(line.c_str() + 6, nullptr);
  long ticks = ::sysconf(_SC_CLK_TCK);
  if (boot < 0 || ticks <= 0)
    return std::nullopt;
  return boot +
         std::strtod(field.c_str(), nullptr) / static_cast<double>(ticks);
}

/// Whether the process named in `f` still exists and is the one that wrote
/// it: a process that started after the file was written only reuses the
/// pid of a node that is gone (two seconds of slack for the coarse clocks).
inline bool node_alive(const node_file& f) {
  if (!process_alive(f.pid))
    return false;
  auto started = process_start_time(f.pid);
  if (!started || f.written == std::filesystem::file_time_type{})
    return true;
  using namespace std::chrono;
  auto written_sys =
    system_clock::now() +
    duration_cast<system_clock::duration>(
      f.written - std::filesystem::file_time_type::clock::now());
  double written = duration<double>(written_sys.time_since_epoch()).count();
  return *started <= written + 2.0;
}

} // namespace lumen::cli

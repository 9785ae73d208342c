// Options of a `lumen` subcommand as raw text, before their values are
// checked: where each one came from (the command line or a line of a config
// file), the INI reader, and how a file and a command line merge.
//
// Header-only, and free of Boost, so that unit tests can use it without
// linking the command-line tool.
//
// Thread safety: plain functions and values.
#pragma once

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace lumen::cli {

/// A mistake on a command line or in a config file. `what()` names the key
/// and where it was given ("head.ini:7: num-cpus: ..." or "command line:
/// --num-cpus: ..."). `lumen` prints it and exits with status 2.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One raw value of an option and where it came from.
struct setting {
  /// The text given, e.g. "2" or `{"ssd": 1}`; "true" for a flag on the
  /// command line.
  std::string value;
  /// Path of the config file; empty for the command line.
  std::string file;
  /// 1-based line in `file`; 0 for the command line.
  int line = 0;
};

/// Raw values by key (the option's name without dashes), in given order.
using settings = std::map<std::string, std::vector<setting>>;

/// What an option takes.
enum class option_kind {
  /// No value on the command line (`--block`); a boolean in a file.
  flag,
  /// Exactly one value.
  value,
  /// One value per occurrence, repeatable (`--load a.so --load b.so`).
  list,
};

/// One option of a subcommand: the one source of its `--help` text and of
/// the keys a config file may set.
struct option_spec {
  /// Long name without dashes, e.g. "num-cpus"; also the config file key.
  const char* name;
  option_kind kind;
  /// Placeholder in `--help`, e.g. "HOST:PORT"; unused for flags.
  const char* value_name;
  /// One-line description for `--help`, with the default.
  const char* help;
  /// Whether a config file may set it (not `config` or `help`).
  bool in_file = true;
};

/// The spec named `name`, or nullptr.
inline const option_spec* find_option(const std::vector<option_spec>& specs,
                                      std::string_view name) {
  for (auto& spec : specs)
    if (name == spec.name)
      return &spec;
  return nullptr;
}

/// Where `s` was given: "head.ini:7" or "command line".
inline std::string origin(const setting& s) {
  if (s.file.empty())
    return "command line";
  return s.file + ":" + std::to_string(s.line);
}

/// How `key` is spelled where `s` was given: "--num-cpus" on the command
/// line, "num-cpus" in a file.
inline std::string spelled(const std::string& key, const setting& s) {
  return s.file.empty() ? "--" + key : key;
}

/// Throws usage_error "<origin>: <key as spelled>: <problem>".
[[noreturn]] inline void fail(const std::string& key, const setting& s,
                              const std::string& problem) {
  throw usage_error(origin(s) + ": " + spelled(key, s) + ": " + problem);
}

/// Adds `s` as a value of `spec`; a second value of a non-list option is an
/// error naming both places.
inline void add_setting(settings& to, const option_spec& spec, setting s) {
  auto& values = to[spec.name];
  if (!values.empty() && spec.kind != option_kind::list)
    fail(spec.name, s,
         values.front().file.empty()
           ? std::string{"given twice"}
           : "given twice (first at line " +
               std::to_string(values.front().line) + ")");
  values.push_back(std::move(s));
}

namespace detail_ini {

inline std::string_view trim(std::string_view s) {
  auto space = [](char c) {
    return std::isspace(static_cast<unsigned char>(c));
  };
  while (!s.empty() && space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && space(s.back()))
    s.remove_suffix(1);
  return s;
}

/// Cuts a comment (`#` or `;` after white space, outside double quotes).
inline std::string_view strip_comment(std::string_view s) {
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && quoted) {
      ++i;
    } else if (s[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && (s[i] == '#' || s[i] == ';') && i > 0 &&
               std::isspace(static_cast<unsigned char>(s[i - 1]))) {
      return s.substr(0, i);
    }
  }
  return s;
}

/// `s` for a message, every byte outside printable ASCII as \xNN.
inline std::string printable(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7f) {
      out += "\\x";
      out += hex[b >> 4];
      out += hex[b & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

/// The first control character of `line` (not tab or carriage return)
/// and its 1-based column, or {0, 0}.
inline std::pair<unsigned char, std::size_t>
control_char(std::string_view line) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    auto b = static_cast<unsigned char>(line[i]);
    if ((b < 0x20 && b != '\t' && b != '\r') || b == 0x7f)
      return {b, i + 1};
  }
  return {0, 0};
}

/// A config file longer than this is refused (it is not one: e.g.
/// --config /dev/zero).
inline constexpr std::size_t max_file_size = 1 << 20;

inline bool valid_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
           c == '_' || c == '.';
  });
}

inline std::string known_keys(const std::vector<option_spec>& specs) {
  std::string out;
  for (auto& spec : specs) {
    if (!spec.in_file)
      continue;
    out += out.empty() ? "" : ", ";
    out += spec.name;
  }
  return out;
}

} // namespace detail_ini

/// Parses the INI text of config file `file` (a name for messages) into
/// settings with line numbers.
///
/// Syntax: `key = value` lines; blank lines and lines starting with `#` or
/// `;` are comments, as is the rest of a line from a ` #` or ` ;` outside
/// double quotes; a value wholly in double quotes loses them; `[name]`
/// starts a section whose keys read `name.key`. A flag takes true/false.
/// A key that `specs` does not list, a key a file may not set, a line
/// without `=`, an empty value and a second value of a non-list key throw
/// usage_error "<file>:<line>: ...".
inline settings parse_ini(std::string_view text, const std::string& file,
                          const std::vector<option_spec>& specs) {
  using detail_ini::trim;
  settings out;
  std::string section;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") // UTF-8 byte order mark
    text.remove_prefix(3);
  int line_no = 0;
  for (size_t pos = 0; pos <= text.size();) {
    auto eol = text.find('\n', pos);
    auto raw =
      text.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    pos = eol == std::string_view::npos ? text.size() + 1 : eol + 1;
    ++line_no;
    auto where = file + ":" + std::to_string(line_no) + ": ";
    if (auto [b, col] = detail_ini::control_char(raw); col > 0)
      throw usage_error(where + "control character " +
                        detail_ini::printable(std::string(1, char(b))) +
                        " at column " + std::to_string(col) +
                        " (a config file holds text)");
    auto line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';')
      continue;
    if (line.front() == '[') {
      auto body = trim(detail_ini::strip_comment(line));
      if (body.back() != ']')
        throw usage_error(where + "section header '" +
                          detail_ini::printable(line) +
                          "' lacks its closing ']'");
      auto name = trim(body.substr(1, body.size() - 2));
      if (!detail_ini::valid_key(name))
        throw usage_error(where + "bad section name '" +
                          detail_ini::printable(name) + "'");
      section = std::string{name} + ".";
    } else {
      auto eq = line.find('=');
      if (eq == std::string_view::npos)
        throw usage_error(where + "expected 'key = value', got '" +
                          detail_ini::printable(line) + "'");
      auto key = section + std::string{trim(line.substr(0, eq))};
      if (key == section)
        throw usage_error(where + "missing key before '='");
      auto* spec = find_option(specs, key);
      if (spec == nullptr || !spec->in_file) {
        if (spec != nullptr)
          throw usage_error(where + key + ": cannot be set in a config file");
        auto dashed = key;
        std::replace(dashed.begin(), dashed.end(), '_', '-');
        auto hint = dashed != key && find_option(specs, dashed)
                      ? "; did you mean '" + dashed + "'?"
                      : " (known keys: " + detail_ini::known_keys(specs) + ")";
        throw usage_error(where + "unknown key '" + detail_ini::printable(key) +
                          "'" + hint);
      }
      auto value = trim(detail_ini::strip_comment(line.substr(eq + 1)));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      if (value.empty())
        throw usage_error(where + key + ": missing value");
      add_setting(out, *spec, setting{std::string{value}, file, line_no});
    }
  }
  return out;
}

/// Reads config file `path` and parses it with parse_ini; throws
/// usage_error if it cannot be read, is a directory or is larger than
/// 1 MiB (no config file is; /dev/zero would never end). A control
/// character in a line is a usage_error naming file, line and column.
inline settings read_ini_file(const std::string& path,
                              const std::vector<option_spec>& specs) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw usage_error("cannot read config file '" + path +
                      "': it is a directory");
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw usage_error("cannot read config file '" + path +
                      "': " + std::strerror(errno));
  std::string text(detail_ini::max_file_size + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad())
    throw usage_error("cannot read config file '" + path +
                      "': " + std::strerror(errno));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > detail_ini::max_file_size)
    throw usage_error("config file '" + path + "' is larger than " +
                      std::to_string(detail_ini::max_file_size) +
                      " bytes; is it a config file?");
  return parse_ini(text, path, specs);
}

/// Merges the settings of a config file and of the command line: a key
/// given on the command line replaces all of the file's values of that key
/// (also for list keys such as `load`). Each of `groups` is a set of keys
/// that replace as one: when the command line gives any key of a group, the
/// file's values of the whole group are dropped (e.g. {head, address}, so
/// that `--address` on the command line overrides `head = true` in a file).
inline settings
merge(settings file, const settings& cmdline,
      const std::vector<std::vector<std::string>>& groups = {}) {
  for (auto& group : groups) {
    bool given = std::any_of(group.begin(), group.end(), [&](auto& key) {
      return cmdline.count(key) > 0;
    });
    if (given)
      for (auto& key : group)
        file.erase(key);
  }
  for (auto& [key, values] : cmdline)
    file[key] = values;
  return file;
}

} // namespace lumen::cli

// Parsers for the values `lumen` options take: numbers, booleans, byte
// sizes with K/M/G/Ki/Mi/Gi suffixes, HOST:PORT addresses and the small
// JSON object of `--resources`.
//
// Each throws value_error with a message that says what is wrong (and, for
// JSON, at which character); the caller adds the key and where it was given.
//
// Thread safety: plain functions.
#pragma once

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "lumen/config.hpp"

namespace lumen::cli {

/// A value that does not parse; `what()` says why, without the key.
class value_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Quotes `s` for messages: 'abc'. Control characters show as \xNN, so
/// that a stray byte cannot cut or garble the message on a terminal.
inline std::string in_quotes(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out{"'"};
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) {
      out += "\\x";
      out += hex[b >> 4];
      out += hex[b & 0xf];
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

/// Parses a whole string as a finite decimal number ("2", "0.5", "1e3").
inline double parse_number(std::string_view s) {
  double x = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() ||
      !std::isfinite(x))
    throw value_error("expected a number, got " + in_quotes(s));
  return x;
}

/// Parses a non-negative finite number, e.g. a CPU count.
inline double parse_non_negative(std::string_view s) {
  double x = 0;
  try {
    x = parse_number(s);
  } catch (const value_error&) {
    throw value_error("expected a non-negative number, got " + in_quotes(s));
  }
  if (x < 0)
    throw value_error("expected a non-negative number, got " + in_quotes(s));
  return x;
}

/// Parses a whole string as an integer from 0 to `max`.
inline std::uint64_t
parse_unsigned(std::string_view s,
               std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
  std::uint64_t x = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || x > max)
    throw value_error("expected an integer from 0 to " + std::to_string(max) +
                      ", got " + in_quotes(s));
  return x;
}

/// Parses true/false, yes/no, on/off, 1/0.
inline bool parse_bool(std::string_view s) {
  for (auto t : {"true", "yes", "on", "1"})
    if (s == t)
      return true;
  for (auto f : {"false", "no", "off", "0"})
    if (s == f)
      return false;
  throw value_error("expected true or false, got " + in_quotes(s));
}

/// Parses a byte count: a number with an optional suffix, K/M/G/T (powers of
/// 1000) or Ki/Mi/Gi/Ti (powers of 1024), each optionally followed by B;
/// space may separate number and suffix: "1073741824", "512M", "1.5Gi",
/// "2 GiB". Fractions round to the nearest byte.
/// "stash", "write_ahead" or "off".
inline lumen::lineage_mode parse_lineage_mode(std::string_view s) {
  if (s == "stash")
    return lumen::lineage_mode::stash;
  if (s == "write_ahead")
    return lumen::lineage_mode::write_ahead;
  if (s == "off")
    return lumen::lineage_mode::off;
  throw value_error("expected stash, write_ahead or off, got '" +
                    std::string{s} + "'");
}

inline std::size_t parse_size(std::string_view s) {
  auto bad = [&](const std::string& why) {
    return value_error(why + ", got " + in_quotes(s));
  };
  size_t n = 0;
  while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) ||
                          s[n] == '.' || s[n] == 'e' || s[n] == 'E'))
    ++n;
  auto number = s.substr(0, n);
  auto suffix = s.substr(n);
  while (!suffix.empty() && suffix.front() == ' ')
    suffix.remove_prefix(1);
  if (number.empty())
    throw bad("expected a byte size such as 512Mi or 2G");
  if (!suffix.empty() && suffix.back() == 'B')
    suffix.remove_suffix(1);
  std::uint64_t unit = 1;
  constexpr std::string_view units = "KMGT";
  if (!suffix.empty()) {
    auto i = units.find(suffix.front());
    bool binary = suffix.size() == 2 && suffix[1] == 'i';
    if (i == std::string_view::npos || (suffix.size() == 2 && !binary) ||
        suffix.size() > 2)
      throw bad("unknown size suffix (use K, M, G, T, Ki, Mi, Gi or Ti)");
    for (size_t k = 0; k <= i; ++k)
      unit *= binary ? 1024 : 1000;
  }
  constexpr auto max = std::numeric_limits<std::size_t>::max();
  if (number.find_first_of(".eE") == std::string_view::npos) {
    // An integer: exact, however large.
    std::uint64_t x = 0;
    auto [end, ec] =
      std::from_chars(number.data(), number.data() + number.size(), x);
    if (ec == std::errc::result_out_of_range ||
        (ec == std::errc{} && x > max / unit))
      throw bad("byte size too large");
    if (ec != std::errc{} || end != number.data() + number.size())
      throw bad("expected a byte size such as 512Mi or 2G");
    return static_cast<std::size_t>(x * unit);
  }
  double x = 0;
  try {
    x = parse_number(number);
  } catch (const value_error&) {
    throw bad("expected a byte size such as 512Mi or 2G");
  }
  double bytes = std::round(x * static_cast<double>(unit));
  // 2^64 is exactly representable; anything at or above it overflows.
  if (!(bytes < 18446744073709551616.0) || bytes > static_cast<double>(max))
    throw bad("byte size too large");
  return static_cast<std::size_t>(bytes);
}

/// A HOST:PORT address taken apart.
struct host_port {
  std::string host;
  std::uint16_t port = 0;
};

/// Parses HOST:PORT (an IPv6 host in brackets: [::1]:6390); the port must
/// be 1 to 65535.
inline host_port parse_address(std::string_view s) {
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    throw value_error("expected HOST:PORT, got " + in_quotes(s));
  auto host = s.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']')
      throw value_error("expected [IPV6]:PORT, got " + in_quotes(s));
  } else if (host.find(':') != std::string_view::npos) {
    throw value_error("an IPv6 host needs brackets ([::1]:6390), got " +
                      in_quotes(s));
  }
  for (char c : host)
    if (std::isspace(static_cast<unsigned char>(c)))
      throw value_error("expected HOST:PORT, got " + in_quotes(s));
  auto port = s.substr(colon + 1);
  std::uint64_t p = 0;
  try {
    p = parse_unsigned(port, 65535);
  } catch (const value_error&) {
  }
  if (p == 0)
    throw value_error("expected a port from 1 to 65535 after ':', got " +
                      in_quotes(s));
  return {std::string{host}, static_cast<std::uint16_t>(p)};
}

/// Reads the JSON object of `--resources`: string keys, non-negative finite
/// numbers, e.g. {"ssd": 1, "accelerator": 0.5}. Positions in messages are
/// 1-based character offsets into the text.
class resources_parser {
 public:
  explicit resources_parser(std::string_view text) : text_(text) {}

  std::map<std::string, double> parse() {
    std::map<std::string, double> out;
    skip_space();
    expect('{', "'{' to open the object");
    skip_space();
    if (peek() == '}') {
      ++pos_;
    } else {
      for (;;) {
        skip_space();
        auto key_pos = pos_;
        auto key = string();
        if (key.empty())
          error(key_pos, "empty resource name");
        if (key == "CPU")
          error(key_pos, "set CPUs with num-cpus, not as a resource");
        if (out.count(key) > 0)
          error(key_pos, "resource \"" + key + "\" given twice");
        skip_space();
        expect(':', "':' after \"" + key + "\"");
        skip_space();
        out[key] = number(key);
        skip_space();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect('}', "',' or '}' after the amount of \"" + key + "\"");
        break;
      }
    }
    skip_space();
    if (pos_ < text_.size())
      error(pos_, "unexpected text after the closing '}'");
    return out;
  }

 private:
  [[noreturn]] void error(size_t pos, const std::string& what) const {
    throw value_error(what + " at position " + std::to_string(pos + 1) +
                      " of " + in_quotes(text_));
  }

  char peek() const {
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  void expect(char c, const std::string& what) {
    if (peek() != c)
      error(pos_, pos_ < text_.size() ? "expected " + what
                                      : "expected " + what + ", got the end");
    ++pos_;
  }

  std::string string() {
    if (peek() != '"')
      error(pos_, "expected a resource name in double quotes");
    auto start = pos_++;
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (static_cast<unsigned char>(c) < 0x20)
        error(pos_ - 1, "control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size())
        break;
      switch (char e = text_[pos_++]) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      default:
        error(pos_ - 2, "unsupported escape '\\" + std::string(1, e) + "'");
      }
    }
    if (pos_ >= text_.size())
      error(start, "unterminated string");
    ++pos_; // closing quote
    return out;
  }

  double number(const std::string& key) {
    auto start = pos_;
    // JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    auto digits = [&] {
      auto from = pos_;
      while (std::isdigit(static_cast<unsigned char>(peek())))
        ++pos_;
      return pos_ > from;
    };
    bool negative = peek() == '-';
    if (negative)
      ++pos_;
    bool ok = digits();
    if (ok && peek() == '.') {
      ++pos_;
      ok = digits();
    }
    if (ok && (peek() == 'e' || peek() == 'E')) {
      ++pos_;
      if (peek() == '+' || peek() == '-')
        ++pos_;
      ok = digits();
    }
    if (!ok)
      error(start, "expected a number for \"" + key + "\"");
    auto token = text_.substr(start, pos_ - start);
    if (negative)
      error(start,
            "negative amount " + std::string{token} + " for \"" + key + "\"");
    double x = 0;
    auto [end, ec] =
      std::from_chars(token.data(), token.data() + token.size(), x);
    if (ec != std::errc{} || !std::isfinite(x))
      error(start, "amount of \"" + key + "\" out of range");
    (void)end;
    return x;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

/// Parses the JSON object of `--resources`; see resources_parser.
inline std::map<std::string, double> parse_resources(std::string_view text) {
  return resources_parser{text}.parse();
}

} // namespace lumen::cli

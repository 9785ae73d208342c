// Command-line parsing shared by the `lumen` subcommands, through
// Boost.Program_options.
#include "cli/command_line.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include <sys/stat.h>
#include <unistd.h>

#include <boost/program_options.hpp>

#include "cli/values.hpp"
#include "node/node_config.hpp"
#include "node/runtime_dir.hpp"

namespace po = boost::program_options;

namespace lumen::cli {

namespace {

po::options_description describe(const std::vector<option_spec>& specs) {
  po::options_description desc{"Options", 80, 40};
  for (auto& spec : specs) {
    switch (spec.kind) {
    case option_kind::flag:
      // `-h` too, as users expect; config files know only `help`.
      desc.add_options()(
        spec.name == std::string{"help"} ? "help,h" : spec.name, spec.help);
      break;
    case option_kind::value:
      desc.add_options()(spec.name,
                         po::value<std::string>()->value_name(spec.value_name),
                         spec.help);
      break;
    case option_kind::list:
      desc.add_options()(
        spec.name,
        po::value<std::vector<std::string>>()->value_name(spec.value_name),
        spec.help);
      break;
    }
  }
  return desc;
}

} // namespace

settings parse_command_line(const arguments& args,
                            const std::vector<option_spec>& specs) {
  auto desc = describe(specs);
  po::parsed_options parsed{&desc};
  try {
    auto style = po::command_line_style::unix_style &
                 ~po::command_line_style::allow_guessing;
    parsed = po::command_line_parser(args).options(desc).style(style).run();
  } catch (const po::error& e) {
    throw usage_error(std::string{"command line: "} + e.what());
  }
  settings out;
  for (auto& opt : parsed.options) {
    if (opt.string_key.empty()) // a positional argument
      throw usage_error("command line: unexpected argument '" +
                        (opt.original_tokens.empty()
                           ? std::string{}
                           : opt.original_tokens.front()) +
                        "' (options start with --)");
    auto* spec = find_option(specs, opt.string_key);
    if (spec == nullptr) // Boost rejected unknown options above.
      throw usage_error("command line: unknown option '--" + opt.string_key +
                        "'");
    auto value = spec->kind == option_kind::flag
                   ? std::string{"true"}
                   : (opt.value.empty() ? std::string{} : opt.value.front());
    setting s{value, {}, 0};
    if (spec->kind != option_kind::flag && value.empty())
      fail(spec->name, s, "missing value");
    // Boost takes the next word as the value even if it is an option.
    if (spec->kind != option_kind::flag && value.rfind("--", 0) == 0)
      fail(spec->name, s, "missing value (got the option '" + value + "')");
    add_setting(out, *spec, std::move(s));
  }
  return out;
}

void print_help(std::ostream& out, const std::string& usage,
                const std::string& about,
                const std::vector<option_spec>& specs) {
  std::ostringstream options;
  options << describe(specs);
  auto text = options.str();
  if (text.empty() || text.back() != '\n')
    text += '\n';
  out << "Usage: " << usage << "\n\n" << about << "\n\n" << text;
}

std::chrono::milliseconds timeout_from(const settings& in,
                                       double default_seconds) {
  double seconds = default_seconds;
  if (auto i = in.find("timeout"); i != in.end()) {
    auto& s = i->second.back();
    try {
      seconds = parse_non_negative(s.value);
    } catch (const value_error& e) {
      fail("timeout", s, e.what());
    }
  }
  return std::chrono::milliseconds(
    static_cast<std::chrono::milliseconds::rep>(seconds * 1000));
}

std::string runtime_dir_from(const settings& in) {
  auto i = in.find("runtime-dir");
  auto dir = i != in.end() && !i->second.empty()
               ? i->second.back().value
               : lumen::detail::runtime_dir_default();
  return std::filesystem::absolute(dir).lexically_normal().string();
}

void check_runtime_dir(const std::string& dir) {
  lumen::detail::check_runtime_dir(dir);
}

void prepare_runtime_dir(const std::string& dir) {
  lumen::detail::prepare_runtime_dir(dir);
  for (auto sub : {"logs", "nodes"}) {
    auto path = dir + "/" + sub;
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
      throw std::runtime_error("cannot create " + path + ": " +
                               std::strerror(errno));
    ::chmod(path.c_str(), 0700);
  }
}

} // namespace lumen::cli

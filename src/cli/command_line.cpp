// Command-line parsing shared by the `lumen` subcommands, through
// Boost.Program_options.
#include "cli/command_line.hpp"

#include <filesystem>

#include <boost/program_options.hpp>

#include "cluster/node_config.hpp"

namespace po = boost::program_options;

namespace lumen::cli {

namespace {

po::options_description describe(const std::vector<option_spec>& specs) {
  po::options_description desc{"Options", 80, 40};
  for (auto& spec : specs) {
    switch (spec.kind) {
      case option_kind::flag:
        desc.add_options()(spec.name, spec.help);
        break;
      case option_kind::value:
        desc.add_options()(spec.name,
                           po::value<std::string>()->value_name(
                             spec.value_name),
                           spec.help);
        break;
      case option_kind::list:
        desc.add_options()(spec.name,
                           po::value<std::vector<std::string>>()->value_name(
                             spec.value_name),
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
    auto style = po::command_line_style::unix_style
                 & ~po::command_line_style::allow_guessing;
    parsed = po::command_line_parser(args).options(desc).style(style).run();
  } catch (const po::too_many_positional_options_error&) {
    for (auto& arg : args)
      if (arg.empty() || arg.front() != '-')
        throw usage_error("command line: unexpected argument '" + arg
                          + "' (options start with --)");
    throw usage_error("command line: unexpected argument");
  } catch (const po::error& e) {
    throw usage_error(std::string{"command line: "} + e.what());
  }
  settings out;
  for (auto& opt : parsed.options) {
    auto* spec = find_option(specs, opt.string_key);
    if (spec == nullptr) // Boost rejected unknown options above.
      throw usage_error("command line: unknown option '--" + opt.string_key
                        + "'");
    auto value = spec->kind == option_kind::flag
                   ? std::string{"true"}
                   : (opt.value.empty() ? std::string{} : opt.value.front());
    setting s{value, {}, 0};
    if (spec->kind != option_kind::flag && value.empty())
      fail(spec->name, s, "missing value");
    add_setting(out, *spec, std::move(s));
  }
  return out;
}

void print_help(std::ostream& out, const std::string& usage,
                const std::string& about,
                const std::vector<option_spec>& specs) {
  out << "Usage: " << usage << "\n\n" << about << "\n\n" << describe(specs);
}

std::string runtime_dir_from(const settings& in) {
  auto i = in.find("runtime-dir");
  auto dir = i != in.end() && !i->second.empty()
               ? i->second.back().value
               : lumen::detail::runtime_dir_default();
  return std::filesystem::absolute(dir).lexically_normal().string();
}

} // namespace lumen::cli

#include "command.hpp"

#include <fmt/format.h>

#include <charconv>
#include <sstream>

#include "uptake/base/input_error.hpp"

namespace uptake::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> all = [] {
    std::vector<Command> list;
    for (auto& command : scenario_commands()) list.push_back(std::move(command));
    for (auto& command : run_commands()) list.push_back(std::move(command));
    for (auto& command : capacity_commands()) list.push_back(std::move(command));
    for (auto& command : results_commands()) list.push_back(std::move(command));
    for (auto& command : report_commands()) list.push_back(std::move(command));
    for (auto& command : serve_commands()) list.push_back(std::move(command));
    return list;
  }();
  return all;
}

namespace {

po::options_description options_of(const Command& command, po::positional_options_description& positional) {
  po::options_description options(fmt::format("Options of '{}'", command.name));
  options.add_options()("help,h", "show this help");
  command.declare(options, positional);
  return options;
}

}  // namespace

std::string help_text(const Command& command) {
  po::positional_options_description positional;
  std::ostringstream options;
  options << options_of(command, positional);
  std::string text = fmt::format("{}\n\nUsage: {}\n\n{}\nExamples:\n", command.summary, command.usage, options.str());
  for (const auto& example : command.examples) text += "  " + example + "\n";
  return text;
}

namespace {

// Boost's parser reads "-1" for an unsigned option as the largest value (it wraps): a count or
// a seed given as a negative number is refused instead, naming the option.
void refuse_negative_counts(const po::options_description& options, const po::parsed_options& parsed) {
  for (const auto& option : parsed.options) {
    const auto* description = options.find_nothrow(option.string_key, false);
    if (description == nullptr) continue;
    const auto* semantic = description->semantic().get();
    const bool unsigned_value = dynamic_cast<const po::typed_value<unsigned>*>(semantic) != nullptr ||
                                dynamic_cast<const po::typed_value<std::uint64_t>*>(semantic) != nullptr;
    if (!unsigned_value) continue;
    for (const auto& value : option.value) {
      const auto first = value.find_first_not_of(" \t");
      if (first != std::string::npos && value[first] == '-') {
        throw InputError({}, "--" + option.string_key, fmt::format("'{}' is negative", value), "a whole number of 0 or more");
      }
    }
  }
}

}  // namespace

po::variables_map parse_arguments(const Command& command, const std::vector<std::string>& arguments) {
  po::positional_options_description positional;
  const auto options = options_of(command, positional);
  po::variables_map values;
  try {
    const auto parsed = po::command_line_parser(arguments).options(options).positional(positional).run();
    refuse_negative_counts(options, parsed);
    po::store(parsed, values);
    if (values.count("help")) return values;
    po::notify(values);
  } catch (const po::error& error) {
    throw InputError({}, "", fmt::format("uptake {}: {}", command.name, error.what()),
                     fmt::format("usage: {} (see 'uptake {} --help')", command.usage, command.name));
  }
  return values;
}

std::optional<double> decimal_number(std::string_view text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

double percentage_of(const po::variables_map& values, const char* name) {
  const auto given = values[name].as<std::string>();
  std::string_view text = given;
  if (!text.empty() && text.back() == '%') text.remove_suffix(1);
  const auto percent = decimal_number(text);
  if (!percent || !(*percent >= 0 && *percent <= 1000)) {
    throw InputError({}, fmt::format("--{}", name), fmt::format("'{}' is not a percentage", given), "a percentage from 0 to 1000, such as 10 or 2.5%");
  }
  return *percent / 100;
}

}  // namespace uptake::cli

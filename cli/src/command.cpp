#include "command.hpp"

#include <fmt/format.h>

#include <stdexcept>
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
    for (auto& command : calibrate_commands()) list.push_back(std::move(command));
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

// The forms of the commands, and the options that only one form takes. A command's form is
// chosen by what is given: `run SCENARIO` replays a scenario, `run --url URL` loads one URL;
// `gate DIR --baseline DIR` compares. An option of a form other than the one chosen would be
// silently ignored (`run SCENARIO --duration 5` ran the scenario's whole length): it is
// refused instead, saying what it applies to and what to use in the form chosen.
struct FormOption {
  std::string_view command;
  std::string_view option;      // as declared, without the dashes
  // What chooses the form the option belongs to: "url" when the option (or positional) "url" is
  // given, "!backtest" when "backtest" is not, "format=csv" when "format" has that value.
  std::string_view form;
  std::string_view applies_to;  // "ad hoc runs (--url)"
  std::string_view instead;     // what to use in the other form; may be empty
};

constexpr std::string_view kAdHocRun = "ad hoc runs (--url)";
constexpr std::string_view kScenarioRun = "scenario runs (run SCENARIO)";
constexpr std::string_view kFlowsInstead = "a scenario's requests are its flows: edit them in the scenario file";

constexpr FormOption kFormOptions[] = {
    {"run", "rate", "url", kAdHocRun, "for a scenario use --scale to send a share of its demand"},
    {"run", "duration", "url", kAdHocRun, "for a scenario use --replay-duration"},
    {"run", "method", "url", kAdHocRun, kFlowsInstead},
    {"run", "body", "url", kAdHocRun, kFlowsInstead},
    {"run", "header", "url", kAdHocRun, kFlowsInstead},
    {"run", "target", "scenario", kScenarioRun, "an ad hoc run names its target with --url"},
    {"run", "replay-duration", "scenario", kScenarioRun, "for an ad hoc run use --duration"},
    {"run", "scale", "scenario", kScenarioRun, "for an ad hoc run use --rate"},
    {"run", "window", "scenario", kScenarioRun, "an ad hoc run has no forecast to take a window of"},
    {"run", "year", "scenario", kScenarioRun, "an ad hoc run has no forecast to take a peak hour of"},
    {"run", "abort-grace", "abort-on-fail", "runs with --abort-on-fail", "add --abort-on-fail, or leave --abort-grace out"},
    {"capacity", "method", "url", "ad hoc searches (--url)", kFlowsInstead},
    {"capacity", "body", "url", "ad hoc searches (--url)", kFlowsInstead},
    {"capacity", "header", "url", "ad hoc searches (--url)", kFlowsInstead},
    {"capacity", "target", "scenario", "searches of a scenario (capacity SCENARIO)", "an ad hoc search names its target with --url"},
    {"capacity", "instances", "scenario", "the plan against a scenario's forecast (capacity SCENARIO)", "an ad hoc search (--url) has no forecast to plan against"},
    {"capacity", "utilisation", "scenario", "the plan against a scenario's forecast (capacity SCENARIO)", "an ad hoc search (--url) has no forecast to plan against"},
    {"capacity", "risk", "scenario", "the plan against a scenario's forecast (capacity SCENARIO)", "an ad hoc search (--url) has no forecast to plan against"},
    {"forecast", "years", "!backtest", "forecasts of design peaks (without --backtest)", "--backtest refits on every cut of the whole history"},
    {"schedule", "limit", "format=csv", "--format csv", "the summary counts every arrival"},
    {"gate", "latency-tolerance", "baseline", "comparisons with a baseline (--baseline DIR)", ""},
    {"gate", "throughput-tolerance", "baseline", "comparisons with a baseline (--baseline DIR)", ""},
    {"gate", "significance", "baseline", "comparisons with a baseline (--baseline DIR)", ""},
    {"gate", "force", "baseline", "comparisons with a baseline (--baseline DIR)", ""},
    {"serve", "tls-cert", "tls", "HTTPS (--tls)", "add --tls"},
    {"serve", "tls-key", "tls", "HTTPS (--tls)", "add --tls"},
    {"serve", "workers", "service-time", "synthetic mode (--service-time ENDPOINT=DIST)", "without it each request does the endpoint's real work"},
};

// Given on the command line, not a default.
bool given(const po::variables_map& values, const std::string& name) { return values.count(name) && !values[name].defaulted(); }

bool form_chosen(const po::variables_map& values, std::string_view form) {
  if (form.starts_with('!')) return !given(values, std::string(form.substr(1)));
  const auto equals = form.find('=');
  if (equals == std::string_view::npos) return given(values, std::string(form));
  const std::string name(form.substr(0, equals));
  return values.count(name) && values[name].as<std::string>() == form.substr(equals + 1);
}

void refuse_options_of_other_forms(const Command& command, const po::options_description& options, const po::variables_map& values) {
  for (const auto& row : kFormOptions) {
    if (row.command != command.name) continue;
    // The table and the declarations must agree: a renamed option would otherwise go unchecked.
    auto form_option = std::string(row.form.substr(row.form.starts_with('!') ? 1 : 0));
    form_option = form_option.substr(0, form_option.find('='));
    for (const auto& name : {std::string(row.option), form_option}) {
      if (options.find_nothrow(name, false) == nullptr) {
        throw std::logic_error(fmt::format("uptake {}: the table of forms names --{}, which the command does not declare", command.name, name));
      }
    }
    if (!given(values, std::string(row.option)) || form_chosen(values, row.form)) continue;
    throw InputError({}, fmt::format("--{}", row.option),
                     fmt::format("applies to {} only{}", row.applies_to, row.instead.empty() ? "" : fmt::format("; {}", row.instead)));
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
  refuse_options_of_other_forms(command, options, values);
  return values;
}

Seconds duration_of(const po::variables_map& values, const char* name, BareNumber bare) {
  const auto text = values[name].as<std::string>();
  const auto duration = parse_duration(text, bare);
  if (!duration) throw InputError({}, fmt::format("--{}", name), fmt::format("'{}' is not a duration", text), duration_forms(bare));
  return *duration;
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

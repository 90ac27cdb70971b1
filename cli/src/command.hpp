#pragma once
// The shape every subcommand shares: a name, a one-line summary, usage, examples, its options,
// and the function that runs it. main() looks the command up and handles errors in one place.
#include <boost/program_options.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptake/reports/gate.hpp"

namespace uptake::cli {

namespace po = boost::program_options;

struct Command {
  std::string name;
  std::string summary;
  std::string usage;                       // "uptake forecast SCENARIO [options]"
  std::vector<std::string> examples;       // full command lines with a comment after '#'
  std::function<void(po::options_description&, po::positional_options_description&)> declare;
  std::function<int(const po::variables_map&)> run;
};

const std::vector<Command>& commands();

// The help text of one command.
std::string help_text(const Command& command);

// Parses `arguments` (after the command name) for `command`. Throws InputError on bad usage.
po::variables_map parse_arguments(const Command& command, const std::vector<std::string>& arguments);

// Registers the commands of a file; each file defines one of these.
std::vector<Command> scenario_commands();
std::vector<Command> serve_commands();
std::vector<Command> run_commands();
std::vector<Command> capacity_commands();
std::vector<Command> results_commands();

std::vector<Command> report_commands();

// The verdict a results folder ended with (run, merge, capacity), when it has something to say:
// thresholds, or results that are untrusted or partial.
void print_verdict(const reports::GateResult& verdict);

// `text` as a decimal number and nothing else: no hex (std::stod takes "0x10" as 16), no
// trailing characters, no leading space; std::nullopt otherwise. Ranges are the caller's.
std::optional<double> decimal_number(std::string_view text);

// Option `name` as a percentage ("10", "10%" or "2.5%"), returned as a fraction; from 0 to 1000%
// (a command checks its own narrower range).
double percentage_of(const po::variables_map& values, const char* name);

}  // namespace uptake::cli

#pragma once
// The shape every subcommand shares: a name, a one-line summary, usage, examples, its options,
// and the function that runs it. main() looks the command up and handles errors in one place.
#include <boost/program_options.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptake/base/duration.hpp"
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

// Parses `arguments` (after the command name) for `command`. Throws InputError on bad usage,
// and on an option that the form of the command chosen does not take (the table of forms in
// command.cpp): `run SCENARIO --duration 5` is refused, not run for the scenario's length.
po::variables_map parse_arguments(const Command& command, const std::vector<std::string>& arguments);

// Registers the commands of a file; each file defines one of these.
std::vector<Command> scenario_commands();
std::vector<Command> serve_commands();
std::vector<Command> run_commands();
std::vector<Command> capacity_commands();
std::vector<Command> results_commands();

std::vector<Command> report_commands();
std::vector<Command> calibrate_commands();

// The verdict a results folder ended with (run, merge, capacity), when it has something to say:
// thresholds, or results that are untrusted or partial.
void print_verdict(const reports::GateResult& verdict);

// Option `name` as a duration (uptake::parse_duration: 500ms, 30s, 5m, 2h, 1d), a bare number
// read as `bare` says; InputError naming the option and the accepted forms when it is not one.
// Ranges are the caller's.
Seconds duration_of(const po::variables_map& values, const char* name, BareNumber bare = BareNumber::seconds);

// Option `name` as a percentage ("10", "10%" or "2.5%"), returned as a fraction; from 0 to 1000%
// (a command checks its own narrower range).
double percentage_of(const po::variables_map& values, const char* name);

}  // namespace uptake::cli

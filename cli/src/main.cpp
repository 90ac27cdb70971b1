// uptake: forecast citizen demand, replay it as open-loop traffic, and plan capacity.
// main only finds the command, parses its options and reports errors; the work is in the libraries.
#include <fmt/format.h>

#include <cstdio>
#include <exception>

#include "command.hpp"
#include "uptake/base/input_error.hpp"

namespace {

void print_overview() {
  std::string text =
      "uptake — capacity planning and load testing for public digital services\n\n"
      "Usage: uptake COMMAND [options]   (uptake COMMAND --help for a command's options and examples)\n\n"
      "Commands:\n";
  for (const auto& command : uptake::cli::commands()) text += fmt::format("  {:<10} {}\n", command.name, command.summary);
  text += "\nExit codes: 0 ok, 1 a threshold or gate failed, 2 bad usage or bad input, 3 the run cannot be trusted.\n";
  std::fputs(text.c_str(), stdout);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace uptake;
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h" || std::string_view(argv[1]) == "help") {
    print_overview();
    return argc < 2 ? kExitBadInput : kExitOk;
  }
  if (std::string_view(argv[1]) == "--version") {
    std::puts("uptake " UPTAKE_VERSION);
    return kExitOk;
  }
  const std::string name = argv[1];
  for (const auto& command : cli::commands()) {
    if (command.name != name) continue;
    try {
      const auto values = cli::parse_arguments(command, {argv + 2, argv + argc});
      if (values.count("help")) {
        std::fputs(cli::help_text(command).c_str(), stdout);
        return kExitOk;
      }
      return command.run(values);
    } catch (const InputError& error) {
      fmt::print(stderr, "error: {}\n", error.what());
      return kExitBadInput;
    } catch (const std::exception& error) {
      fmt::print(stderr, "error: {}\n", error.what());
      return kExitUntrusted;
    }
  }
  fmt::print(stderr, "error: unknown command '{}' (run 'uptake --help' for the list)\n", name);
  return kExitBadInput;
}

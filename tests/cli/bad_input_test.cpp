// Inputs that once hung uptake, or made it allocate without bound, refused with exit code 2 in
// bounded time: each command runs in a child process with a deadline (tests/child_process.hpp).
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "cli/cli_helpers.hpp"

TEST_CASE("infinite demand is refused by check, schedule and run, naming where, in bounded time") {
  // Each once passed check ("about — requests", "about 0 requests"), and schedule never returned:
  // an arrival rate of infinity never moves the schedule's clock. Run in a child with a deadline.
  const auto scratch = cli_test::scratch_folder("cli-infinite-demand");
  const std::string program = std::string(UPTAKE_BINARY_DIR) + "/cli/uptake";
  const std::pair<const char*, const char*> cases[] = {
      {"infinite-scale", "infinite-scale.yaml:8:33: field 'replay.scale': is 1e+308"},
      {"infinite-multiplier", "infinite-multiplier.yaml:10:53: field 'events[0].multiplier': is 1e+200"},
      {"infinite-hour-profile", "infinite-hour-profile.yaml:9:18: field 'calendar.hour_profile[0]': is 1e+308"},
      {"replay-beyond-generator", "replay-beyond-generator.yaml:16:3: field 'replay': would send up to"},
  };
  for (const auto& [name, message] : cases) {
    const auto file = std::string("tests/sim/fixtures/invalid/") + name + ".yaml";
    for (const std::vector<std::string> arguments : {std::vector<std::string>{"check", file}, {"schedule", file},
                                                      {"run", file, "--out", (scratch / name).string()}}) {
      const auto output = scratch / "output.txt";
      const auto outcome = uptake::test::run_program(program, arguments, output.string(), std::chrono::seconds(60));
      INFO("uptake " << arguments[0] << " " << file << ": " << cli_test::read(output));
      CHECK_FALSE(outcome.timed_out);
      CHECK(outcome.exit_code == 2);
      CHECK_THAT(cli_test::read(output), Catch::Contains(message));
      CHECK_FALSE(std::filesystem::exists(scratch / name));
    }
  }
}


TEST_CASE("--start-at is a decimal epoch within the next day; anything else is refused") {
  // 1e308 once overflowed the conversion to a time point and started the run at once.
  for (const char* value : {"1e308", "inf", "nan", "-5", "0x10", "17e8x", "99999999999"}) {
    const auto refused = cli_test::uptake(std::string("run --url http://127.0.0.1:9/ --rate 10 --duration 1 --start-at ") + value);
    INFO("--start-at " << value << ": " << refused.output);
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.output, Catch::Contains("--start-at"));
  }
}

// Fail before load: what can be known before the measured run is refused before it, with exit 2
// and a message that names the file, field or option: a replay window with no demand (check
// passed it as "about 0 requests" and run then spent its whole duration to exit 3), a warm-up
// that captured nothing (capacity then drove trials of missing_capture), and forecast years
// outside the history and projection (a peak hour of 1970-01-01 was printed).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli/cli_helpers.hpp"

namespace fs = std::filesystem;
using cli_test::check_refused;

namespace {

constexpr const char* kWithoutDemand = "tests/sim/fixtures/invalid/replay-without-demand.yaml";

// scenarios/smoke.yaml with its issuance capture pointed at a member the reference service's
// answers do not have: verify needs {{credential}}, which then never fills.
fs::path smoke_with_capture(const fs::path& folder, const std::string& pointer) {
  auto text = cli_test::read("scenarios/smoke.yaml");
  const std::string capture = "capture: { credential: /credential }";
  const auto at = text.find(capture);
  REQUIRE(at != std::string::npos);
  text.replace(at, capture.size(), "capture: { credential: " + pointer + " }");
  const auto file = folder / "smoke-capture.yaml";
  std::ofstream(file) << text;
  return file;
}

}  // namespace

TEST_CASE("check refuses a replay window with no demand, naming the file and the replay field") {
  const auto outcome = cli_test::uptake(std::string("check ") + kWithoutDemand);
  INFO(outcome.output);
  CHECK(outcome.exit_code == 2);
  CHECK_THAT(outcome.output, Catch::Contains("replay-without-demand.yaml:14:9: field 'replay.from': the window 2024-03-04 03:00:00 to 2024-03-04 04:00:00 local"));
  CHECK_THAT(outcome.output, Catch::Contains("a run of it would send none"));
  CHECK(outcome.output.find("ok: ") == std::string::npos);  // once "ok: ... about 0 requests"
}

TEST_CASE("run refuses a replay window with no demand before any load, and writes nothing") {
  const auto scratch = cli_test::scratch_folder("cli-fail-before-load-demand");
  const auto started = std::chrono::steady_clock::now();
  check_refused(std::string("run ") + kWithoutDemand + " --out " + (scratch / "run").string(), "field 'replay.from'");
  // The hour of night replayed in real time would take an hour: refused at once instead.
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
  CHECK_FALSE(fs::exists(scratch / "run"));
}

TEST_CASE("forecast refuses --years outside the history and projection, naming the valid range") {
  check_refused("forecast scenarios/smoke.yaml --years 2019..2020",
                "field '--years': '2019..2020' reaches beyond the history and projection of scenarios/smoke.yaml (expected years from 2023 (its first year of history) to 2024 (its growth.project_to))");
  check_refused("forecast scenarios/smoke.yaml --years 2023..2030", "'2023..2030' reaches beyond the history and projection");
  check_refused("forecast scenarios/smoke.yaml --years 2025", "'2025' reaches beyond the history and projection");
  const auto inside = cli_test::uptake("forecast scenarios/smoke.yaml --years 2023..2024");
  INFO(inside.output);
  CHECK(inside.exit_code == 0);
  CHECK(inside.output.find("1970") == std::string::npos);
}

TEST_CASE("run and capacity stop before the measured part when the warm-up captured nothing a flow needs") {
  const auto scratch = cli_test::scratch_folder("cli-fail-before-load-capture");
  const auto file = smoke_with_capture(scratch, "/no_such_member");
  const auto expect_stopped = [&](const cli_test::Outcome& outcome, const fs::path& out) {
    INFO(outcome.output);
    CHECK(outcome.exit_code == 2);
    CHECK_THAT(outcome.output, Catch::Contains("field 'flows.issue.capture.credential': the warm-up captured nothing at JSON pointer /no_such_member of issue's answers, "
                                               "and flow verify needs {{credential}}"));
    // The start of an answer of issue, as the reference service gives it.
    CHECK_THAT(outcome.output, Catch::Contains("The last answer: HTTP 201 on issue: {"));
    CHECK_THAT(outcome.output, Catch::Contains("credential"));
    CHECK(outcome.output.find("missing_capture") == std::string::npos);
    CHECK_FALSE(fs::exists(out));
  };
  // Against the embedded reference service, on loopback.
  expect_stopped(cli_test::uptake("run " + file.string() + " --lag-bound 1000 --out " + (scratch / "run").string()), scratch / "run");
  expect_stopped(cli_test::uptake("capacity " + file.string() + " --start 10 --max 20 --step-seconds 1 --budget 20s --out " + (scratch / "capacity").string()),
                 scratch / "capacity");
  // The scenario as shipped captures its credential, and runs.
  const auto shipped = cli_test::uptake("run " + smoke_with_capture(scratch, "/credential").string() + " --replay-duration 1s --scale 0.2 --lag-bound 1000 --out " +
                                        (scratch / "shipped").string());
  INFO(shipped.output);
  CHECK(shipped.exit_code == 0);
}

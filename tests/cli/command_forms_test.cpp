// What applies to which form of a command: an option of the other form (run SCENARIO --duration)
// is refused with exit 2 and a hint, not ignored; durations take units wherever they are read;
// and run SCENARIO's overrides of the replay block are held to the scenario loader's bounds,
// applied, and recorded in summary.json.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_helpers.hpp"

namespace fs = std::filesystem;
using cli_test::check_refused;

namespace {

// Port 9 on loopback: nothing listens there, and nothing is sent anyway: every case here is
// refused while its options are read.
const std::string kAdHoc = "run --url http://127.0.0.1:9/ --rate 10 --duration 1 ";
const std::string kScenario = "run scenarios/smoke.yaml ";

}  // namespace

TEST_CASE("run SCENARIO refuses the options of ad hoc runs, naming what to use instead") {
  check_refused(kScenario + "--duration 5", "field '--duration': applies to ad hoc runs (--url) only; for a scenario use --replay-duration");
  check_refused(kScenario + "--rate 10", "field '--rate': applies to ad hoc runs (--url) only; for a scenario use --scale");
  check_refused(kScenario + "--method POST", "field '--method': applies to ad hoc runs (--url) only; a scenario's requests are its flows");
  check_refused(kScenario + "--body x", "field '--body': applies to ad hoc runs (--url) only");
  check_refused(kScenario + "--header 'X-A: b'", "field '--header': applies to ad hoc runs (--url) only");
  check_refused(kScenario + "--url http://127.0.0.1:9/", "field '--url': is given together with a scenario");
}

TEST_CASE("run --url refuses the options of scenario runs, naming what to use instead") {
  check_refused(kAdHoc + "--replay-duration 5s", "field '--replay-duration': applies to scenario runs (run SCENARIO) only; for an ad hoc run use --duration");
  check_refused(kAdHoc + "--scale 2", "field '--scale': applies to scenario runs (run SCENARIO) only; for an ad hoc run use --rate");
  check_refused(kAdHoc + "--window peak_hour", "field '--window': applies to scenario runs (run SCENARIO) only");
  check_refused(kAdHoc + "--year 2027", "field '--year': applies to scenario runs (run SCENARIO) only");
  check_refused(kAdHoc + "--target http://127.0.0.1:9/", "field '--target': applies to scenario runs (run SCENARIO) only; an ad hoc run names its target with --url");
  check_refused(kAdHoc + "--abort-grace 3s", "field '--abort-grace': applies to runs with --abort-on-fail only");
}

TEST_CASE("the other commands refuse options of a form other than the one chosen") {
  check_refused("capacity scenarios/smoke.yaml --method POST", "field '--method': applies to ad hoc searches (--url) only");
  check_refused("capacity scenarios/smoke.yaml --body x", "field '--body': applies to ad hoc searches (--url) only");
  check_refused("capacity scenarios/smoke.yaml --header 'X-A: b'", "field '--header': applies to ad hoc searches (--url) only");
  const std::string search = "capacity --url http://127.0.0.1:9/ --slo 'p99<5ms' ";
  check_refused(search + "--instances 3", "field '--instances': applies to the plan against a scenario's forecast (capacity SCENARIO) only");
  check_refused(search + "--utilisation 0.7", "field '--utilisation': applies to the plan against a scenario's forecast");
  check_refused(search + "--risk 5%", "field '--risk': applies to the plan against a scenario's forecast");
  check_refused(search + "--target http://127.0.0.1:9/", "field '--target': applies to searches of a scenario (capacity SCENARIO) only");
  check_refused("forecast scenarios/smoke.yaml --backtest --years 2023..2024", "field '--years': applies to forecasts of design peaks (without --backtest) only");
  check_refused("schedule scenarios/smoke.yaml --limit 5", "field '--limit': applies to --format csv only");
  for (const char* option : {"--latency-tolerance 20", "--throughput-tolerance 2", "--significance 5", "--force"}) {
    check_refused(std::string("gate results/none ") + option, "applies to comparisons with a baseline (--baseline DIR) only");
  }
  check_refused("serve --tls-cert cert.pem", "field '--tls-cert': applies to HTTPS (--tls) only; add --tls");
  check_refused("serve --tls-key key.pem", "field '--tls-key': applies to HTTPS (--tls) only");
  check_refused("serve --workers 4", "field '--workers': applies to synthetic mode (--service-time ENDPOINT=DIST) only");
}

TEST_CASE("the options of the form chosen are still taken, defaults included") {
  // Each gets past the table of forms and stops later, at something else wrong.
  check_refused("gate results/none --baseline results/none2 --latency-tolerance 20", "results/none");
  check_refused("schedule scenarios/smoke.yaml --format csv --limit 0 --seed 1 --shard 5/2", "field '--shard'");
  check_refused("forecast scenarios/smoke.yaml --years 2023..2024 --format yaml", "field '--format'");
}

TEST_CASE("durations take units on the command line, and a malformed one is refused naming the option and the forms") {
  for (const char* bad : {"'30 s'", "-1s", "1e400s", "nan", "5x", "inf", "0x10"}) {
    INFO(bad);
    check_refused(kAdHoc.substr(0, kAdHoc.find("--duration")) + "--duration " + bad, "field '--duration'");
    check_refused(kAdHoc.substr(0, kAdHoc.find("--duration")) + "--duration " + bad, "500ms, 30s, 5m, 2h or 1d, or a number of seconds");
  }
  check_refused(kAdHoc + "--timeout 5x", "field '--timeout': '5x' is not a duration");
  check_refused(kAdHoc + "--timeout 0s", "field '--timeout': 0s is out of range");
  check_refused(kAdHoc + "--connect-timeout '1 s'", "field '--connect-timeout': '1 s' is not a duration");
  check_refused(kAdHoc + "--lag-bound 10x", "field '--lag-bound': '10x' is not a duration (expected a duration such as 500ms, 30s, 5m, 2h or 1d, or a number of milliseconds)");
  check_refused(kAdHoc + "--lag-bound 2m", "field '--lag-bound': 2m is out of range");
  check_refused(kAdHoc + "--abort-on-fail --abort-grace nan", "field '--abort-grace': 'nan' is not a duration");
  check_refused(kAdHoc.substr(0, kAdHoc.find("--duration")) + "--duration 2d", "field '--duration': 172800s is out of range");
  check_refused(kScenario + "--replay-duration 5x", "field '--replay-duration': '5x' is not a duration");
  const std::string search = "capacity --url http://127.0.0.1:9/ --slo 'p99<5ms' ";
  check_refused(search + "--budget 1e400s", "field '--budget': '1e400s' is not a duration");
  check_refused(search + "--budget 500ms", "field '--budget': '500ms' is shorter than a second");
  check_refused(search + "--step-seconds 500ms", "field '--step-seconds': is below 1 s");
  check_refused(search + "--step-seconds -3", "field '--step-seconds'");
}

TEST_CASE("run SCENARIO's replay overrides are held to the scenario loader's bounds") {
  check_refused(kScenario + "--replay-duration 500ms", "field '--replay-duration': is shorter than 1s (expected a replay of at least 1s)");
  check_refused(kScenario + "--replay-duration 32d", "field '--replay-duration': is too long (expected a run of at most 2678400s (31 days))");
  check_refused(kScenario + "--scale 0", "field '--scale': is 0 (expected a number above 0)");
  check_refused(kScenario + "--scale 1001", "field '--scale': is 1001 (expected a number of at most 1000)");
  check_refused(kScenario + "--scale inf", "field '--scale'");
  check_refused(kScenario + "--scale 1%", "field '--scale': '1%' is not a number");
  check_refused(kScenario + "--window day:2024-02-30", "field '--window': 'day:2024-02-30' is not a valid day");
  check_refused(kScenario + "--window evening", "field '--window': 'evening' is not a window (expected peak_hour, day:YYYY-MM-DD, or FROM..TO");
  check_refused(kScenario + "--window 2024-03-04T10:00..2024-03-04T09:00", "field '--window': '2024-03-04T10:00..2024-03-04T09:00' ends before it starts");
  check_refused(kScenario + "--window 2024-03-04T10:00..noon", "field '--window': '2024-03-04T10:00..noon' is not FROM..TO");
  // Replayed in real time, two months is too long a run; compressed, it is not refused for that.
  check_refused(kScenario + "--window 2024-01-01..2024-03-01", "field '--window': makes the interval, replayed in real time, too long a run");
  check_refused(kScenario + "--year 2024", "field '--year': is given for a window that is not peak_hour");
  check_refused(kScenario + "--window peak_hour --year 2019", "field '--year': 2019 is outside the history and projection (expected a year from 2023 to 2024)");
  // Demand that a run would round to nothing: refused before any load (smoke is 500 requests).
  const auto scratch = cli_test::scratch_folder("cli-command-forms");
  check_refused(kScenario + "--scale 0.0005 --out " + (scratch / "tiny").string(), "field 'replay.from'");
  check_refused(kScenario + "--scale 0.0005 --out " + (scratch / "tiny").string(), "(overridden by --scale 0.0005)");
  CHECK_FALSE(fs::exists(scratch / "tiny"));
}

TEST_CASE("run SCENARIO with replay overrides replays what they say and records them in summary.json") {
  const auto scratch = cli_test::scratch_folder("cli-command-forms-run");
  // smoke's ten seconds at 50/s, compressed into 2 s at a fifth of the scale: about 100 requests
  // at 50/s against the embedded service.
  const auto outcome = cli_test::uptake(kScenario + "--window 2024-03-04T10:00..2024-03-04T10:00:10 --replay-duration 2s --scale 0.2 --lag-bound 1000 --out " +
                                        (scratch / "run").string());
  INFO(outcome.output);
  REQUIRE(outcome.exit_code == 0);
  const auto summary = nlohmann::json::parse(cli_test::read(scratch / "run" / "summary.json"));
  CHECK(summary.at("replay_overridden_by") == "--window 2024-03-04T10:00..2024-03-04T10:00:10 --replay-duration 2s --scale 0.2");
  CHECK(summary.at("schedule_s").get<double>() == Approx(2));
  const auto planned = summary.at("requests").at("planned").get<double>();
  CHECK(planned > 50);  // Poisson of mean 100: well inside 50..150
  CHECK(planned < 150);
}

TEST_CASE("help of run shows the replay overrides with examples") {
  const auto help = cli_test::uptake("run --help");
  CHECK(help.exit_code == 0);
  for (const char* text : {"--replay-duration", "--window", "--year", "--scale", "day:YYYY-MM-DD", "--replay-duration 5m --scale 0.1",
                           "500ms, 30s, 5m, 2h, 1d"}) {
    CHECK_THAT(help.output, Catch::Contains(text));
  }
}

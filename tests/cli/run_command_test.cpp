// `uptake run` as a user meets it: ad hoc open and closed loop against a real reference service
// in this process, the request options reaching the target, HTTP errors counted by class, the
// exit codes of a failed threshold and of a generator behind its schedule, SIGINT's partial
// results, a target that never answers, and a results folder that cannot be written refused
// before any request.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/cli_helpers.hpp"
#include "loopback_listener.hpp"
#include "reference_service.hpp"

namespace fs = std::filesystem;
using cli_test::check_refused;
using cli_test::read;
using cli_test::scratch_folder;

using nlohmann::json;

namespace {

json summary_of(const fs::path& folder) { return json::parse(read(folder / "summary.json")); }

using uptake::test::SilentListener;

// Runs `arguments` in the background, sends SIGINT after `first` seconds (and again after
// `second` more, when given), and returns the exit code and the seconds from the first signal
// to the end.
std::pair<int, double> interrupted_run(const std::string& arguments, double first, std::optional<double> second = std::nullopt) {
  const auto timing = fs::path(UPTAKE_BINARY_DIR) / "tests" / "interrupted-run-seconds";
  const std::string command = fmt::format(
      "{}/cli/uptake {} > /dev/null 2>&1 & pid=$!; sleep {}; kill -INT $pid; from=$(date +%s.%N); {} wait $pid; code=$?; "
      "awk \"BEGIN {{ print $(date +%s.%N) - $from }}\" > {}; exit $code",
      UPTAKE_BINARY_DIR, arguments, first, second ? fmt::format("sleep {}; kill -INT $pid;", *second) : std::string(), timing.string());
  const int status = std::system(command.c_str());
  const double seconds = std::stod(read(timing));
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, seconds};
}

}  // namespace

TEST_CASE("run --url: open loop sends the plan with the given method, headers and body; closed loop runs as fast as its connections") {
  const uptake::test::ReferenceService service("cli-run");
  const auto folder = scratch_folder("run-command-ad-hoc");

  // Issuances: a 201 needs the POST, the JSON content type and a valid body all to arrive.
  const auto issue = cli_test::uptake("run --url " + service.url("/v1/certificates") +
                            " --method POST --header 'Content-Type: application/json' --body '{\"holder\":\"900101-1234567\",\"type\":\"vaccination\"}'"
                            " --rate 100 --duration 2 --lag-bound 1000 --out " + (folder / "issue").string());
  INFO(issue.output);
  CHECK(issue.exit_code == 0);
  const auto open = summary_of(folder / "issue");
  CHECK(open["mode"] == "open_loop");
  // Poisson arrivals at 100/s for 2 s (seeded): about 200, every one sent and answered 201.
  const auto planned = open["requests"]["planned"].get<std::uint64_t>();
  CHECK(planned > 150);
  CHECK(planned < 250);
  CHECK(open["requests"]["sent"] == planned);
  CHECK(open["requests"]["completed"] == planned);
  CHECK(open["requests"]["ok"] == planned);
  CHECK(open["rate"]["planned_rps"].get<double>() == Approx(100).epsilon(0.01));
  CHECK(open["replay"].is_null());  // an ad hoc run replays no window, and says so
  CHECK(fs::exists(folder / "issue" / "report.html"));
  CHECK(fs::exists(folder / "issue" / "report.md"));

  // Closed loop: no schedule, each of 4 connections sends again on each answer.
  const auto closed = cli_test::uptake("run --url " + service.url("/healthz") + " --rate max --connections 4 --duration 1 --out " + (folder / "closed").string());
  CHECK(closed.exit_code == 0);
  const auto ceiling = summary_of(folder / "closed");
  CHECK(ceiling["mode"] == "closed_loop");
  CHECK(ceiling["requests"]["completed"].get<std::uint64_t>() > 100);
  CHECK(ceiling["requests"]["errors"] == 0);
  CHECK(ceiling["connections"]["opened"].get<int>() <= 4);

  // Spin pacing: the same plan, every request sent and answered, and the summary says how it paced.
  const auto spun = cli_test::uptake("run --url " + service.url("/healthz") + " --rate 200 --duration 1 --pacing spin --lag-bound 1000 --out " + (folder / "spin").string());
  CHECK(spun.exit_code == 0);
  const auto spin = summary_of(folder / "spin");
  CHECK(spin["generator"]["pacing"] == "spin");
  CHECK(spin["requests"]["completed"] == spin["requests"]["planned"]);
  CHECK(open["generator"]["pacing"] == "sleep");
  CHECK(open["generator"]["batch_window_ms"] == Approx(0.1));
  check_refused("run --url " + service.url("/healthz") + " --rate 200 --duration 1 --pacing turbo", "field '--pacing'");

  // A wider batch window: every request answered, the window recorded, and the lag within it.
  const auto batched = cli_test::uptake("run --url " + service.url("/healthz") + " --rate 400 --duration 1 --batch-window 1ms --lag-bound 1000 --out " +
                                        (folder / "batched").string());
  CHECK(batched.exit_code == 0);
  CHECK(batched.output.find("sleep pacing, 1000 µs batches") != std::string::npos);
  const auto wide = summary_of(folder / "batched");
  CHECK(wide["generator"]["batch_window_ms"] == Approx(1.0));
  CHECK(wide["requests"]["completed"] == wide["requests"]["planned"]);
  for (const auto* window : {"3ms", "-1ms", "100", "soon"}) {
    check_refused("run --url " + service.url("/healthz") + " --rate 200 --duration 1 --batch-window " + std::string(window), "field '--batch-window'");
  }

  // Answers of 404 are completed requests, counted as http_4xx.
  const auto missing = cli_test::uptake("run --url " + service.url("/v1/no-such-thing") + " --rate 50 --duration 1 --lag-bound 1000 --out " + (folder / "missing").string());
  CHECK(missing.exit_code == 0);
  const auto not_found = summary_of(folder / "missing");
  CHECK(not_found["requests"]["completed"] == not_found["requests"]["planned"]);
  CHECK(not_found["errors"]["http_4xx"] == not_found["requests"]["completed"]);
  CHECK(not_found["requests"]["ok"] == 0);
  CHECK(not_found["error_rate"].get<double>() == Approx(1.0));
}

TEST_CASE("run SCENARIO: summary.json, both reports and the terminal say what the replay stands for") {
  const auto folder = scratch_folder("run-command-replay");
  // tests/cli/replayed-day.yaml: 50 requests per second all year (flat calendar), the local day
  // 2024-03-04 at +09:00 compressed into 4 s (x21600) at scale 0.0001: 2.16x the modelled rate.
  // A surge triples it from 12:00 to 15:00 local (replay seconds 2.0 to 2.5) on top of the year.
  const auto out = folder / "results";
  const auto run = cli_test::uptake("run tests/cli/replayed-day.yaml --lag-bound 1000 --out " + out.string());
  INFO(run.output);
  REQUIRE(run.exit_code == 0);

  const auto summary = summary_of(out);
  const auto& replay = summary["replay"];
  REQUIRE(replay.is_object());
  CHECK(replay["window"] == "day");
  CHECK(replay["year"].is_null());
  CHECK(replay["from"] == "2024-03-03T15:00:00Z");
  CHECK(replay["to"] == "2024-03-04T15:00:00Z");
  CHECK(replay["from_local"] == "2024-03-04T00:00:00+09:00");
  CHECK(replay["to_local"] == "2024-03-05T00:00:00+09:00");
  CHECK(replay["time_zone"] == "+09:00");
  CHECK(replay["duration_s"] == 4.0);
  CHECK(replay["compression"].get<double>() == Approx(21600));
  CHECK(replay["scale"].get<double>() == Approx(0.0001));
  CHECK(replay["combined_factor"].get<double>() == Approx(2.16));
  // The model's figures, worked out by hand: 50/s all day, 150/s for 3 of its 24 hours.
  CHECK(replay["modelled_mean_rps"].get<double>() == Approx(50 * (21 + 3 * 3) / 24.0).epsilon(1e-9));
  CHECK(replay["modelled_peak_rps"].get<double>() == Approx(150).epsilon(1e-9));
  // run rate = real-world rate x compression x scale, from the file alone.
  const double combined = replay["compression"].get<double>() * replay["scale"].get<double>();
  CHECK(replay["replay_mean_rps"].get<double>() == Approx(replay["modelled_mean_rps"].get<double>() * combined).epsilon(1e-12));
  CHECK(replay["replay_peak_rps"].get<double>() == Approx(replay["modelled_peak_rps"].get<double>() * combined).epsilon(1e-12));
  CHECK(replay["replay_mean_rps"].get<double>() == Approx(135).epsilon(1e-9));
  REQUIRE(replay["events"].size() == 1);
  CHECK(replay["events"][0] == json{{"name", "surge"}, {"from", "2024-03-04T03:00:00Z"}, {"to", "2024-03-04T06:00:00Z"}, {"multiplier", 3.0}});
  // The schedule the run drew: 540 arrivals expected (135/s for 4 s); its count is a Poisson
  // draw, within five standard deviations (23) of that.
  const double planned = summary["requests"]["planned"].get<double>();
  CHECK(std::abs(planned - 540) < 5 * std::sqrt(540.0));
  CHECK(summary["rate"]["planned_rps"].get<double>() == Approx(planned / 4));

  const auto sentence =
      "Replays 2024-03-04 00:00–24:00 (+09:00) compressed ×21600 into 4 s at scale 0.0001: 2.16× the modelled real-world rate; "
      "modelled mean 62.50/s and peak 150.0/s real-world ⇒ 135.0/s and 324.0/s planned";
  CHECK_THAT(run.output, Catch::Contains(std::string("  ") + sentence + ".\n"));
  const auto html = read(out / "report.html");
  CHECK_THAT(html, Catch::Contains(std::string("<p class=\"replay\" id=\"replay\">") + sentence + ".</p>"));
  CHECK_THAT(html, Catch::Contains("Events in the window (shaded on the per-second charts): surge ×3 2024-03-04 12:00–15:00"));
  // The band report.js shades: 12:00 to 15:00 local is 2.0 s to 2.5 s into the replay.
  CHECK_THAT(html, Catch::Contains("\"events\":[{\"name\":\"surge ×3\",\"from_s\":2.0,\"to_s\":2.5}]"));
  CHECK_THAT(read(out / "report.md"), Catch::Contains(std::string(sentence) + ".\n"));
}

TEST_CASE("run: exit 1 when a threshold fails, 3 when the generator fell behind its schedule") {
  const uptake::test::ReferenceService service("cli-run");
  const auto folder = scratch_folder("run-command-exit-codes");
  const auto base = "run --url " + service.url("/healthz") + " --rate 50 --duration 1 ";

  // A generous lag bound: on a busy machine one late send among 50 would make the run
  // untrusted (exit 3), and this case is about the threshold.
  const auto failed = cli_test::uptake(base + "--lag-bound 1000 --threshold 'p50<1ns' --threshold 'error_rate<1%' --out " + (folder / "failed").string());
  INFO(failed.output);
  CHECK(failed.exit_code == 1);
  const auto thresholds = summary_of(folder / "failed")["thresholds"];
  REQUIRE(thresholds.size() == 2);
  CHECK(thresholds[0]["expression"] == "p50<1ns");
  CHECK(thresholds[0]["passed"] == false);
  CHECK(thresholds[1]["passed"] == true);
  CHECK_THAT(read(folder / "failed" / "report.md"), Catch::Contains("❌ p50&lt;1ns"));

  // A lag bound of one nanosecond no generator keeps: the run says it measured itself.
  const auto behind = cli_test::uptake(base + "--lag-bound 0.000001 --out " + (folder / "behind").string());
  CHECK(behind.exit_code == 3);
  CHECK_THAT(behind.output, Catch::Contains("UNTRUSTED"));
  CHECK(summary_of(folder / "behind")["generator"]["trusted"] == false);

  check_refused(base + "--threshold 'p99<<3'", "field '--threshold'");
  check_refused(base + "--timeout 0", "field '--timeout'");
  check_refused(base + "--connect-timeout -1", "field '--connect-timeout'");
}

TEST_CASE("run --abort-on-fail: stops once a threshold can no longer hold, writes its results, exits 1") {
  const uptake::test::ReferenceService service("cli-run-abort");
  const auto folder = scratch_folder("run-command-abort");
  // Every answer of /nowhere is a 404: error_rate<1% of 20 s at 50/s can take 9 failures.
  const auto aborted = cli_test::uptake("run --url " + service.url("/nowhere") + " --rate 50 --duration 20 --lag-bound 1000 --abort-on-fail --abort-grace 1 " +
                                        "--threshold 'error_rate<1%' --out " + (folder / "aborted").string());
  INFO(aborted.output);
  CHECK(aborted.exit_code == 1);
  CHECK_THAT(aborted.output, Catch::Contains("ABORTED") && Catch::Contains("error_rate<1% can no longer hold"));
  const auto summary = summary_of(folder / "aborted");
  CHECK(summary["aborted"]["threshold"] == "error_rate<1%");
  CHECK(summary["aborted"]["at_s"].get<double>() < 5);
  CHECK(summary["interrupted"] == false);
  CHECK(summary["trust"]["trusted"] == true);  // the verdict is sure: a fail, not an untrusted run
  CHECK(summary["requests"]["sent"].get<std::uint64_t>() < 300);
  CHECK(summary["requests"]["planned"].get<std::uint64_t>() > 800);  // the unsent rest still counts as planned
  CHECK_THAT(read(folder / "aborted" / "report.md"), Catch::Contains("aborted at"));
  // A later gate, without the run's --threshold, fails it too: the rest of it was never sent.
  const auto gate = cli_test::uptake("gate " + (folder / "aborted").string());
  INFO(gate.output);
  CHECK(gate.exit_code == 1);
  CHECK_THAT(gate.output, Catch::Contains("error_rate<1% (run aborted)"));
  // Thresholds that still can hold do not stop a run.
  const auto healthy = cli_test::uptake("run --url " + service.url("/healthz") + " --rate 50 --duration 3 --lag-bound 1000 --abort-on-fail --abort-grace 0 " +
                                        "--threshold 'error_rate<1%' --out " + (folder / "healthy").string());
  INFO(healthy.output);
  CHECK(healthy.exit_code == 0);
  CHECK(summary_of(folder / "healthy")["aborted"].is_null());
  check_refused("run --url " + service.url("/healthz") + " --rate max --duration 1 --abort-on-fail", "field '--abort-on-fail'");
}

TEST_CASE("run: a results folder that cannot be written is refused before any request") {
  const auto folder = scratch_folder("run-command-out");
  std::ofstream(folder / "a-file") << "not a folder\n";
  check_refused("run --url http://127.0.0.1:1/ --rate 10 --duration 1 --out " + (folder / "a-file" / "results").string(), "is not a folder");
  CHECK_FALSE(fs::exists(folder / "a-file" / "results"));
}

TEST_CASE("run: against a target that never answers, requests that waited out the timeout fail unsent and the results read back") {
  const SilentListener silent;
  const auto folder = scratch_folder("run-command-silent") / "results";
  const auto run = cli_test::uptake("run --url " + silent.url + " --rate 50 --duration 2 --connections 1 --timeout 0.3 --lag-bound 1000 --out " + folder.string());
  INFO(run.output);
  CHECK(run.exit_code == 3);  // nothing about the target was measured
  CHECK_THAT(run.output, Catch::Contains("answered none"));
  const auto summary = summary_of(folder);
  const auto& requests = summary["requests"];
  const auto waited_out = summary["errors"]["wait_timeout"].get<std::uint64_t>();
  CHECK(waited_out > 40);
  CHECK(summary["errors"]["timeout"] == requests["sent"]);
  CHECK(requests["planned"].get<std::uint64_t>() == requests["sent"].get<std::uint64_t>() + waited_out);
  CHECK(requests["errors"] == requests["planned"]);
  CHECK(summary["error_rate"] == 1.0);  // every attempt failed, sent or not: a share, never above 1
  // timeseries.csv counts the unsent failures in their seconds too: report checks that its rows
  // add up to summary.json.
  const auto report = cli_test::uptake("report " + folder.string());
  INFO(report.output);
  CHECK(report.exit_code == 0);
}


TEST_CASE("run: SIGINT stops sending, drains, and leaves partial results that say so everywhere; run and gate exit 3") {
  const auto folder = scratch_folder("run-command-sigint");
  const auto partial_folder = folder / "partial";
  // What the whole schedule plans: the interrupted run must still count all of it as planned.
  const auto schedule = cli_test::uptake("schedule scenarios/smoke.yaml --format csv");
  REQUIRE(schedule.exit_code == 0);
  const auto scheduled = static_cast<std::uint64_t>(std::count(schedule.output.begin(), schedule.output.end(), '\n')) - 1;
  REQUIRE(scheduled > 400);
  // Interrupted after about a second of a ten-second run against the embedded service.
  const auto [code, seconds] = interrupted_run("run scenarios/smoke.yaml --lag-bound 1000 --out " + partial_folder.string(), 1.5);
  CHECK(code == 3);  // partial results are never green
  CHECK(seconds < 3);
  const auto partial = summary_of(partial_folder);
  CHECK(partial["interrupted"] == true);
  CHECK_FALSE(cli_test::has_partial_left(partial_folder / "summary.json"));
  const auto& requests = partial["requests"];
  const auto planned = requests["planned"].get<std::uint64_t>(), sent = requests["sent"].get<std::uint64_t>();
  const auto completed = requests["completed"].get<std::uint64_t>();
  CHECK(completed > 0);
  CHECK(planned == scheduled);  // planned-but-unsent requests keep counting as planned
  CHECK(sent < planned / 2);
  CHECK(completed <= sent);
  CHECK(partial["rate"]["achieved_ratio"].get<double>() < 0.5);
  CHECK(partial["latency_ms"]["count"] == completed);
  CHECK(partial["trust"]["trusted"] == false);
  CHECK_THAT(partial["trust"]["reason"].get<std::string>(), Catch::Contains("interrupted"));
  // It says so in every file a person or a CI system reads.
  CHECK_THAT(read(partial_folder / "report.md"), Catch::Contains("interrupted"));
  CHECK_THAT(read(partial_folder / "report.html"), Catch::Contains("interrupted"));
  const auto junit = read(partial_folder / "junit.xml");
  CHECK_THAT(junit, Catch::Contains("type=\"untrusted\""));
  CHECK_THAT(junit, Catch::Contains("interrupted"));
  // The folder reads back whole: report checks that latency.hlog's total equals `completed`.
  const auto report = cli_test::uptake("report " + partial_folder.string());
  INFO(report.output);
  CHECK(report.exit_code == 0);
  // The gate does not pass it, unless partial results are explicitly allowed.
  const auto gate = cli_test::uptake("gate " + partial_folder.string());
  INFO(gate.output);
  CHECK(gate.exit_code == 3);
  CHECK_THAT(gate.output, Catch::Contains("interrupted"));
  CHECK(cli_test::uptake("gate --allow-partial " + partial_folder.string()).exit_code == 0);
}

TEST_CASE("run: a first SIGINT drains for at most about two seconds, a second ends the run at once", "[timing]") {
  // Every request goes to a target that never answers, with a 30-second timeout: a drain that
  // waited for the timeout would take 30 s.
  const SilentListener silent;
  const auto folder = scratch_folder("run-command-drain");
  const auto base = "run --url " + silent.url + " --rate 50 --duration 20 --timeout 30 --lag-bound 1000 ";
  const auto [drained_code, drained_seconds] = interrupted_run(base + "--out " + (folder / "drained").string(), 1);
  CHECK(drained_code == 3);
  CHECK(drained_seconds < 4.5);
  const auto drained = summary_of(folder / "drained");
  CHECK(drained["interrupted"] == true);
  CHECK(drained["requests"]["sent"].get<std::uint64_t>() > drained["requests"]["completed"].get<std::uint64_t>());  // abandoned in flight

  // A stop while waiting for --start-at ends the wait: the run starts, stops, and says so.
  const auto start_at = std::to_string(std::time(nullptr) + 60);
  const auto [waiting_code, waiting_seconds] = interrupted_run(base + "--start-at " + start_at + " --out " + (folder / "waiting").string(), 1);
  CHECK(waiting_code == 3);
  CHECK(waiting_seconds < 4.5);
  CHECK(summary_of(folder / "waiting")["requests"]["sent"] == 0);

  const auto [ended_code, ended_seconds] = interrupted_run(base + "--out " + (folder / "ended").string(), 1, 0.3);
  CHECK(ended_code == 3);
  CHECK(ended_seconds < 1.5);
  CHECK_FALSE(fs::exists(folder / "ended" / "summary.json"));  // nothing half-written
}

TEST_CASE("run: a SIGINT during a scenario's warm-up against a silent target stops at once too", "[timing]") {
  // smoke.yaml captures from its issuances, so the run warms up first; the target never answers
  // and the timeout is 30 s: a warm-up that waited for it would take 35 s.
  const SilentListener silent;
  const auto folder = scratch_folder("run-command-warm-up-stop");
  const auto base = "run scenarios/smoke.yaml --target " + silent.url + " --timeout 30 --lag-bound 1000 ";
  const auto [stopped_code, stopped_seconds] = interrupted_run(base + "--out " + (folder / "stopped").string(), 1);
  CHECK(stopped_code == 3);
  CHECK(stopped_seconds < 4.5);
  CHECK(summary_of(folder / "stopped")["interrupted"] == true);
  const auto [ended_code, ended_seconds] = interrupted_run(base + "--out " + (folder / "ended").string(), 1, 0.3);
  CHECK(ended_code == 3);
  CHECK(ended_seconds < 1.5);
}

TEST_CASE("gate --baseline on real runs: an identical rerun passes, a 20% slower service fails", "[timing]") {
  // The reference service in synthetic mode: verify is an M/M/4 station whose service time is
  // an exponential wait, so the service time is the target's and not the machine's noise.
  auto synthetic = [](const char* mean) {
    uptake::ecert::ServiceConfig service;
    std::string problem;
    const auto distribution = uptake::ecert::ServiceTimeDistribution::parse(std::string("exp:") + mean, problem);
    REQUIRE(distribution);
    service.synthetic = {{"verify", *distribution}};
    service.workers = 4;
    service.seed = 20261202;
    return service;
  };
  const auto folder = scratch_folder("run-command-baseline");
  auto run_against = [&](const uptake::test::ReferenceService& service, const std::string& name) {
    const auto outcome = cli_test::uptake("run --url " + service.url("/v1/verify") +
                                          " --method POST --header 'Content-Type: application/json' --body '{\"credential\":\"x\"}' --rate 300 --duration 16 --out " +
                                          (folder / name).string());
    INFO(outcome.output);
    REQUIRE(outcome.exit_code == 0);
  };
  {
    const uptake::test::ReferenceService service("cli-baseline", synthetic("4ms"));
    run_against(service, "baseline");
    run_against(service, "rerun");
  }
  {
    const uptake::test::ReferenceService slower("cli-baseline-slower", synthetic("4.8ms"));
    run_against(slower, "slower");
  }
  const auto rerun = cli_test::uptake("gate " + (folder / "rerun").string() + " --baseline " + (folder / "baseline").string());
  INFO(rerun.output);
  CHECK(rerun.exit_code == 0);
  const auto slower = cli_test::uptake("gate " + (folder / "slower").string() + " --baseline " + (folder / "baseline").string());
  INFO(slower.output);
  CHECK(slower.exit_code == 1);
  CHECK_THAT(slower.output, Catch::Contains("a regression beyond the allowed +10%"));
}

// uptake gate and uptake merge as CI meets them: exit codes 0, 1, 2 and 3, junit.xml, and the
// messages that name what was wrong.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_helpers.hpp"
#include "reports/synthetic_run.hpp"

namespace fs = std::filesystem;
using cli_test::check_refused;
using cli_test::read;

namespace {

// issue 1..200 ms, verify 0.5..50 ms, one timeout of 301: the recorded SLO p99<250ms and
// error_rate<1% both hold.
uptake::test::SyntheticRun good_run(std::uint32_t shard = 0, std::uint32_t shards = 1) {
  auto run = uptake::test::synthetic_run({{"issue", uptake::test::one_to(200), 1}, {"verify", uptake::test::one_to(100, 0.5), 0}});
  run.context.slo = {"p99<250ms", "error_rate<1%"};
  run.context.shard = {shard, shards};
  return run;
}

fs::path write(const uptake::test::SyntheticRun& run, const fs::path& folder) {
  run.write(folder.string());
  return folder;
}

}  // namespace

TEST_CASE("gate: 0 when every check passes, 1 when one fails, with junit.xml either way") {
  const auto scratch = cli_test::scratch_folder("cli-results-scratch");
  const auto folder = write(good_run(), scratch / "run");

  const auto pass = cli_test::uptake("gate " + folder.string());
  INFO(pass.output);
  CHECK(pass.exit_code == 0);
  CHECK_THAT(pass.output, Catch::Contains("p99<250ms") && Catch::Contains("PASS: 2 checks passed"));
  CHECK_THAT(read(folder / "junit.xml"), Catch::Contains("<testsuite name=\"thresholds\" tests=\"2\" failures=\"0\""));

  const auto junit = scratch / "reports" / "junit.xml";
  fs::create_directories(junit.parent_path());
  const auto fail = cli_test::uptake("gate " + folder.string() + " --threshold 'issue.p90<100ms' --threshold 'verify.p90<100ms' --junit " + junit.string());
  INFO(fail.output);
  CHECK(fail.exit_code == 1);
  CHECK_THAT(fail.output, Catch::Contains("FAIL: 1 of 4 checks failed"));
  CHECK_THAT(fail.output, Catch::Contains("endpoint 'issue': p90 response time was 180.093 ms") && Catch::Contains("which breaks issue.p90<100ms"));
  CHECK_THAT(read(junit), Catch::Contains("<testsuite name=\"thresholds\" tests=\"4\" failures=\"1\""));

  // A baseline twice as fast, over runs long enough to tell: every latency percentile regressed.
  auto long_run = [](double scale) {
    auto run = uptake::test::synthetic_run({{"issue", uptake::test::one_to(40'000, 0.005 * scale), 1}, {"verify", uptake::test::one_to(40'000, 0.0025 * scale), 0}}, 20);
    run.context.slo = {"p99<250ms", "error_rate<1%"};
    return run;
  };
  const auto candidate = write(long_run(1.0), scratch / "candidate");
  const auto baseline = write(long_run(0.5), scratch / "baseline");
  const auto regressed = cli_test::uptake("gate " + candidate.string() + " --baseline " + baseline.string());
  INFO(regressed.output);
  CHECK(regressed.exit_code == 1);
  CHECK_THAT(regressed.output, Catch::Contains("a regression beyond the allowed +10%") && Catch::Contains("against baseline"));
  CHECK(cli_test::uptake("gate " + candidate.string() + " --baseline " + baseline.string() + " --latency-tolerance 101%").exit_code == 0);
  CHECK(cli_test::uptake("gate " + candidate.string() + " --baseline " + candidate.string()).exit_code == 0);
  // The short runs: the same doubling, but too few seconds to tell it from noise: '~', and a pass.
  auto faster = uptake::test::synthetic_run({{"issue", uptake::test::one_to(200, 0.5), 1}, {"verify", uptake::test::one_to(100, 0.25), 0}});
  const auto short_baseline = write(faster, scratch / "short-baseline");
  const auto inconclusive = cli_test::uptake("gate " + folder.string() + " --baseline " + short_baseline.string());
  CHECK(inconclusive.exit_code == 0);
  CHECK_THAT(inconclusive.output, Catch::Contains("~ too few"));
  // Runs of different kinds are not compared, unless forced.
  auto other = good_run();
  other.context.scenario = "another scenario";
  const auto other_folder = write(other, scratch / "other-kind");
  check_refused("gate " + folder.string() + " --baseline " + other_folder.string(), "field 'scenario': is 'synthetic', but the baseline's");
  CHECK(cli_test::uptake("gate " + folder.string() + " --baseline " + other_folder.string() + " --force").exit_code == 0);
  check_refused("gate " + folder.string() + " --baseline " + folder.string() + " --significance 60", "field '--significance'");

  const auto help = cli_test::uptake("gate --help");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.output, Catch::Contains("Examples:"));
}

TEST_CASE("gate: 3 when the run cannot be trusted") {
  const auto scratch = cli_test::scratch_folder("cli-results-scratch");
  auto behind = good_run();
  behind.verdict = {true, "the generator fell behind its schedule: schedule lag p99 31 ms"};
  const auto late = write(behind, scratch / "late");
  const auto untrusted = cli_test::uptake("gate " + late.string());
  CHECK(untrusted.exit_code == 3);
  CHECK_THAT(untrusted.output, Catch::Contains("UNTRUSTED: the generator fell behind"));
  CHECK_THAT(read(late / "junit.xml"), Catch::Contains("<error message=\"the generator fell behind"));

  const auto down = write(uptake::test::synthetic_run({{"issue", {}, 25}}), scratch / "down");
  const auto unreachable = cli_test::uptake("gate " + down.string());
  CHECK(unreachable.exit_code == 3);
  CHECK_THAT(unreachable.output, Catch::Contains("answered none of 25 requests"));
}

TEST_CASE("gate: 2 for bad input, naming what was wrong") {
  const auto scratch = cli_test::scratch_folder("cli-results-scratch");
  const auto folder = write(good_run(), scratch / "run");
  check_refused("gate", "dir");
  check_refused("gate " + (scratch / "nowhere").string(), "nowhere: is not a folder");
  check_refused("gate " + folder.string() + " --threshold 'p99<300'", "not a duration");
  check_refused("gate " + folder.string() + " --threshold 'sign.p99<1s'", "names no endpoint 'sign'");
  check_refused("gate " + folder.string() + " --baseline " + (scratch / "nowhere").string(), "is not a folder");
  check_refused("gate " + folder.string() + " --baseline " + folder.string() + " --latency-tolerance lots", "'lots' is not a percentage");

  std::ofstream(folder / "summary.json", std::ios::trunc) << "{\"schema\": \"uptake.summary/v1\", \"scen";
  check_refused("gate " + folder.string(), (folder / "summary.json").string() + ":1:");
  CHECK_FALSE(fs::exists(folder / "junit.xml"));
}

TEST_CASE("merge: joins shards, judges the whole, and refuses what is not one run") {
  const auto scratch = cli_test::scratch_folder("cli-results-scratch");
  const auto shard0 = write(good_run(0, 2), scratch / "shard-0");
  const auto shard1 = write(good_run(1, 2), scratch / "shard-1");
  const auto out = scratch / "merged";

  const auto merged = cli_test::uptake("merge " + shard0.string() + " " + shard1.string() + " --out " + out.string());
  INFO(merged.output);
  CHECK(merged.exit_code == 0);
  CHECK_THAT(merged.output, Catch::Contains("602 planned, 600 completed, 2 errors"));
  CHECK_THAT(merged.output, Catch::Contains("PASS: 2 checks passed"));
  const auto summary = read(out / "summary.json");
  CHECK_THAT(summary, Catch::Contains("\"shard\": \"merged\""));
  CHECK_THAT(summary, Catch::Contains("\"expression\": \"p99<250ms\""));  // thresholds[] filled
  CHECK(cli_test::uptake("gate " + out.string()).exit_code == 0);

  // A threshold that the merged whole breaks: exit 1.
  CHECK(cli_test::uptake("merge " + shard0.string() + " " + shard1.string() + " --out " + (scratch / "strict").string() + " --threshold 'p50<10ms'").exit_code == 1);

  // One shard of two: partial, so untrusted (exit 3), and so is its gate, unless allowed.
  const auto partial = cli_test::uptake("merge " + shard0.string() + " --out " + (scratch / "partial").string());
  INFO(partial.output);
  CHECK(partial.exit_code == 3);
  CHECK_THAT(partial.output, Catch::Contains("shard(s) 1 of 2 are missing"));
  const auto partial_summary = nlohmann::json::parse(read(scratch / "partial" / "summary.json"));
  CHECK(partial_summary["shards_missing"] == nlohmann::json::array({1}));
  CHECK(partial_summary["merged_from"].size() == 1);
  CHECK(partial_summary["trust"]["trusted"] == false);
  CHECK(cli_test::uptake("gate " + (scratch / "partial").string()).exit_code == 3);
  CHECK(cli_test::uptake("gate --allow-partial " + (scratch / "partial").string()).exit_code == 0);
  const auto allowed = cli_test::uptake("merge " + shard0.string() + " --allow-missing --out " + (scratch / "allowed").string());
  INFO(allowed.output);
  CHECK(allowed.exit_code == 0);
  CHECK_THAT(allowed.output, Catch::Contains("PARTIAL (allowed): shard(s) 1 of 2 are missing"));
  CHECK(nlohmann::json::parse(read(scratch / "allowed" / "summary.json"))["trust"]["partial_allowed"] == true);
  const auto report = cli_test::uptake("report " + (scratch / "allowed").string());
  CHECK(report.exit_code == 0);
  CHECK_THAT(read(scratch / "allowed" / "report.md"), Catch::Contains("partial results, allowed: shard(s) 1 of 2 are missing"));

  // A shard whose target answered nothing (one pod that could not reach the service) makes the
  // whole untrusted, though the merged total has answers from the other.
  auto unreachable = uptake::test::synthetic_run({{"issue", {}, 25}, {"verify", {}, 0}});
  unreachable.context.slo = {"p99<250ms", "error_rate<1%"};
  unreachable.context.shard = {1, 2};
  const auto down = write(unreachable, scratch / "down");
  const auto with_down = cli_test::uptake("merge " + shard0.string() + " " + down.string() + " --out " + (scratch / "with-down").string());
  INFO(with_down.output);
  CHECK(with_down.exit_code == 3);
  CHECK_THAT(with_down.output, Catch::Contains("answered none of 25 requests"));
  // --allow-missing excuses missing shards only, not an interrupted one.
  auto stopped = good_run(1, 2);
  stopped.result.interrupted = true;
  const auto interrupted = write(stopped, scratch / "interrupted");
  CHECK(cli_test::uptake("merge " + shard0.string() + " " + interrupted.string() + " --allow-missing --out " + (scratch / "with-interrupted").string()).exit_code == 3);
  CHECK(cli_test::uptake("gate --allow-partial " + (scratch / "with-interrupted").string()).exit_code == 0);

  // An untrusted shard makes the whole untrusted: exit 3.
  auto behind = good_run(1, 2);
  behind.verdict = {true, "schedule lag p99 31 ms"};
  const auto late = write(behind, scratch / "late");
  CHECK(cli_test::uptake("merge " + shard0.string() + " " + late.string() + " --out " + (scratch / "untrusted").string()).exit_code == 3);

  check_refused("merge " + shard0.string() + " " + shard0.string() + " --out " + (scratch / "twice").string(), "the same shard twice");
  auto reseeded = good_run(1, 2);
  reseeded.context.seed = 99;
  const auto other = write(reseeded, scratch / "other-seed");
  check_refused("merge " + shard0.string() + " " + other.string() + " --out " + (scratch / "mixed").string(),
                (other / "summary.json").string() + ": field 'seed': is 99");
  check_refused("merge " + shard0.string(), "--out");
  // An output folder that cannot be made is bad input (exit 2), not an untrusted run.
  std::ofstream(scratch / "a-file") << "not a folder\n";
  check_refused("merge " + shard0.string() + " " + shard1.string() + " --out " + (scratch / "a-file" / "merged").string(), "a-file is not a folder");
  check_refused("merge --out " + (scratch / "none").string(), "no shard folders");
  CHECK_FALSE(fs::exists(scratch / "twice"));
  CHECK_FALSE(fs::exists(scratch / "mixed"));

  const auto help = cli_test::uptake("merge --help");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.output, Catch::Contains("Examples:"));
}

TEST_CASE("a results folder belongs to one run: another run's files are refused, or removed with --force") {
  const auto scratch = cli_test::scratch_folder("cli-results-stale");
  const auto shard0 = write(good_run(0, 1), scratch / "shard-0");
  const auto out = scratch / "merged";
  REQUIRE(cli_test::uptake("merge " + shard0.string() + " --out " + out.string()).exit_code == 0);
  // A stale file of another run, such as another scenario's demand, must not reach a report.
  std::ofstream(out / "forecast.json") << "{\"schema\": \"uptake.forecast/v1\", \"series\": []}\n";
  std::ofstream(out / "notes.txt") << "the user's own file\n";
  check_refused("merge " + shard0.string() + " --out " + out.string(), "already holds the results of another run (summary.json, timeseries.csv, latency.hlog, forecast.json, junit.xml)");
  check_refused("run --url http://127.0.0.1:1/ --rate 10 --duration 1 --out " + out.string(), "--force");
  const auto forced = cli_test::uptake("merge " + shard0.string() + " --out " + out.string() + " --force");
  INFO(forced.output);
  CHECK(forced.exit_code == 0);
  CHECK_FALSE(fs::exists(out / "forecast.json"));  // the synthetic shard has none: the stale one is gone
  CHECK(fs::exists(out / "notes.txt"));            // only uptake's own files are removed
  CHECK(fs::exists(out / "summary.json"));
  // A file that only shares a name with uptake's (a project's own junit.xml, with --out .) is
  // not uptake's to remove, even with --force.
  std::ofstream(out / "junit.xml", std::ios::trunc) << "<testsuites name=\"the project's own tests\"/>\n";
  check_refused("merge " + shard0.string() + " --out " + out.string() + " --force", "junit.xml: field '--out': was not written by uptake");
  CHECK(fs::exists(out / "junit.xml"));
  CHECK(fs::exists(out / "summary.json"));  // refused before anything was removed
}

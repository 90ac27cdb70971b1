// Thresholds pass and fail as written, baselines catch regressions beyond their tolerance, the
// gate's exit code follows the contract, and junit.xml has the structure CI systems read.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "reports/synthetic_run.hpp"
#include "temporary_directory.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/summary.hpp"
#include "uptake/reports/baseline.hpp"
#include "uptake/reports/gate.hpp"
#include "uptake/reports/junit.hpp"
#include "uptake/reports/threshold_check.hpp"

using namespace uptake;
namespace fs = std::filesystem;

namespace {

// A results folder written and read back, removed with the object.
struct Folder {
  test::TemporaryDirectory directory{"gate"};
  reports::RunResults results;
  explicit Folder(const test::SyntheticRun& run) {
    run.write(directory.path().string());
    results = reports::read_results(directory.path());
  }
};

// issue: 1..200 ms and 2 timeouts of 202 (1% errors); verify: 0.5..50 ms.
// Its recorded SLO: p99<250ms and error_rate<1%, both met.
test::SyntheticRun standard_run(double slowdown = 1.0) {
  auto run = test::synthetic_run({{"issue", test::one_to(200, slowdown), 2}, {"verify", test::one_to(100, 0.5 * slowdown), 0}});
  run.context.slo = {"p99<250ms", "error_rate<1%"};
  return run;
}

reports::CheckResult judge(const std::string& expression, const reports::RunResults& run) {
  const auto thresholds = reports::thresholds_for(run, {expression});
  return reports::check_threshold(thresholds.back(), run);
}

}  // namespace

TEST_CASE("thresholds pass and fail as written") {
  const Folder run(standard_run());
  struct Case {
    const char* expression;
    bool passes;
  };
  // HdrHistogram keeps 3 significant digits: issue's p99, the 198th of 200, reads as 198.050 ms.
  for (const auto& [expression, passes] : std::initializer_list<Case>{{"issue.p99<200ms", true},
                                                                      {"issue.p99<198ms", false},
                                                                      {"issue.p50<=101ms", true},
                                                                      {"issue.p50<99ms", false},
                                                                      {"verify.max<51ms", true},
                                                                      {"verify.max<49ms", false},
                                                                      {"verify.mean<26ms", true},
                                                                      {"verify.mean<25ms", false},
                                                                      {"p999<201ms", true},
                                                                      {"p999<1ms", false},
                                                                      {"error_rate<1%", true},     // 2 of 302 sent: 0.66%
                                                                      {"error_rate<0.5%", false},
                                                                      {"issue.error_rate<1%", true},  // 2 of 202: 0.99%
                                                                      {"issue.error_rate<0.9%", false},
                                                                      {"verify.error_rate<=0", true},
                                                                      {"achieved_ratio>0.99", true},  // 300 of 302
                                                                      {"achieved_ratio>0.995", false},
                                                                      {"rps>=100", true},  // 300 in 3 s
                                                                      {"rps>100", false},
                                                                      {"verify.rps>33", true},
                                                                      {"verify.rps>34", false}}) {
    const auto verdict = judge(expression, run.results);
    INFO(expression << ": " << verdict.message);
    CHECK(verdict.passed == passes);
    CHECK_THAT(verdict.message, Catch::Contains(passes ? "which meets" : "which breaks"));
    REQUIRE(verdict.entry);
    CHECK(verdict.entry->expression == expression);
  }
  const auto p99 = judge("issue.p99<200ms", run.results);
  CHECK(p99.observed == "198.050 ms");
  CHECK(p99.expected == "< 200.000 ms");
  REQUIRE(p99.entry->observed);
  CHECK(*p99.entry->observed == Approx(0.19805).epsilon(1e-5));
  CHECK(p99.entry->endpoint == "issue");
  CHECK(p99.entry->metric == "p99");
  CHECK(p99.entry->comparison == "<");
  CHECK(p99.entry->unit == "s");
}

TEST_CASE("the run's recorded SLO comes first; bad or unknown thresholds are input errors") {
  const Folder run(standard_run());
  const auto thresholds = reports::thresholds_for(run.results, {"verify.p90<1s"});
  REQUIRE(thresholds.size() == 3);
  CHECK(thresholds[0].text == "p99<250ms");
  CHECK(thresholds[1].text == "error_rate<1%");
  CHECK(thresholds[2].text == "verify.p90<1s");
  CHECK_THROWS_WITH(reports::thresholds_for(run.results, {"p99<300"}), Catch::Contains("--threshold") && Catch::Contains("not a duration"));
  CHECK_THROWS_WITH(reports::thresholds_for(run.results, {"sign.p99<1s"}), Catch::Contains("names no endpoint 'sign'") && Catch::Contains("issue, verify"));
}

TEST_CASE("achieved_ratio counts the answers within the schedule, as a capacity step does") {
  // 100 planned in a 3 s schedule: 90 answered within it, 10 only in the drain after it.
  test::SyntheticEndpoint endpoint{"issue", test::one_to(100), 0};
  for (std::size_t i = 0; i < 100; ++i) endpoint.completion_seconds.push_back(i < 90 ? i % 3 : 3);
  auto run = test::synthetic_run({endpoint}, 4);
  run.result.schedule_seconds = 3;
  const Folder folder(run);
  CHECK(folder.results.summary.rate.achieved_ratio == Approx(0.9));
  const auto verdict = judge("achieved_ratio>0.95", folder.results);
  CHECK_FALSE(verdict.passed);
  CHECK(verdict.entry->observed.value() == Approx(0.9));
  CHECK(judge("issue.achieved_ratio>=0.9", folder.results).passed);
}

TEST_CASE("a latency threshold on an endpoint that completed nothing fails") {
  const Folder run(test::synthetic_run({{"issue", test::one_to(10), 0}, {"verify", {}, 5}}));
  const auto verdict = judge("verify.p99<1s", run.results);
  CHECK_FALSE(verdict.passed);
  CHECK(verdict.observed == "no responses");
  CHECK_FALSE(verdict.entry->observed);
}

namespace {

// As standard_run, over 20 seconds with 40,000 responses an endpoint: enough blocks of seconds
// for replicates of every compared percentile, p99.9 included (responses_per_block).
test::SyntheticRun replicated_run(double slowdown = 1.0) {
  auto run = test::synthetic_run({{"issue", test::one_to(40'000, 0.005 * slowdown), 2}, {"verify", test::one_to(40'000, 0.00125 * slowdown), 0}}, 20);
  run.context.slo = {"p99<250ms", "error_rate<1%"};
  return run;
}

}  // namespace

TEST_CASE("baseline: significant regressions beyond the tolerance fail, within it pass") {
  const Folder baseline(replicated_run());
  const Folder same(replicated_run());
  const Folder slower(replicated_run(1.25));
  const reports::BaselineTolerances defaults;
  CHECK(defaults.latency_increase == Approx(0.10));
  CHECK(defaults.throughput_decrease == Approx(0.05));

  const auto unchanged = reports::compare_with_baseline(same.results, baseline.results, defaults);
  REQUIRE(unchanged.size() == 3 * 4 + 1);  // (total, issue, verify) x (p50, p90, p99, p999), throughput
  for (const auto& check : unchanged) {
    INFO(check.name << ": " << check.message);
    CHECK(check.passed);
    CHECK_FALSE(check.skipped);
  }
  const auto regressed = reports::compare_with_baseline(slower.results, baseline.results, defaults);
  for (const auto& check : regressed) {
    INFO(check.name << ": " << check.message);
    CHECK(check.passed == (check.name == "throughput"));  // 25% slower, same throughput
  }
  CHECK(regressed[2].name == "p99");
  CHECK_THAT(regressed[2].message, Catch::Contains("a regression beyond the allowed +10%") && Catch::Contains("over 10 against 10 replicates"));
  CHECK_THAT(regressed[2].significance, Catch::StartsWith("p="));
  CHECK(regressed[2].detail["significant"] == true);
  CHECK(regressed[2].detail["shift_ratio"].get<double>() == Approx(1.25).epsilon(0.01));

  // The same 25% on runs of a few seconds: too few replicates to tell it from noise, so it is
  // not called a regression, and the table says why.
  const Folder short_baseline(standard_run()), short_slower(standard_run(1.25));
  for (const auto& check : reports::compare_with_baseline(short_slower.results, short_baseline.results, defaults)) {
    INFO(check.name << ": " << check.message);
    CHECK(check.passed);
    if (check.name != "throughput") CHECK(check.significance == "~ too few");
  }

  reports::BaselineTolerances loose;
  loose.latency_increase = 0.30;
  for (const auto& check : reports::compare_with_baseline(slower.results, baseline.results, loose)) CHECK(check.passed);

  // Throughput: a third of the requests in the same time is a regression.
  const Folder fewer(test::synthetic_run({{"issue", test::one_to(66), 0}, {"verify", test::one_to(34, 0.5), 0}}));
  const auto throughput = reports::compare_with_baseline(fewer.results, baseline.results, defaults).back();
  CHECK(throughput.name == "throughput");
  CHECK_FALSE(throughput.passed);
}

TEST_CASE("baseline: a capacity search's capacity may fall by the throughput tolerance at most") {
  // Two capacity results: the same run files, with summary.json's capacity.rps set as `uptake
  // capacity` writes it.
  auto capacity_folder = [](double rps) {
    auto folder = std::make_unique<Folder>(standard_run());
    loadgen::update_summary_file(folder->directory.path(), [&](loadgen::Summary& summary) {
      summary.capacity = nlohmann::ordered_json{{"outcome", "found"}, {"rps", rps}};
    });
    folder->results = reports::read_results(folder->directory.path());
    return folder;
  };
  const auto baseline = capacity_folder(1000);
  auto capacity_check = [&](double rps) {
    const auto checks = reports::compare_with_baseline(capacity_folder(rps)->results, baseline->results, {});
    REQUIRE(checks.back().name == "capacity");
    return checks.back();
  };
  CHECK(capacity_check(960).passed);       // -4%: within -5%
  const auto fell = capacity_check(940);   // -6%
  CHECK_FALSE(fell.passed);
  CHECK_THAT(fell.message, Catch::Contains("the capacity search found 940"));
  CHECK(fell.detail["metric"] == "capacity_rps");
  // A run without a capacity search is not compared on capacity.
  const Folder plain(standard_run());
  CHECK(reports::compare_with_baseline(plain.results, baseline->results, {}).back().name == "throughput");
}

TEST_CASE("baseline: endpoints only one run had are skipped, not failed") {
  const Folder baseline(standard_run());
  const Folder renamed(test::synthetic_run({{"issue", test::one_to(200), 2}, {"check", test::one_to(100), 0}}));
  const auto checks = reports::compare_with_baseline(renamed.results, baseline.results, {});
  std::size_t skipped = 0;
  for (const auto& check : checks) skipped += check.skipped ? 1 : 0;
  CHECK(skipped == 2);
  CHECK_THAT(checks.back().message, Catch::Contains("'verify' of the baseline is not in this run"));
}

TEST_CASE("the gate's exit code: 0 pass, 1 fail, 3 untrusted") {
  const Folder good(standard_run());
  const auto thresholds = reports::thresholds_for(good.results, {"issue.p99<200ms"});
  CHECK(reports::evaluate_gate(good.results, thresholds, nullptr, {}).exit_code() == kExitOk);
  CHECK(reports::evaluate_gate(good.results, reports::thresholds_for(good.results, {"issue.p99<150ms"}), nullptr, {}).exit_code() == kExitThresholdFailed);

  auto behind = standard_run();
  behind.verdict = {true, "the generator fell behind its schedule"};
  const Folder untrusted(behind);
  const auto gate = reports::evaluate_gate(untrusted.results, reports::thresholds_for(untrusted.results, {}), nullptr, {});
  CHECK(gate.exit_code() == kExitUntrusted);
  CHECK(gate.passed());  // the thresholds themselves held: the run is what cannot be trusted
  CHECK_THAT(reports::render_gate(gate), Catch::Contains("UNTRUSTED: the generator fell behind"));

  const Folder unreachable(test::synthetic_run({{"issue", {}, 40}}));
  const auto down = reports::judge_trust(unreachable.results);
  CHECK_FALSE(down.trusted);
  CHECK_THAT(down.reason, Catch::Contains("answered none of 40 requests"));

  // An untrusted baseline makes the comparison untrusted too.
  CHECK(reports::evaluate_gate(good.results, thresholds, &untrusted.results, {}).exit_code() == kExitUntrusted);
}

TEST_CASE("verdicts are recorded in summary.json's thresholds[]") {
  Folder run(standard_run());
  const auto gate = reports::evaluate_gate(run.results, reports::thresholds_for(run.results, {}), nullptr, {});
  reports::record_thresholds(run.directory.path(), gate.thresholds);
  const auto again = reports::read_results(run.directory.path());
  const auto& recorded = again.summary.thresholds;
  REQUIRE(recorded.size() == 2);
  CHECK(recorded[0].expression == "p99<250ms");
  CHECK(recorded[0].passed);
  CHECK(recorded[0].observed.value() < 0.25);
  CHECK(recorded[1].expression == "error_rate<1%");
  CHECK(recorded[1].passed);
  CHECK(again.summary.requests == run.results.summary.requests);
}

TEST_CASE("xml_escape makes any text safe") {
  CHECK(reports::xml_escape("p99<300ms & \"x\" 'y' >") == "p99&lt;300ms &amp; &quot;x&quot; &apos;y&apos; &gt;");
  CHECK(reports::xml_escape(std::string("a\x01z\tb\n", 6)) == "a\xEF\xBF\xBDz\tb\n");
}

namespace {

std::string xpath(const fs::path& file, const std::string& expression) {
  const std::string command = "xmllint --xpath '" + expression + "' " + file.string() + " 2>&1";
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  while (const auto read = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, read);
  pclose(pipe);
  while (!output.empty() && output.back() == '\n') output.pop_back();  // some versions end strings with a line break
  return output;
}

}  // namespace

TEST_CASE("junit.xml has the structure Jenkins and GitLab read") {
  const Folder run(test::synthetic_run({{"issue&co", test::one_to(40'000, 0.005), 2}, {"verify", test::one_to(100, 0.5), 0}}, 20));
  const Folder baseline(test::synthetic_run({{"issue&co", test::one_to(40'000, 0.0025), 2}, {"verify", test::one_to(100, 0.5), 0}}, 20));
  const auto gate = reports::evaluate_gate(run.results, reports::thresholds_for(run.results, {"issue&co.p50<1s"}), &baseline.results, {});
  const auto xml = reports::junit_xml(gate, run.results);
  CHECK_THAT(xml, Catch::StartsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
  CHECK_THAT(xml, Catch::Contains("name=\"issue&amp;co.p50&lt;1s\""));

  // scripts/setup installs it; without it this check would be no check at all.
  INFO("xmllint (Debian's libxml2-utils) is needed to check junit.xml with a real XML parser");
  REQUIRE(std::system("command -v xmllint > /dev/null 2>&1") == 0);
  test::TemporaryDirectory folder("junit");
  fs::create_directories(folder.path());
  const auto file = folder.path() / "junit.xml";
  std::ofstream(file) << xml;
  // Well-formed: xmllint parses it without complaint.
  CHECK(xpath(file, "count(/testsuites)") == "1");
  // And valid against the JUnit schema that Jenkins' xUnit plugin checks files with.
  const auto schema = fs::path(UPTAKE_SOURCE_DIR) / "tests" / "reports" / "junit-10.xsd";
  CHECK(std::system(("xmllint --noout --schema " + schema.string() + " " + file.string() + " 2>&1").c_str()) == 0);
  CHECK(xpath(file, "count(/testsuites/testsuite)") == "3");
  CHECK(xpath(file, "string(/testsuites/testsuite[1]/@name)") == "run");
  CHECK(xpath(file, "string(/testsuites/testsuite[2]/@name)") == "thresholds");
  CHECK(xpath(file, "string(/testsuites/testsuite[3]/@name)") == "baseline");
  // Counts agree with the test cases, per suite and in total.
  for (const char* suite : {"1", "2", "3"}) {
    const std::string at = std::string("/testsuites/testsuite[") + suite + "]";
    INFO(at);
    CHECK(xpath(file, "count(" + at + "/testcase)") == xpath(file, "string(" + at + "/@tests)"));
    CHECK(xpath(file, "count(" + at + "/testcase/failure)") == xpath(file, "string(" + at + "/@failures)"));
    CHECK(xpath(file, "count(" + at + "/testcase/error)") == xpath(file, "string(" + at + "/@errors)"));
    CHECK(xpath(file, "count(" + at + "/testcase/skipped)") == xpath(file, "string(" + at + "/@skipped)"));
    CHECK(xpath(file, "count(" + at + "/properties/property[@name=\"scenario\"])") == "1");
  }
  CHECK(xpath(file, "count(//testcase)") == xpath(file, "string(/testsuites/@tests)"));
  // Every suite is stamped with the run's start (JUnit's ISO 8601, UTC, no zone): the synthetic
  // run started at Unix time 1,790,000,000. The run suite took the run's duration.
  CHECK(xpath(file, "count(/testsuites/testsuite[@timestamp=\"2026-09-21T14:13:20\"])") == "3");
  CHECK(std::stod(xpath(file, "string(/testsuites/testsuite[1]/@time)")) == Approx(run.results.summary.duration_s).margin(0.001));
  CHECK(xpath(file, "count(//testcase/failure)") == xpath(file, "string(/testsuites/@failures)"));
  // Thresholds: the recorded SLO (p99<100ms fails: 199 ms; error_rate<1% passes) and the extra one.
  CHECK(xpath(file, "count(/testsuites/testsuite[2]/testcase)") == "3");
  CHECK(xpath(file, "string(/testsuites/testsuite[2]/testcase[1]/@name)") == "p99<100ms");
  CHECK(xpath(file, "string(/testsuites/testsuite[2]/testcase[3]/@name)") == "issue&co.p50<1s");
  CHECK_THAT(xpath(file, "string(/testsuites/testsuite[2]/testcase[1]/failure/@message)"), Catch::Contains("which breaks p99<100ms"));
  CHECK_THAT(xpath(file, "string(/testsuites/testsuite[2]/testcase[1]/failure)"), Catch::Contains("expected: < 100.000 ms"));
  // The baseline: the issue endpoint doubled its latencies.
  CHECK(xpath(file, "string(/testsuites/testsuite[3]/testcase[@name=\"issue&co.p99\"]/failure/@type)") == "regression");
  CHECK(xpath(file, "count(/testsuites/testsuite[3]/testcase[@name=\"verify.p99\"]/failure)") == "0");
}

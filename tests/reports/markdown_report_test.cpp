// report.md: the short summary for pull requests and CI step summaries.
#include <catch2/catch.hpp>

#include "reports/synthetic_run.hpp"
#include "temporary_directory.hpp"
#include "uptake/reports/markdown_report.hpp"
#include "uptake/reports/results_dir.hpp"
#include "uptake/reports/threshold_check.hpp"

using namespace uptake;

TEST_CASE("report.md: verdict line, table, errors by class, generator") {
  const test::TemporaryDirectory folder("markdown-report");
  test::synthetic_run({{"issue", test::one_to(100)}, {"verify", test::one_to(50), 5}}).write(folder.path().string());
  const auto markdown = reports::render_markdown_report(reports::read_results(folder.path()));
  CHECK_THAT(markdown, Catch::StartsWith("### ✅ uptake run of synthetic: completed: no thresholds to judge\n"));
  CHECK_THAT(markdown, Catch::Contains("| --- | ---: |"));
  CHECK_THAT(markdown, Catch::Contains("| **all** | 150 of 155 |"));
  CHECK_THAT(markdown, Catch::Contains("| issue | 100 of 100 |"));
  CHECK_THAT(markdown, Catch::Contains("| verify | 50 of 55 |"));
  CHECK_THAT(markdown, Catch::Contains("Errors by class: timeout 5."));
  CHECK_THAT(markdown, Catch::Contains("no thresholds"));
  CHECK_THAT(markdown, Catch::Contains("**Generator**: trusted, schedule lag p99 0.10 ms within the bound of 10.00 ms"));
  // Short enough for a pull-request comment.
  CHECK(std::count(markdown.begin(), markdown.end(), '\n') < 30);
}

TEST_CASE("report.md: thresholds with ✅ and ❌, and a failed verdict") {
  const test::TemporaryDirectory folder("markdown-report-thresholds");
  test::synthetic_run({{"verify", test::one_to(100)}}).write(folder.path().string());
  auto results = reports::read_results(folder.path());
  reports::record_thresholds(folder.path(), reports::check_thresholds(reports::thresholds_for(results, {"p50<10ms"}), results));
  const auto markdown = reports::render_markdown_report(reports::read_results(folder.path()));
  CHECK_THAT(markdown, Catch::StartsWith("### ❌ uptake run of synthetic: failed: 1 of 3 thresholds failed\n"));
  CHECK_THAT(markdown, Catch::Contains("- ✅ p99&lt;100ms (observed"));
  CHECK_THAT(markdown, Catch::Contains("- ✅ error\\_rate&lt;1% (observed"));
  CHECK_THAT(markdown, Catch::Contains("- ❌ p50&lt;10ms (observed 50"));
  CHECK_THAT(markdown, !Catch::Contains("Errors by class"));
}

TEST_CASE("report.md: an untrusted run, and names that Markdown would misread") {
  const test::TemporaryDirectory folder("markdown-report-untrusted");
  auto run = test::synthetic_run({{"a|b_c", test::one_to(10)}, {"<verify>", test::one_to(10)}});
  run.context.scenario = "*surge* | [link](x)";
  run.verdict.generator_behind = true;
  run.verdict.reason = "the generator fell behind its schedule";
  const auto markdown = reports::render_markdown_report(reports::read_results((run.write(folder.path().string()), folder.path())));
  CHECK_THAT(markdown, Catch::StartsWith("### ⚠️ uptake run of \\*surge\\* \\| \\[link\\](x): untrusted: the generator fell behind its schedule\n"));
  CHECK_THAT(markdown, Catch::Contains("| a\\|b\\_c | 10 of 10 |"));
  CHECK_THAT(markdown, Catch::Contains("| &lt;verify&gt; | 10 of 10 |"));
  CHECK_THAT(markdown, Catch::Contains("**Generator**: ⚠️ not trusted: the generator fell behind its schedule"));
  CHECK(reports::escape_markdown("`#1`\n~x~!") == "\\`\\#1\\` \\~x\\~\\!");
}

TEST_CASE("report.md: a capacity search's trials, folded under the headline") {
  const test::TemporaryDirectory folder("markdown-report-capacity");
  test::synthetic_run({{"verify", test::one_to(100)}}).write(folder.path().string());
  auto results = reports::read_results(folder.path());
  results.summary.capacity = nlohmann::ordered_json{{"rps", 400.0}, {"slo", {"p99<20ms"}}, {"outcome", "found"},
                                 {"steps", {{{"step", 1}, {"trial", 1}, {"phase", "grow"}, {"offered_rps", 400}, {"achieved_rps", 399}, {"p50_ms", 2.0},
                                             {"p99_ms", 8.0}, {"error_rate", 0.0}, {"verdict", "pass"}},
                                            {{"step", 2}, {"trial", 1}, {"phase", "grow"}, {"offered_rps", 800}, {"achieved_rps", 610}, {"p50_ms", 90.0},
                                             {"p99_ms", 900.0}, {"error_rate", 0.02}, {"verdict", "fail"}}}}};
  const auto markdown = reports::render_markdown_report(results);
  CHECK_THAT(markdown, Catch::Contains("### uptake capacity of synthetic: 400.0/s within p99&lt;20ms (found)"));
  CHECK_THAT(markdown, Catch::Contains("<details><summary>2 trials of the search</summary>"));
  CHECK_THAT(markdown, Catch::Contains("| step | phase | offered | achieved | p50 | p99 | errors | verdict |"));
  CHECK_THAT(markdown, Catch::Contains("| 2.1 | grow | 800.0/s | 610.0/s |"));
  CHECK_THAT(markdown, Catch::Contains("| 2.00% | fail |"));
}

TEST_CASE("report.md: a scenario run says what it replays under its verdict line") {
  const test::TemporaryDirectory folder("markdown-report-replay");
  auto run = test::synthetic_run({{"issue", test::one_to(100)}}, 12);
  run.context.replay = test::replay_of_a_day();
  run.write(folder.path().string());
  const auto markdown = reports::render_markdown_report(reports::read_results(folder.path()));
  CHECK_THAT(markdown, Catch::StartsWith("### ✅ uptake run of synthetic: completed: no thresholds to judge\n\n"
                                         "Replays 2027-03-31 00:00–24:00 (+09:00) compressed ×7200 into 12 s at scale 0.02: 144× the modelled real-world rate; "
                                         "modelled mean 5.05/s and peak 12.59/s real-world ⇒ 727.2/s and 1,813/s planned.\n"
                                         "Events in the window: deadline-day ×3 2027-03-31 09:00–18:00.\n\n"));
  CHECK(std::count(markdown.begin(), markdown.end(), '\n') < 30);
}

// report.html from results folders written by the real writer and read by the real reader:
// uPlot and the data inline, every chart with data, and nothing from the data able to end a
// script element.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "reports/synthetic_run.hpp"
#include "temporary_directory.hpp"
#include "uptake/base/files.hpp"
#include "uptake/reports/forecast_report.hpp"
#include "uptake/reports/html_report.hpp"
#include "uptake/reports/results_dir.hpp"
#include "uptake/reports/threshold_check.hpp"
#include "uptake/sim/forecast.hpp"
#include "uptake/sim/scenario_loader.hpp"

using namespace uptake;
using nlohmann::ordered_json;

namespace {

reports::RunResults written_and_read(const test::SyntheticRun& run, const std::filesystem::path& folder) {
  run.write(folder.string());
  return reports::read_results(folder);
}

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

// The data island, parsed as the page's script parses it.
ordered_json data_island(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"report-data\">";
  const auto start = html.find(open);
  REQUIRE(start != std::string::npos);
  const auto end = html.find("</script>", start);
  REQUIRE(end != std::string::npos);
  return ordered_json::parse(html.substr(start + open.size(), end - start - open.size()));
}

const ordered_json* chart(const ordered_json& island, const std::string& id) {
  for (const auto& candidate : island["charts"]) {
    if (candidate["id"] == id) return &candidate;
  }
  return nullptr;
}

std::size_t numbers_in(const ordered_json& chart) {
  std::size_t count = 0;
  for (const auto& series : chart["series"]) {
    for (const auto& value : series["values"]) count += value.is_number() ? 1 : 0;
  }
  return count;
}

}  // namespace

TEST_CASE("report.html is one file: uPlot, its style and the data inline, nothing fetched") {
  const test::TemporaryDirectory folder("html-report");
  const auto results = written_and_read(test::synthetic_run({{"issue", test::one_to(60)}, {"verify", test::one_to(30, 0.5), 2}}), folder.path());
  const auto html = reports::render_html_report(results);

  CHECK_THAT(html, Catch::StartsWith("<!doctype html>"));
  CHECK_THAT(html, Catch::Contains("var uPlot="));                     // the library itself
  CHECK_THAT(html, Catch::Contains("MIT licence"));
  CHECK_THAT(html, Catch::Contains(".uplot"));                          // its style
  CHECK_THAT(html, Catch::Contains("prefers-color-scheme: dark"));      // readable in dark
  CHECK_THAT(html, Catch::Contains("window.__reportStatus"));
  CHECK_THAT(html, !Catch::Contains("<script src"));
  CHECK_THAT(html, !Catch::Contains("<link"));
  CHECK_THAT(html, !Catch::Contains("@import"));
  CHECK_THAT(html, Catch::Contains("no thresholds"));

  const auto island = data_island(html);
  for (const char* id : {"rate", "latency-total-0", "latency-issue-1", "latency-verify-2", "errors", "distribution"}) {
    INFO(id);
    const auto* found = chart(island, id);
    REQUIRE(found != nullptr);
    CHECK(numbers_in(*found) > 0);
    for (const auto& series : (*found)["series"]) CHECK(series["values"].size() == (*found)["x"].size());
    CHECK_THAT(html, Catch::Contains(std::string("<figure class=\"chart\" id=\"chart-") + id + "\""));
  }
  CHECK(chart(island, "capacity") == nullptr);
  CHECK_THAT(html, !Catch::Contains("chart-demand"));

  // Planned per second adds up to the run's planned requests (60 + 30 + 2 timeouts).
  std::uint64_t planned = 0;
  for (const auto& value : (*chart(island, "rate"))["series"][0]["values"]) planned += value.is_number() ? value.get<std::uint64_t>() : 0;
  CHECK(planned == 92);
  // The percentile axis: x = 1/(1-q), ten levels a decade, so x[3] is about 2, the median; the
  // whole run's median (issue 1..60 ms, verify 0.5..15 ms) is near 15 ms.
  const auto& distribution = *chart(island, "distribution");
  CHECK(distribution["kind"] == "percentiles");
  CHECK(distribution["x"][0] == 1.0);
  CHECK(distribution["x"][3].get<double>() == Approx(2.0).epsilon(0.01));
  const double median = distribution["series"][0]["values"][3].get<double>();
  const double level = distribution["x"][3].get<double>();
  CHECK(median == static_cast<double>(results.response_time_of("total").value_at_percentile(100.0 * (1.0 - 1.0 / level))) / 1e6);
  CHECK(median == Approx(15.0).epsilon(0.1));
  CHECK(distribution["series"][1]["label"] == "service time");
}

TEST_CASE("nothing from the data can end a script element or inject markup") {
  const test::TemporaryDirectory folder("html-report-escape");
  auto run = test::synthetic_run({{"verify</script><script>alert(1)</script>", test::one_to(20)}, {"issue", test::one_to(10)}});
  run.context.scenario = "surge </script><img src=x onerror=alert(2)> & \"quotes\"";
  const auto results = written_and_read(run, folder.path());
  const auto html = reports::render_html_report(results);

  CHECK(occurrences(html, "</script>") == 3);  // the data island, uPlot, the page's script
  CHECK_THAT(html, !Catch::Contains("<script>alert"));
  CHECK_THAT(html, !Catch::Contains("<img"));
  CHECK_THAT(html, Catch::Contains("surge &lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; &amp; &quot;quotes&quot;"));
  const auto island = data_island(html);  // parses: the names inside are escaped, not cut
  bool found = false;
  for (const auto& series : (*chart(island, "errors"))["series"]) found = found || series["label"] == "verify</script><script>alert(1)</script>";
  CHECK(found);
  CHECK(reports::escape_html("a<b>&'\"") == "a&lt;b&gt;&amp;&#39;&quot;");
}

TEST_CASE("demand charts come from forecast.json when the folder has one") {
  const test::TemporaryDirectory folder("html-report-forecast");
  test::synthetic_run({{"verify", test::one_to(20)}}).write(folder.path().string());
  const auto scenario = sim::load_scenario("scenarios/ecert-korea.yaml");
  const auto forecast = sim::make_forecast(scenario, scenario.growth.project_to_year, scenario.growth.project_to_year);
  write_file_atomically((folder.path() / "forecast.json").string(), reports::render_forecast_json(forecast));
  const auto results = reports::read_results(folder.path());
  REQUIRE(results.forecast.has_value());
  const auto html = reports::render_html_report(results);
  const auto island = data_island(html);
  const auto* demand = chart(island, "demand-ecert-0");
  REQUIRE(demand != nullptr);
  CHECK((*demand)["kind"] == "years");
  CHECK((*demand)["x"][0] == 2020);
  CHECK((*demand)["x"].back() == scenario.growth.project_to_year);
  CHECK((*demand)["series"][0]["values"][2] == 8099791.0);       // measured 2022
  CHECK((*demand)["series"][0]["values"].back().is_null());      // not measured: projected
  CHECK((*demand)["series"][2]["values"].back().is_number());    // with its interval
  CHECK((*demand)["band"] == ordered_json({2, 3}));
  CHECK_THAT((*demand)["series"][2]["label"].get<std::string>(), Catch::Contains("90% interval"));
  // The replayed year is marked on the projection: ecert-korea replays 2027's peak hour.
  const auto& marked = (*demand)["series"].back();
  CHECK(marked["label"] == "replayed (2027)");
  CHECK(marked["values"].back() == (*demand)["series"][1]["values"].back());
  CHECK(marked["values"][0].is_null());
}

TEST_CASE("an averaged projection shows each curve it averages, with its weight") {
  const test::TemporaryDirectory folder("html-report-averaged");
  test::synthetic_run({{"verify", test::one_to(20)}}).write(folder.path().string());
  // ecert's three points with no model named and no market size: five points would be needed for
  // AICc, so the curves with a residual degree of freedom share the weight equally.
  auto scenario = sim::load_scenario("scenarios/ecert-korea.yaml");
  scenario.series.front().model = sim::GrowthModelKind::automatic;
  scenario.series.front().yearly[2019] = 200000;
  scenario.series.front().market_size.reset();
  scenario.series.front().ranges.clear();
  const auto forecast = sim::make_forecast(scenario, scenario.growth.project_to_year, scenario.growth.project_to_year);
  write_file_atomically((folder.path() / "forecast.json").string(), reports::render_forecast_json(forecast));
  const auto html = reports::render_html_report(reports::read_results(folder.path()));
  const auto island = data_island(html);
  const auto* demand = chart(island, "demand-ecert-0");
  REQUIRE(demand != nullptr);
  CHECK((*demand)["series"][1]["label"] == "averaged projection");
  int curves = 0;
  for (const auto& series : (*demand)["series"]) curves += series["label"].get<std::string>().find("(weight ") != std::string::npos;
  CHECK(curves >= 2);
}

TEST_CASE("SLO verdicts: the recorded thresholds with what was observed, and the verdict") {
  const test::TemporaryDirectory folder("html-report-thresholds");
  auto results = written_and_read(test::synthetic_run({{"verify", test::one_to(100)}}), folder.path());
  const auto verdicts = reports::check_thresholds(reports::thresholds_for(results, {"p50<10ms"}), results);
  reports::record_thresholds(folder.path(), verdicts);
  results = reports::read_results(folder.path());
  const auto html = reports::render_html_report(results);
  CHECK_THAT(html, !Catch::Contains("no thresholds"));
  CHECK_THAT(html, Catch::Contains("p99&lt;100ms"));   // from the scenario's slo: holds
  CHECK_THAT(html, Catch::Contains("p50&lt;10ms"));    // from --threshold: the median is 50 ms
  CHECK_THAT(html, Catch::Contains("class=\"fail\">✘ fail"));
  CHECK_THAT(html, Catch::Contains("class=\"pass\">✔ pass"));
  CHECK_THAT(html, Catch::Contains("failed: 1 of 3 thresholds failed"));
  CHECK_THAT(html, Catch::Contains("class=\"verdict fail\""));
}

TEST_CASE("the capacity curve is drawn only when summary.json has capacity steps") {
  const test::TemporaryDirectory folder("html-report-capacity");
  auto results = written_and_read(test::synthetic_run({{"verify", test::one_to(30)}}), folder.path());
  CHECK_THAT(reports::render_html_report(results), !Catch::Contains("chart-capacity"));
  // In the order a search tries them: growing, then bisecting, with a rate tried twice.
  results.summary.capacity = ordered_json::object();
  (*results.summary.capacity)["steps"] = ordered_json::array(
      {{{"step", 1}, {"trial", 1}, {"phase", "grow"}, {"offered_rps", 100}, {"achieved_rps", 100}, {"p50_ms", 1.0}, {"p99_ms", 4.0}, {"error_rate", 0.0}, {"verdict", "pass"}},
       {{"step", 2}, {"trial", 1}, {"phase", "grow"}, {"offered_rps", 400}, {"achieved_rps", 260}, {"latency_ms", {{"p99", 850.0}}}, {"error_rate", 0.125}, {"verdict", "fail"}},
       {{"step", 3}, {"trial", 1}, {"phase", "bisect"}, {"offered_rps", 200}, {"achieved_rps", 198}, {"p50_ms", 3.0}, {"p99_ms", 12.0}, {"verdict", "pending"}},
       {{"step", 3}, {"trial", 2}, {"phase", "bisect"}, {"offered_rps", 200}, {"achieved_rps", 199.5}, {"p50_ms", 2.5}, {"p99_ms", 9.0}, {"verdict", "pass"}}});
  const auto html = reports::render_html_report(results);
  const auto island = data_island(html);
  const auto* capacity = chart(island, "capacity");
  REQUIRE(capacity != nullptr);
  // The curves run through the deciding trial at each rate; the earlier look at 200/s is a
  // point of its own, at a repeated x.
  CHECK((*capacity)["x"] == ordered_json({100.0, 200.0, 200.0, 400.0}));
  CHECK((*capacity)["series"][1]["values"] == ordered_json({100.0, nullptr, 199.5, 260.0}));
  CHECK((*capacity)["series"][2]["values"] == ordered_json({1.0, nullptr, 2.5, nullptr}));  // p50: the 400/s trial recorded none
  CHECK((*capacity)["series"][3]["values"] == ordered_json({4.0, nullptr, 9.0, 850.0}));
  CHECK((*capacity)["series"][3]["span_gaps"] == true);
  CHECK((*capacity)["series"][4]["label"] == "p99, earlier looks");
  CHECK((*capacity)["series"][4]["values"] == ordered_json({nullptr, 12.0, nullptr, nullptr}));
  CHECK((*capacity)["series"][2]["axis"] == "y2");
  CHECK((*capacity)["series"][3]["axis"] == "y2");
  CHECK((*capacity)["series"][4]["axis"] == "y2");
  // Every trial is in the table, in the order tried, with its errors.
  CHECK_THAT(html, Catch::Contains("Every trial of the search"));
  CHECK_THAT(html, Catch::Contains("<td class=\"text\">3.2</td><td>bisect</td>"));
  CHECK_THAT(html, Catch::Contains("<td>12.50%</td><td>fail</td>"));
}

TEST_CASE("an untrusted run says so before anything else") {
  const test::TemporaryDirectory folder("html-report-untrusted");
  auto run = test::synthetic_run({{"verify", test::one_to(10)}});
  run.verdict.generator_behind = true;
  run.verdict.reason = "the generator fell behind its schedule";
  const auto html = reports::render_html_report(written_and_read(run, folder.path()));
  CHECK_THAT(html, Catch::Contains("class=\"verdict untrusted\" id=\"verdict\">untrusted: the generator fell behind its schedule"));
}

TEST_CASE("a scenario run's header says what it replays; its per-second charts get the local clock and the events") {
  const test::TemporaryDirectory folder("html-report-replay");
  auto run = test::synthetic_run({{"issue", test::one_to(120)}}, 12);
  run.context.replay = test::replay_of_a_day();
  const auto html = reports::render_html_report(written_and_read(run, folder.path()));

  CHECK_THAT(html, Catch::Contains("<p class=\"replay\" id=\"replay\">Replays 2027-03-31 00:00–24:00 (+09:00) compressed ×7200 into 12 s at scale 0.02: "
                                   "144× the modelled real-world rate; modelled mean 5.05/s and peak 12.59/s real-world ⇒ 727.2/s and 1,813/s planned.</p>"));
  CHECK_THAT(html, Catch::Contains("Events in the window (shaded on the per-second charts): deadline-day ×3 2027-03-31 09:00–18:00"));
  CHECK_THAT(html, Catch::Contains("<input type=\"checkbox\" id=\"local-time-axis\"> label the per-second charts' time axis in the modelled local time (+09:00)"));
  // The header comes before the verdict: it frames every figure below it.
  CHECK(html.find("id=\"replay\"") < html.find("id=\"verdict\""));

  const auto island = data_island(html);
  const auto& replay = island["replay"];
  CHECK(replay["local_origin_s"].get<double>() == test::replay_of_a_day().from + 9 * 3600);
  CHECK(replay["compression"].get<double>() == Approx(7200));
  CHECK(replay["time_zone"] == "+09:00");
  CHECK(replay["clock_changes"].empty());
  // 09:00 to 18:00 local is 4.5 s to 9 s into the 12 s replay.
  REQUIRE(replay["events"].size() == 1);
  CHECK(replay["events"][0]["name"] == "deadline-day ×3");
  CHECK(replay["events"][0]["from_s"].get<double>() == Approx(4.5));
  CHECK(replay["events"][0]["to_s"].get<double>() == Approx(9.0));
  CHECK((*chart(island, "rate"))["kind"] == "seconds");

  // The script draws the bands and the local axis from the island.
  CHECK_THAT(html, Catch::Contains("function eventBands(spec, colours)"));
  CHECK_THAT(html, Catch::Contains("function localLabel(v, withDate)"));
}

TEST_CASE("an ad hoc run's report says nothing of a replay") {
  const test::TemporaryDirectory folder("html-report-ad-hoc");
  const auto html = reports::render_html_report(written_and_read(test::synthetic_run({{"issue", test::one_to(30)}}), folder.path()));
  CHECK_THAT(html, !Catch::Contains("id=\"replay\""));
  CHECK_THAT(html, !Catch::Contains("id=\"local-time-axis\""));
  CHECK_FALSE(data_island(html).contains("replay"));
}

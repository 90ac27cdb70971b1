#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "uptake/reports/forecast_report.hpp"
#include "uptake/reports/text_table.hpp"
#include "uptake/sim/scenario_loader.hpp"

using namespace uptake;

TEST_CASE("numbers are grouped for people") {
  CHECK(reports::group_thousands(8099791) == "8,099,791");
  CHECK(reports::group_thousands(999) == "999");
  CHECK(reports::group_thousands(-1234567.891, 2) == "-1,234,567.89");
  CHECK(reports::group_thousands(0.4) == "0");
  CHECK(reports::signed_percent(2.81) == "+281.0%");
  CHECK(reports::readable_number(12.134) == "12.13");
  CHECK(reports::readable_number(0.2568) == "0.257");
}

TEST_CASE("tables align their columns") {
  reports::TextTable table({"year", "volume"}, {reports::TextTable::Align::left});
  table.add_row({"2021", "2,125,966"});
  table.add_row({"2022", "8,099,791"});
  CHECK(table.render(0) == "year     volume\n---------------\n2021  2,125,966\n2022  8,099,791\n");
}

TEST_CASE("the forecast of the e-certificate scenario, as text and as JSON") {
  const auto scenario = sim::load_scenario("scenarios/ecert-korea.yaml");
  const auto forecast = sim::make_forecast(scenario);
  const auto text = reports::render_forecast_text(forecast);
  CHECK_THAT(text, Catch::Contains("Series ecert"));
  CHECK_THAT(text, Catch::Contains("8,099,791"));
  CHECK_THAT(text, Catch::Contains("+281.0%"));  // measured 2021 -> 2022 growth
  CHECK_THAT(text, Catch::Contains("Design peaks"));

  const auto json = nlohmann::json::parse(reports::render_forecast_json(forecast));
  CHECK(json["schema"] == "uptake.forecast/v1");
  REQUIRE(json["series"].size() == 1);
  const auto& series = json["series"][0];
  CHECK(series["name"] == "ecert");
  CHECK(series["years"].front()["year"] == 2020);
  CHECK(series["years"].back()["year"] == 2027);
  CHECK(series["years"][2]["measured"] == 8099791.0);
  for (const auto& year : series["years"]) {
    if (!year["measured"].is_null()) continue;
    // Projected years carry an interval around the point projection.
    REQUIRE(year["lower"].is_number());
    CHECK(year["lower"].get<double>() <= year["model"].get<double>());
    CHECK(year["upper"].get<double>() >= year["model"].get<double>());
  }
  REQUIRE(json["design_peaks"].size() == 8);
  const auto& last = json["design_peaks"].back();
  CHECK(last["year"] == 2027);
  const double issue = last["endpoints"]["issue"]["peak_hour_rps"];
  const double verify = last["endpoints"]["verify"]["peak_hour_rps"];
  CHECK(issue + verify == Approx(last["total"]["peak_hour_rps"].get<double>()));
  CHECK(last["total"]["peak_second_p999"].get<double>() > last["total"]["peak_hour_rps"].get<double>());
}

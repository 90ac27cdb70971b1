#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "child_process.hpp"
#include "scenario_builder.hpp"
#include "uptake/sim/arrivals.hpp"
#include "uptake/sim/forecast.hpp"
#include "uptake/sim/scenario_loader.hpp"

using namespace uptake;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> files_in(const fs::path& folder) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The first line of an invalid fixture: "# expect: <text the error message must contain>".
std::string expected_error(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  const std::string marker = "# expect: ";
  REQUIRE(line.rfind(marker, 0) == 0);
  return line.substr(marker.size());
}

}  // namespace

TEST_CASE("every shipped scenario loads, validates and forecasts") {
  const auto files = files_in(fs::path(UPTAKE_SOURCE_DIR) / "scenarios");
  REQUIRE(files.size() >= 7);  // the template and the six shipped scenarios
  for (const auto& file : files) {
    INFO(file.string());
    const auto scenario = sim::load_scenario(file.string());
    CHECK_FALSE(scenario.name.empty());
    const auto forecast = sim::make_forecast(scenario);
    CHECK(forecast.design_peaks.size() == static_cast<std::size_t>(forecast.to_year - forecast.from_year + 1));
    for (const auto& peak : forecast.design_peaks) CHECK(peak.total_peak_hour_rate > 0);
    // Every endpoint the traffic reaches has a request to send.
    for (const auto& endpoint : scenario.endpoint_names()) {
      const bool has_flow = std::any_of(scenario.flows.begin(), scenario.flows.end(), [&](const auto& flow) { return flow.endpoint == endpoint; });
      CHECK(has_flow);
    }
  }
}

TEST_CASE("every invalid fixture fails with its documented message") {
  const auto files = files_in(fs::path("tests/sim/fixtures/invalid"));
  REQUIRE(files.size() >= 12);
  for (const auto& file : files) {
    const auto expected = expected_error(file);
    INFO(file.string() << " should fail with: " << expected);
    try {
      const auto scenario = sim::load_scenario(file.string());
      const auto forecast = sim::make_forecast(scenario);
      // As uptake check does: the replay's rates are part of what a scenario may ask.
      sim::replay_window(scenario, *forecast.rate_model);
      FAIL("loaded without error");
    } catch (const InputError& error) {
      CHECK_THAT(error.what(), Catch::Contains(expected));
    }
  }
}

TEST_CASE("a missing file is named") {
  CHECK_THROWS_WITH(sim::load_scenario("no/such/scenario.yaml"), Catch::Contains("no/such/scenario.yaml: is missing"));
}

namespace {

// A small file whose aliases expand to millions of nodes: `count` events that are all one
// anchored event (events: [*e x count]), whose endpoints are `count` aliases of one anchored
// name (endpoints: [*v x count]).
std::string alias_bomb(int count) {
  std::string text = "name: bomb\nhistory: { series: { s: { yearly: { 2021: 100, 2022: 200 } } } }\nmix: { endpoints: { issue: 1 } }\n";
  text += "events:\n  - &e { name: e, start: 2022-03-01T09:00, plateau: 1h, multiplier: 2, endpoints: [&v issue";
  for (int i = 1; i < count; ++i) text += ",*v";
  text += "] }\n";
  for (int i = 1; i < count; ++i) text += "  - *e\n";
  return text;
}

}  // namespace

TEST_CASE("aliases that expand beyond the bound are refused before anything is built from them") {
  // 3000 x 3000: a file of some 30 KB that the loader once turned into 9 million strings and 300 MB.
  const auto text = alias_bomb(3000);
  INFO("the file is " << text.size() << " bytes");
  REQUIRE(text.size() < 40'000);
  const auto outcome = test::run_in_child(
      [&] {
        try {
          sim::parse_scenario(text, "bomb.yaml");
        } catch (const InputError& error) {
          const std::string message = error.what();
          return message.find("bomb.yaml:") == 0 && message.find("expands") != std::string::npos ? 0 : 1;
        }
        return 2;
      },
      std::chrono::seconds(60));
  const auto growth_kib = outcome.peak_rss_kib - test::idle_child_peak_rss_kib();
  INFO("peak resident set " << outcome.peak_rss_kib / 1024 << " MiB, " << growth_kib / 1024 << " MiB of it the child's own");
  CHECK_FALSE(outcome.timed_out);
  CHECK(outcome.exit_code == 0);
  CHECK(growth_kib < 100 * 1024);
}

TEST_CASE("aliases within the bound load as if written out") {
  const auto scenario = sim::parse_scenario(
      "name: aliases\nhistory: { series: { s: { yearly: { 2021: 100, 2022: 200 } } } }\n"
      "mix: { endpoints: { issue: 0.5, verify: 0.5 } }\n"
      "events:\n  - &e { name: e, start: 2022-03-01T09:00, plateau: 1h, multiplier: 2, endpoints: [&v issue, *v] }\n  - *e\n",
      "aliases.yaml");
  REQUIRE(scenario.events.size() == 2);
  CHECK(scenario.events[1].endpoints == std::vector<std::string>{"issue", "issue"});
}

TEST_CASE("the template loads after its name is set") {
  const auto scenario = sim::parse_scenario(sim::scenario_template("wallet-2027"), "wallet-2027.yaml");
  CHECK(scenario.name == "wallet-2027");
  CHECK(scenario.flows.size() == 2);
  CHECK(scenario.slo.size() == 3);
}

TEST_CASE("local times in the file become real instants through the time zone") {
  const auto scenario = test::scenario_from_yaml(test::flat_scenario(1000, R"(
calendar: { timezone: "+09:00" }
events: [{ name: launch, start: 2023-07-01T10:00, plateau: 1h, multiplier: 2 }]
)"));
  // 10:00 in Seoul is 01:00 UTC: the event doubles the rate from then on.
  const sim::RateModel model(scenario, {{2023, 1000}});
  const auto at = [](const char* utc) { return static_cast<double>(parse_date_time(utc)->time_since_epoch().count()); };
  CHECK(model.rate(0, at("2023-07-01T01:30")) / model.rate(0, at("2023-07-01T00:30")) == Approx(2.0));
}

TEST_CASE("a year of the model without listed holidays, while others have them, is warned of") {
  SECTION("one year") {
    const auto scenario = test::scenario_from_yaml(test::flat_scenario(1000, "calendar: { holidays: [2023-01-01, 2023-03-01] }\n"));
    CHECK(scenario.warnings ==
          std::vector<std::string>{"calendar.holidays: 2022 has no listed holidays while 2023 does; its volume spreads over every day as if it had none"});
  }
  SECTION("years of history and projection, beside yearly rules") {
    std::string text = test::flat_scenario(1000, "calendar: { holidays: [\"01-01\", 2025-01-28, 2025-10-06] }\n");
    text.replace(text.find("project_to: 2023"), 16, "project_to: 2026");
    const auto scenario = test::scenario_from_yaml(text);
    CHECK(scenario.warnings == std::vector<std::string>{"calendar.holidays: 2022-2024 and 2026 have no listed holidays while 2025 does; "
                                                        "their volume spreads over every day as if they had only the yearly ones"});
  }
  SECTION("yearly rules alone, or every year listed") {
    CHECK(test::scenario_from_yaml(test::flat_scenario(1000, "calendar: { holidays: [\"01-01\", \"03-01\"] }\n")).warnings.empty());
    CHECK(test::scenario_from_yaml(test::flat_scenario(1000, "calendar: { holidays: [2022-01-01, 2023-01-01] }\n")).warnings.empty());
  }
}

TEST_CASE("a time zone by IANA name follows its daylight-saving changes") {
  std::string text = test::flat_scenario(1000, R"(
calendar: { timezone: America/New_York }
replay: { window: interval, from: 2023-07-04T09:00, to: 2023-07-04T10:00 }
)");
  const auto scenario = test::scenario_from_yaml(text);
  CHECK(scenario.calendar.time_zone.name() == "America/New_York");
  // 09:00 in New York in July is 13:00 UTC (EDT, -04:00); in January 14:00 UTC (EST).
  CHECK(format_date_time(scenario.replay.from) == "2023-07-04 13:00:00");
  const auto january = static_cast<double>(parse_date_time("2023-01-04T09:00")->time_since_epoch().count());
  CHECK(scenario.calendar.time_zone.to_real(january) - january == 5 * 3600.0);
  CHECK(scenario.warnings.empty());

  // Projected past the database's last explicit change, the model says what it cannot know.
  text.replace(text.find("project_to: 2023"), 16, "project_to: 2040");
  CHECK(test::scenario_from_yaml(text).warnings ==
        std::vector<std::string>{"calendar.timezone: the system's time zone database has America/New_York's clock changes until 2037 only; "
                                 "2038-2040 are modelled without daylight saving"});
}

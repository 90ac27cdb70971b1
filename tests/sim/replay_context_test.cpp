// What a replay stands for: the window, its compression and scale, and the modelled real-world
// rates over it, checked against the schedule's own expected count and against the rate model
// sampled second by second.
#include <catch2/catch.hpp>

#include <algorithm>

#include "scenario_builder.hpp"
#include "uptake/base/civil_time.hpp"
#include "uptake/sim/replay_context.hpp"

using namespace uptake;
using namespace uptake::sim;

namespace {

constexpr double kVolume = 8'099'791.0;

double instant(const char* utc) { return static_cast<double>(parse_date_time(utc)->time_since_epoch().count()); }

Scenario scenario_with(const std::string& extra) { return test::scenario_from_yaml(test::flat_scenario(kVolume, extra)); }

}  // namespace

TEST_CASE("a day's replay: compression, scale, the modelled rates and the surge inside it") {
  const auto scenario = scenario_with(R"(
calendar:
  timezone: "+09:00"
  hour_profile: [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 3.2, 3.0, 3.5, 3.0, 2.8, 2.6, 2.4, 2.2, 1.6, 1.2, 1.0, 0.8, 0.6, 0.3]
events:
  - { name: launch, start: 2023-03-06T09:30, ramp_up: 20m, plateau: 1h, decay: 3h, multiplier: 4 }
  - { name: last-year, start: 2022-03-06T09:30, plateau: 1h, multiplier: 2 }
  - { name: evening, start: 2023-03-06T23:00, plateau: 3h, multiplier: 1.5 }
replay: { window: day, day: 2023-03-06, duration: 10m, scale: 0.02 }
)");
  const RateModel model(scenario, {{2023, kVolume}});
  const auto window = replay_window(scenario, model);
  const auto context = replay_context(scenario, model, window);

  CHECK(context.window == ReplayWindowKind::day);
  CHECK_FALSE(context.year);
  CHECK(context.from == instant("2023-03-05T15:00"));  // local midnight at +09:00
  CHECK(context.to == instant("2023-03-06T15:00"));
  CHECK(context.time_zone == "+09:00");
  CHECK(context.utc_offset_seconds == 9 * 3600.0);
  CHECK(context.clock_changes.empty());
  CHECK(context.window_seconds() == 86400.0);
  CHECK(context.compression() == Approx(144));
  CHECK(context.combined_factor() == Approx(2.88));

  // The schedule's expected count is the modelled mean times the window, times the scale; and
  // replay_mean_rps over the replay's duration is the same count.
  const ArrivalSchedule schedule(model, window, 1);
  CHECK(context.modelled_mean_rps * context.window_seconds() * context.scale == Approx(schedule.expected_arrivals()).epsilon(1e-12));
  CHECK(context.replay_mean_rps() * context.duration.count() == Approx(schedule.expected_arrivals()).epsilon(1e-12));

  // The peak is the largest rate at any instant: no second of the day exceeds it, and one comes
  // within a hair of it (the surge's plateau, flat for an hour).
  double sampled_peak = 0, sampled_total = 0;
  for (double t = context.from; t < context.to; t += 1.0) {
    sampled_peak = std::max(sampled_peak, model.total_rate(t));
    sampled_total += model.total_rate(t);
  }
  CHECK(context.modelled_peak_rps >= sampled_peak * (1 - 1e-12));
  CHECK(context.modelled_peak_rps == Approx(sampled_peak).epsilon(1e-9));
  CHECK(sampled_total / 86400 == Approx(context.modelled_mean_rps).epsilon(1e-3));
  CHECK(context.replay_peak_rps() == Approx(context.modelled_peak_rps * 2.88));

  // The surge of that day, clipped where it runs past the window's end; last year's is not in it.
  REQUIRE(context.events.size() == 2);
  CHECK(context.events[0].name == "launch");
  CHECK(context.events[0].from == instant("2023-03-06T00:30"));
  CHECK(context.events[0].to == instant("2023-03-06T04:50"));
  CHECK(context.events[0].multiplier == 4);
  CHECK(context.events[1].name == "evening");
  CHECK(context.events[1].from == instant("2023-03-06T14:00"));
  CHECK(context.events[1].to == context.to);
  CHECK(context.replay_seconds_of(context.events[0].from) == Approx((9.5 * 3600) / 144));
}

TEST_CASE("a peak hour's replay names its year; a flat hour's peak is its mean") {
  const auto scenario = scenario_with("replay: { window: peak_hour, year: 2023, duration: 60s, scale: 0.5 }\n");
  const RateModel model(scenario, {{2023, kVolume}});
  const auto context = replay_context(scenario, model, replay_window(scenario, model));
  CHECK(context.window == ReplayWindowKind::peak_hour);
  CHECK(context.year == 2023);
  CHECK(context.window_seconds() == 3600.0);
  CHECK(context.compression() == Approx(60));
  CHECK(context.combined_factor() == Approx(30));
  CHECK(context.modelled_mean_rps == Approx(model.design_peak(2023).total_peak_hour_rate).epsilon(1e-12));
  CHECK(context.modelled_peak_rps == Approx(context.modelled_mean_rps).epsilon(1e-12));
  CHECK(context.time_zone == "UTC");
  CHECK(context.events.empty());
}

TEST_CASE("a day on which the clock changes lists the change") {
  // Berlin: on Sunday 26 March 2023 the clock goes from +01:00 to +02:00 at 01:00 UTC.
  const auto scenario = scenario_with(R"(
calendar: { timezone: Europe/Berlin }
replay: { window: day, day: 2023-03-26, duration: 23s }
)");
  const RateModel model(scenario, {{2023, kVolume}});
  const auto context = replay_context(scenario, model, replay_window(scenario, model));
  CHECK(context.time_zone == "Europe/Berlin");
  CHECK(context.window_seconds() == 23 * 3600.0);
  CHECK(context.compression() == Approx(3600));
  CHECK(context.utc_offset_seconds == 3600.0);
  REQUIRE(context.clock_changes.size() == 1);
  CHECK(context.clock_changes[0] == ClockChange{instant("2023-03-26T01:00"), 7200.0});
  CHECK(context.utc_offset_at(instant("2023-03-26T00:59")) == 3600.0);
  CHECK(context.utc_offset_at(instant("2023-03-26T01:00")) == 7200.0);
}

#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>
#include <map>

#include "scenario_builder.hpp"
#include "uptake/sim/rate.hpp"

using namespace uptake;
using namespace uptake::sim;
using namespace std::chrono;

namespace {
constexpr double kSecondsIn2023 = 365.0 * 86400.0;
Instant instant(const char* utc) { return static_cast<double>(parse_date_time(utc)->time_since_epoch().count()); }
}  // namespace

TEST_CASE("a flat calendar spreads a year's volume evenly") {
  const auto scenario = test::scenario_from_yaml(test::flat_scenario(kSecondsIn2023));
  const RateModel model(scenario, {{2023, kSecondsIn2023}});
  CHECK(model.total_rate(instant("2023-03-01T12:34")) == Approx(1.0));
  CHECK(model.total_rate(instant("2024-01-01T00:00")) == 0.0);  // no volume known for 2024
  const auto peak = model.design_peak(2023);
  CHECK(peak.total_peak_hour_rate == Approx(1.0));
  CHECK(peak.peak_second_rate[0] == 5.0);  // Poisson(1): P(X > 5) = 0.00059 <= 0.1% < P(X > 4)
}

TEST_CASE("the calendar's shares of a year add up to the year's volume") {
  const std::string calendar = R"(
calendar:
  timezone: "+09:00"
  month_factors: [1.05, 0.95, 1.20, 1.00, 0.95, 0.90, 0.90, 0.85, 0.95, 1.00, 1.00, 1.05]
  weekday_factors: [1.20, 1.10, 1.05, 1.05, 1.10, 0.30, 0.20]
  holidays: [2023-01-01, 2023-03-01, 2023-05-05]
  holiday_factor: 0.25
  hour_profile: [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 3.2, 3.0, 3.5, 3.0, 2.8, 2.6, 2.4, 2.2, 1.6, 1.2, 1.0, 0.8, 0.6, 0.3]
)";
  const auto scenario = test::scenario_from_yaml(test::flat_scenario(8'099'791, calendar));
  const RateModel model(scenario, {{2023, 8'099'791}});
  double shares = 0;
  for (sys_days day = sys_days{2023y / January / 1}; day <= sys_days{2023y / December / 31}; day += days{1}) {
    shares += model.calendar().day_share(day);
  }
  CHECK(shares == Approx(1.0).epsilon(1e-12));
  const Instant year_start = model.calendar().day_start(sys_days{2023y / January / 1});
  const Instant year_end = model.calendar().day_start(sys_days{2024y / January / 1});
  CHECK(model.expected_requests(0, year_start, year_end) == Approx(8'099'791).epsilon(1e-9));

  // Monday 2023-01-09 against Tuesday 2023-01-10, same local hour: the weekday factors' ratio.
  CHECK(model.total_rate(instant("2023-01-09T03:30")) / model.total_rate(instant("2023-01-10T03:30")) == Approx(1.20 / 1.10));
  // A holiday (Wednesday 2023-03-01) against the Wednesday after: holiday factor over weekday factor.
  CHECK(model.total_rate(instant("2023-03-01T03:30")) / model.total_rate(instant("2023-03-08T03:30")) == Approx(0.25 / 1.05));
  // 12:00-13:00 local is 03:00-04:00 UTC: the busiest bin; 03:00 local (18:00 UTC the day before) a quiet one.
  CHECK(model.total_rate(instant("2023-01-10T03:30")) / model.total_rate(instant("2023-01-09T18:30")) == Approx(3.5 / 0.1));
  const auto peak = model.design_peak(2023);
  // The busiest hour is a Monday in March at 12:00 local (March has the largest month factor).
  const auto local_start = sys_seconds{seconds{static_cast<long long>(peak.peak_hour_start)} + hours{9}};
  CHECK(format_date_time(local_start).substr(11) == "12:00:00");
  CHECK(weekday{floor<days>(local_start)} == Monday);
  CHECK(static_cast<unsigned>(year_month_day{floor<days>(local_start)}.month()) == 3);
}

TEST_CASE("holiday rules hold every year, listed dates in their year only") {
  const auto scenario = test::scenario_from_yaml(test::flat_scenario(kSecondsIn2023, R"(
calendar:
  weekday_factors: [1.20, 1.10, 1.05, 1.05, 1.10, 0.30, 0.20]
  holidays: ["01-01", third monday of january, last Monday of May, 2023-03-01]
  holiday_factor: 0.25
)"));
  REQUIRE(scenario.calendar.yearly_holidays.size() == 3);
  const RateModel model(scenario, {{2023, kSecondsIn2023}, {2024, kSecondsIn2023}});
  const auto weight = [&](const char* date) { return model.calendar().day_weight(*parse_date(date)); };
  for (const char* holiday : {"2023-01-01", "2024-01-01", "2023-01-16", "2024-01-15", "2023-05-29", "2024-05-27", "2023-03-01"}) {
    INFO(holiday);
    CHECK(weight(holiday) == 0.25);
  }
  CHECK(weight("2023-01-09") == 1.20);  // the second Monday
  CHECK(weight("2023-05-22") == 1.20);  // not the last Monday of May
  CHECK(weight("2024-03-01") == 1.10);  // a Friday: listed for 2023 only
}

TEST_CASE("days of 23 and 25 hours keep their share of the year") {
  // Berlin: on Sunday 26 March 2023 the clock skips 02:00-03:00 (at 01:00 UTC); on Sunday
  // 29 October 2023 it repeats 02:00-03:00 (from 01:00 UTC).
  const std::vector<double> profile = {0.2, 0.1, 0.4, 0.1, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 3.2, 3.0, 3.5, 3.0, 2.8, 2.6, 2.4, 2.2, 1.6, 1.2, 1.0, 0.8, 0.6, 0.3};
  const auto scenario = test::scenario_from_yaml(test::flat_scenario(kSecondsIn2023, R"(
calendar:
  timezone: Europe/Berlin
  hour_profile: [0.2, 0.1, 0.4, 0.1, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 3.2, 3.0, 3.5, 3.0, 2.8, 2.6, 2.4, 2.2, 1.6, 1.2, 1.0, 0.8, 0.6, 0.3]
events: [{ name: summer, start: 2023-07-01T10:00, plateau: 1h, multiplier: 1.01, additive: true }]
)"));
  const RateModel model(scenario, {{2023, kSecondsIn2023}});
  const auto& calendar = model.calendar();
  double shares = 0;
  for (sys_days day = sys_days{2023y / January / 1}; day <= sys_days{2023y / December / 31}; day += days{1}) shares += calendar.day_share(day);
  CHECK(shares == Approx(1.0).epsilon(1e-12));

  const double two_am = profile[2] / std::accumulate(profile.begin(), profile.end(), 0.0);  // the changed hour's share
  const sys_days spring{2023y / March / 26};
  const sys_days autumn{2023y / October / 29};
  CHECK(calendar.day_start(spring) == instant("2023-03-25T23:00"));
  CHECK(calendar.day_start(spring + days{1}) - calendar.day_start(spring) == 23 * 3600.0);
  CHECK(calendar.day_start(autumn + days{1}) - calendar.day_start(autumn) == 25 * 3600.0);
  CHECK(calendar.day_start(sys_days{2023y / July / 1}) == instant("2023-06-30T22:00"));
  for (const auto day : {spring, autumn}) {
    INFO(format_date(day));
    // The day carries its share of the year over its real hours, no more, no less.
    const double day_total = model.expected_requests(0, calendar.day_start(day), calendar.day_start(day + days{1}));
    CHECK(day_total == Approx(kSecondsIn2023 * calendar.day_share(day)).epsilon(1e-12));
  }
  // 12:30 local against the Sunday before: the skipped hour's share goes to the day's other hours ...
  CHECK(model.rate(0, instant("2023-03-26T10:30")) / model.rate(0, instant("2023-03-19T11:30")) == Approx(1 / (1 - two_am)));
  // ... and the repeated hour's share comes from them; the two real hours of 02:00-03:00 are alike.
  CHECK(model.rate(0, instant("2023-10-29T11:30")) / model.rate(0, instant("2023-10-22T10:30")) == Approx(1 / (1 + two_am)));
  CHECK(model.rate(0, instant("2023-10-29T00:30")) == Approx(model.rate(0, instant("2023-10-29T01:30"))));
  // A local time in summer is two hours ahead of UTC.
  CHECK(model.event_multiplier(0, instant("2023-07-01T07:59")) == 1.0);
  CHECK(model.event_multiplier(0, instant("2023-07-01T08:00")) == 1.01);
  // The year's total is its volume, plus the additive event's 1% of one hour; the busiest
  // clock hour is 12:00 on the short day.
  const double event_extra = 0.01 * model.rate(0, instant("2023-07-01T08:30")) / 1.01 * 3600;
  CHECK(model.expected_requests(0, calendar.day_start(sys_days{2023y / January / 1}), calendar.day_start(sys_days{2024y / January / 1})) ==
        Approx(kSecondsIn2023 + event_extra).epsilon(1e-12));
  const auto peak = model.design_peak(2023);
  CHECK(peak.peak_hour_start == instant("2023-03-26T10:00"));
}

TEST_CASE("an event multiplies the rate by its ramp, plateau and decay") {
  const std::string events = R"(
events:
  - name: deadline
    start: 2023-06-01T10:00
    ramp_up: 1h
    plateau: 2h
    decay: 1h
    multiplier: 3
    additive: true   # the shape alone, on the flat rate
)";
  const auto scenario = test::scenario_from_yaml(test::flat_scenario(kSecondsIn2023, events));
  const RateModel model(scenario, {{2023, kSecondsIn2023}});
  CHECK(model.total_rate(instant("2023-06-01T09:59")) == Approx(1.0));
  CHECK(model.total_rate(instant("2023-06-01T10:30")) == Approx(2.0));
  CHECK(model.total_rate(instant("2023-06-01T12:00")) == Approx(3.0));
  CHECK(model.total_rate(instant("2023-06-01T13:30")) == Approx(2.0));
  CHECK(model.total_rate(instant("2023-06-01T14:00")) == Approx(1.0));
  // By hand: 4 h at 1 rps, plus 1 h x 1 (ramp, mean factor 2) + 2 h x 2 + 1 h x 1 (decay) extra.
  CHECK(model.expected_requests(0, instant("2023-06-01T10:00"), instant("2023-06-01T14:00")) == Approx(10 * 3600.0));
  const auto peak = model.design_peak(2023);
  CHECK(peak.total_peak_hour_rate == Approx(3.0));
  CHECK(peak.peak_hour_start >= instant("2023-06-01T11:00"));
  CHECK(peak.peak_hour_start <= instant("2023-06-01T12:00"));
}

TEST_CASE("an event that ends or starts at once is integrated exactly") {
  // No ramps: the factor jumps from 1 to 3 and back, at the edges of pieces. 2 h at 3x is
  // 4 h of requests at the flat 1 per second; a quiet spell at 0.2 for 1 h is 0.2 h.
  const auto scenario = test::scenario_from_yaml(test::flat_scenario(kSecondsIn2023, R"(
events:
  - { name: surge, start: 2023-06-01T10:00, plateau: 2h, multiplier: 3, additive: true }
  - { name: outage, start: 2023-06-02T10:00, plateau: 1h, multiplier: 0.2, additive: true }
)"));
  const RateModel model(scenario, {{2023, kSecondsIn2023}});
  CHECK(model.expected_requests(0, instant("2023-06-01T09:00"), instant("2023-06-01T13:00")) == Approx(8 * 3600.0).epsilon(1e-12));
  CHECK(model.expected_requests(0, instant("2023-06-02T10:00"), instant("2023-06-02T11:00")) == Approx(0.2 * 3600.0).epsilon(1e-12));
}

TEST_CASE("a yearly event recurs in every year's design peak") {
  const std::string events = R"(
events:
  - name: tax-settlement
    every: year
    start: 2021-01-15T08:00
    ramp_up: 2h
    plateau: 10h
    decay: 3d
    multiplier: 2.5
)";
  const auto scenario = test::scenario_from_yaml(test::flat_scenario(kSecondsIn2023, events));
  // Three years alike (none is a leap year, the calendar is flat) with growing volumes.
  const std::map<int, double> volumes = {{2021, 1e7}, {2022, 1.5e7}, {2023, 1.8e7}};
  const RateModel model(scenario, volumes);
  std::vector<DesignPeak> peaks;
  for (const auto& [year, volume] : volumes) {
    const auto peak = model.design_peak(year);
    INFO(year);
    const std::string day = std::to_string(year) + "-01-15T";
    CHECK(peak.peak_hour_start >= instant((day + "10:00").c_str()));
    CHECK(peak.peak_hour_start + 3600 <= instant((day + "20:00").c_str()));
    peaks.push_back(peak);
  }
  // Alike years: the peaks differ by the volumes' ratio alone.
  CHECK(peaks[1].total_peak_hour_rate / peaks[0].total_peak_hour_rate == Approx(1.5).epsilon(1e-9));
  CHECK(peaks[2].total_peak_hour_rate / peaks[1].total_peak_hour_rate == Approx(1.2).epsilon(1e-9));
}

TEST_CASE("events recur on the nth weekday of a month and on listed dates") {
  const auto scenario = test::scenario_from_yaml(test::flat_scenario(kSecondsIn2023, R"(
calendar: { timezone: "+09:00" }
events:
  - { name: second-monday, every: year, on: second monday of january, at: "09:00", plateau: 1h, multiplier: 2, from: 2023 }
  - { name: last-friday, every: year, on: last fri of may, plateau: 1h, multiplier: 2, until: 2024 }
  - { name: fifth-monday, every: year, on: 5th Monday of January, at: "12:30", plateau: 1h, multiplier: 2 }
  - { name: exams, starts: [2023-11-16T08:00, 2024-11-14T08:00], plateau: 1h, multiplier: 2 }
)"));
  REQUIRE(scenario.events.size() == 4);
  const auto local_texts = [](const std::vector<local_seconds>& starts) {
    std::vector<std::string> texts;
    for (const auto start : starts) texts.push_back(format_date_time(sys_seconds{start.time_since_epoch()}));
    return texts;
  };
  CHECK(local_texts(scenario.events[0].occurrences(2021, 2025)) ==
        std::vector<std::string>{"2023-01-09 09:00:00", "2024-01-08 09:00:00", "2025-01-13 09:00:00"});
  CHECK(local_texts(scenario.events[1].occurrences(2023, 2026)) == std::vector<std::string>{"2023-05-26 00:00:00", "2024-05-31 00:00:00"});
  // January 2025 has four Mondays, so the event skips that year.
  CHECK(local_texts(scenario.events[2].occurrences(2023, 2025)) == std::vector<std::string>{"2023-01-30 12:30:00", "2024-01-29 12:30:00"});
  CHECK(local_texts(scenario.events[3].occurrences(2023, 2023)) == std::vector<std::string>{"2023-11-16 08:00:00", "2024-11-14 08:00:00"});

  // In the model, 09:00 in Seoul is 00:00 UTC: the factor doubles the rate from then for an hour.
  const RateModel model(scenario, {{2023, kSecondsIn2023}});
  CHECK(model.event_multiplier(0, instant("2023-01-08T23:59")) == 1.0);
  CHECK(model.event_multiplier(0, instant("2023-01-09T00:30")) == 2.0);
  CHECK(model.event_multiplier(0, instant("2023-11-15T23:30")) == 2.0);
  CHECK(model.event_multiplier(0, instant("2023-05-25T15:30")) == 2.0);
  CHECK(model.event_multiplier(0, instant("2023-05-26T15:30")) == 1.0);
}

TEST_CASE("events move demand within the year unless additive") {
  // A shaped calendar, two endpoints, a yearly surge on both, a one-off on verify only, a
  // quiet spell, and an event across the year end: each year keeps its volume per endpoint.
  const std::string body = R"(
calendar:
  timezone: "+09:00"
  month_factors: [1.25, 1.00, 1.15, 1.00, 0.95, 0.90, 0.85, 0.85, 0.95, 1.00, 1.00, 1.10]
  weekday_factors: [1.25, 1.10, 1.05, 1.05, 1.10, 0.35, 0.25]
  hour_profile: [0.15, 0.08, 0.05, 0.05, 0.05, 0.10, 0.30, 0.80, 1.80, 2.80, 3.10, 3.20,
                 3.60, 3.30, 3.00, 2.80, 2.60, 2.30, 1.70, 1.30, 1.10, 0.90, 0.60, 0.30]
events:
  - { name: tax-settlement, every: year, start: 2022-01-15T08:00, ramp_up: 2h, plateau: 10h, decay: 3d, multiplier: 2.5 }
  - { name: pass, start: 2022-12-13T00:00, ramp_up: 7d, plateau: 30d, decay: 20d, multiplier: 2.2, endpoints: [verify] }
  - { name: outage, start: 2023-06-01T10:00, plateau: 2h, multiplier: 0.2 }
)";
  std::string text = test::flat_scenario(8'099'791, body);
  text.replace(text.find("mix:"), text.find('\n', text.find("mix:")) - text.find("mix:"),
               "mix: { requests_per_use: 2, endpoints: { issue: 0.55, verify: 0.45 } }");
  const std::map<int, double> volumes = {{2022, 8'099'791}, {2023, 24'408'575}};
  const auto year_total = [](const RateModel& model, std::size_t endpoint, int year) {
    return model.expected_requests(endpoint, model.calendar().day_start(sys_days{std::chrono::year{year} / January / 1}),
                                   model.calendar().day_start(sys_days{std::chrono::year{year + 1} / January / 1}));
  };
  const RateModel model(test::scenario_from_yaml(text), volumes);
  for (const auto& [year, volume] : volumes) {
    INFO(year);
    CHECK(year_total(model, 0, year) == Approx(volume * 2 * 0.55).epsilon(1e-9));
    CHECK(year_total(model, 1, year) == Approx(volume * 2 * 0.45).epsilon(1e-9));
  }
  // The surge still stands out by its multiplier against the hours around it.
  // 12:30 on Sunday 15 January is on the plateau; the Sunday before is an ordinary one.
  CHECK(model.rate(0, instant("2023-01-15T03:30")) / model.rate(0, instant("2023-01-08T03:30")) == Approx(2.5));

}

TEST_CASE("an additive event adds its mass on top of the year's volume") {
  // Flat 1 request per second; a 2-hour plateau at 3x adds 2 x 3600 x 2 = 14,400 requests.
  const std::string event = "events: [{ name: launch, start: 2023-06-01T10:00, plateau: 2h, multiplier: 3";
  const auto year_total = [](const RateModel& model) { return model.expected_requests(0, instant("2023-01-01T00:00"), instant("2024-01-01T00:00")); };
  const RateModel additive(test::scenario_from_yaml(test::flat_scenario(kSecondsIn2023, event + ", additive: true }]\n")), {{2023, kSecondsIn2023}});
  CHECK(year_total(additive) == Approx(kSecondsIn2023 + 14'400).epsilon(1e-12));
  CHECK(additive.total_rate(instant("2023-03-01T00:00")) == Approx(1.0).epsilon(1e-12));
  CHECK(additive.total_rate(instant("2023-06-01T11:00")) == Approx(3.0).epsilon(1e-12));
  // By default the rest of the year gives up the same 14,400 requests, pro rata.
  const RateModel moved(test::scenario_from_yaml(test::flat_scenario(kSecondsIn2023, event + " }]\n")), {{2023, kSecondsIn2023}});
  const double rest = kSecondsIn2023 / (kSecondsIn2023 + 14'400);
  CHECK(year_total(moved) == Approx(kSecondsIn2023).epsilon(1e-12));
  CHECK(moved.total_rate(instant("2023-03-01T00:00")) == Approx(rest).epsilon(1e-12));
  CHECK(moved.total_rate(instant("2023-06-01T11:00")) == Approx(3.0 * rest).epsilon(1e-12));
  CHECK(moved.design_peak(2023).total_peak_hour_rate == Approx(3.0 * rest).epsilon(1e-12));
}

TEST_CASE("journeys turn each use into the chain's expected requests") {
  const std::string journeys = R"(
journeys:
  start: login
  steps:
    login: { endpoint: login, next: { login: 0.2, issue: 0.8 } }
    issue: { endpoint: issue, next: { exit: 1 } }
)";
  std::string text = test::flat_scenario(kSecondsIn2023);
  text = text.substr(0, text.find("mix:")) + journeys;
  const auto scenario = test::scenario_from_yaml(text);
  const RateModel model(scenario, {{2023, kSecondsIn2023}});
  REQUIRE(model.endpoints().size() == 2);
  CHECK(model.rate(0, instant("2023-05-05T05:00")) == Approx(1.25));
  CHECK(model.rate(1, instant("2023-05-05T05:00")) == Approx(1.0));
}

TEST_CASE("Poisson upper quantiles match exact summation") {
  // Smallest k with P(X > k) <= 0.001, from the exact cumulative sum of the Poisson pmf.
  CHECK(poisson_upper_quantile(0.05, 0.001) == 2);
  CHECK(poisson_upper_quantile(1, 0.001) == 5);
  CHECK(poisson_upper_quantile(10, 0.001) == 21);
  CHECK(poisson_upper_quantile(12.13, 0.001) == 24);
  CHECK(poisson_upper_quantile(100, 0.001) == 132);
  // Large means: the normal approximation with skew correction, mean + 3.09 sd + (z^2 - 1) / 6.
  CHECK(std::abs(poisson_upper_quantile(1e6, 0.001) - (1e6 + 3.0902 * 1000 + 1.43)) <= 2.0);
  CHECK(poisson_upper_quantile(0, 0.001) == 0);
}

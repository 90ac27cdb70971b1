#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "scenario_builder.hpp"
#include "uptake/sim/arrivals.hpp"

using namespace uptake;
using namespace uptake::sim;

namespace {

constexpr double kVolume = 8'099'791.0;

// A day with a shaped calendar and a surge, compressed into ten minutes at 1.5x: many pieces,
// changing rates, thinning inside the event.
const std::string kShapedDay = R"(
calendar:
  timezone: "+09:00"
  weekday_factors: [1.20, 1.10, 1.05, 1.05, 1.10, 0.30, 0.20]
  hour_profile: [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 3.2, 3.0, 3.5, 3.0, 2.8, 2.6, 2.4, 2.2, 1.6, 1.2, 1.0, 0.8, 0.6, 0.3]
events:
  - { name: launch, start: 2023-03-06T09:30, ramp_up: 20m, plateau: 1h, decay: 3h, multiplier: 4, endpoints: [verify] }
replay: { window: day, day: 2023-03-06, duration: 10m, scale: 3 }
)";

Scenario shaped_scenario() {
  std::string text = test::flat_scenario(kVolume, kShapedDay);
  const auto at = text.find("mix:");
  text.replace(at, text.find('\n', at) - at, "mix: { requests_per_use: 2, endpoints: { issue: 0.3, verify: 0.7 } }");
  return test::scenario_from_yaml(text);
}

std::vector<Arrival> drain(ArrivalSchedule schedule) {
  std::vector<Arrival> arrivals;
  Arrival arrival;
  while (schedule.next(arrival)) arrivals.push_back(arrival);
  return arrivals;
}

}  // namespace

TEST_CASE("arrival counts match the integral of the rate within Poisson bounds") {
  const auto scenario = shaped_scenario();
  const RateModel model(scenario, {{2023, kVolume}});
  const auto window = replay_window(scenario, model);
  REQUIRE(window.duration.count() == Approx(600));
  const auto arrivals = drain(ArrivalSchedule(model, window, 20230306));

  // 120 windows of 5 s replay time; each count against its expected value from the model.
  const int windows = 120;
  const double width = window.duration.count() / windows;
  std::vector<double> counts(windows, 0.0);
  std::vector<double> verify_counts(windows, 0.0);
  for (const auto& arrival : arrivals) {
    const auto index = static_cast<std::size_t>(std::chrono::duration<double>(arrival.intended_offset).count() / width);
    REQUIRE(index < counts.size());
    counts[index] += 1;
    if (arrival.endpoint == 1) verify_counts[index] += 1;
  }
  const double c = window.compression();
  double chi_square = 0;
  for (int w = 0; w < windows; ++w) {
    const Instant from = window.from + w * width * c;
    const Instant to = from + width * c;
    const double expected_issue = model.expected_requests(0, from, to) * window.scale;
    const double expected_verify = model.expected_requests(1, from, to) * window.scale;
    const double expected = expected_issue + expected_verify;
    INFO("window " << w << ": expected " << expected << ", counted " << counts[w]);
    REQUIRE(expected > 50);
    CHECK(std::abs(counts[w] - expected) <= 4.5 * std::sqrt(expected));
    CHECK(std::abs(verify_counts[w] - expected_verify) <= 4.5 * std::sqrt(expected_verify));
    chi_square += (counts[w] - expected) * (counts[w] - expected) / expected;
  }
  // Chi-square with 120 degrees of freedom: its 99.9th percentile is 173.6.
  CHECK(chi_square < 173.6);
  const double expected_total = ArrivalSchedule(model, window, 1).expected_arrivals();
  CHECK(std::abs(static_cast<double>(arrivals.size()) - expected_total) <= 4.5 * std::sqrt(expected_total));
  CHECK(std::is_sorted(arrivals.begin(), arrivals.end(), [](const Arrival& a, const Arrival& b) { return a.intended_offset < b.intended_offset; }));
}

TEST_CASE("gaps of a constant rate are exponential (Kolmogorov-Smirnov)") {
  const double rate = 1000.0;
  auto arrivals = drain(ArrivalSchedule::constant(rate, Seconds{100}, 99));
  REQUIRE(arrivals.size() > 90'000);
  std::vector<double> gaps;
  for (std::size_t i = 1; i < arrivals.size(); ++i) {
    gaps.push_back(std::chrono::duration<double>(arrivals[i].intended_offset - arrivals[i - 1].intended_offset).count());
  }
  std::sort(gaps.begin(), gaps.end());
  double largest_distance = 0;
  const auto n = static_cast<double>(gaps.size());
  for (std::size_t i = 0; i < gaps.size(); ++i) {
    const double model_cdf = 1.0 - std::exp(-rate * gaps[i]);
    largest_distance = std::max({largest_distance, std::abs(model_cdf - static_cast<double>(i) / n), std::abs(model_cdf - static_cast<double>(i + 1) / n)});
  }
  // Critical value at the 1% level: 1.63 / sqrt(n). Nanosecond rounding of offsets is far below it.
  CHECK(largest_distance < 1.63 / std::sqrt(n));
  CHECK(std::abs(n + 1 - rate * 100) <= 4.5 * std::sqrt(rate * 100));
}

TEST_CASE("the same seed gives the same schedule, another seed another") {
  const auto a = drain(ArrivalSchedule::constant(500, Seconds{2}, 5));
  const auto b = drain(ArrivalSchedule::constant(500, Seconds{2}, 5));
  const auto c = drain(ArrivalSchedule::constant(500, Seconds{2}, 6));
  REQUIRE(a.size() == b.size());
  CHECK(std::equal(a.begin(), a.end(), b.begin(), [](const Arrival& x, const Arrival& y) { return x.intended_offset == y.intended_offset; }));
  CHECK((a.size() != c.size() || a.front().intended_offset != c.front().intended_offset));
}

TEST_CASE("shards partition the schedule exactly") {
  const auto scenario = shaped_scenario();
  const RateModel model(scenario, {{2023, kVolume}});
  const auto window = replay_window(scenario, model);
  const auto whole = drain(ArrivalSchedule(model, window, 42));
  for (std::uint32_t count : {2u, 3u, 7u}) {
    std::vector<Arrival> joined;
    for (std::uint32_t index = 0; index < count; ++index) {
      const auto part = drain(ArrivalSchedule(model, window, 42, Shard{index, count}));
      // Each shard carries its share of the whole, within one arrival.
      CHECK(std::abs(static_cast<double>(part.size()) - static_cast<double>(whole.size()) / count) <= 1.0);
      joined.insert(joined.end(), part.begin(), part.end());
    }
    std::sort(joined.begin(), joined.end(), [](const Arrival& a, const Arrival& b) { return a.sequence < b.sequence; });
    REQUIRE(joined.size() == whole.size());
    for (std::size_t i = 0; i < whole.size(); ++i) {
      REQUIRE(joined[i].sequence == whole[i].sequence);
      REQUIRE(joined[i].intended_offset == whole[i].intended_offset);
      REQUIRE(joined[i].endpoint == whole[i].endpoint);
    }
  }
}

TEST_CASE("shard text") {
  CHECK(parse_shard("0/1"));
  CHECK(parse_shard("3/4")->index == 3);
  CHECK_FALSE(parse_shard("4/4"));
  CHECK_FALSE(parse_shard("1/0"));
  CHECK_FALSE(parse_shard("-1/4"));
  CHECK_FALSE(parse_shard("1-4"));
  CHECK_FALSE(parse_shard("/4"));
}

#include "uptake/sim/planning.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "uptake/base/civil_time.hpp"
#include "uptake/sim/scenario_loader.hpp"

using namespace std::chrono;
using uptake::format_date;
using uptake::sim::CapacityPlanOptions;
using uptake::sim::design_peak_anchor;
using uptake::sim::ExhaustionKind;
using uptake::sim::plan_capacity;
using uptake::sim::YearlyDesignPeak;

namespace {

const std::vector<YearlyDesignPeak> kDoublingPeaks = {{2025, 100}, {2026, 200}, {2027, 400}};

CapacityPlanOptions capacity_of(double per_second) {
  CapacityPlanOptions options;
  options.instance_capacity_per_second = per_second;
  return options;
}

}  // namespace

TEST_CASE("a yearly design peak stands for 1 July of its year", "[planning]") {
  CHECK(format_date(design_peak_anchor(2025)) == "2025-07-01");
  CHECK(format_date(design_peak_anchor(2028)) == "2028-07-01");
}

TEST_CASE("peaks 100, 200, 400 against a capacity of 300", "[planning]") {
  const auto plan = plan_capacity(kDoublingPeaks, capacity_of(300));
  REQUIRE(plan.years.size() == 3);
  CHECK(plan.years[0].year == 2025);
  CHECK(plan.years[0].design_peak_per_second == 100);
  CHECK(plan.years[0].capacity_per_second == 300);
  CHECK(plan.years[0].headroom_fraction == Approx(2.0));
  CHECK(plan.years[1].headroom_fraction == Approx(0.5));
  CHECK(plan.years[2].headroom_fraction == Approx(-0.25));
  CHECK(plan.years[0].instances_needed == 1);
  CHECK(plan.years[1].instances_needed == 1);
  CHECK(plan.years[2].instances_needed == 2);

  // 100 x 2^t = 300 at t = log2(3) = 1.585 years after 2025-07-01: 0.585 of the 365 days from
  // 2026-07-01 to 2027-07-01 is 213.5 days, and day 213 after 2026-07-01 is 2027-01-30.
  REQUIRE(plan.exhaustion.kind == ExhaustionKind::within_projection);
  REQUIRE(plan.exhaustion.date.has_value());
  const double fraction = std::log2(3.0) - 1;
  CHECK(fraction * 365 == Approx(213.51).margin(0.01));
  CHECK(*plan.exhaustion.date == sys_days{2026y / July / 1} + days{213});
  CHECK(format_date(*plan.exhaustion.date) == "2027-01-30");
  CHECK(describe(plan.exhaustion, kDoublingPeaks) == "2027-01-30");
}

TEST_CASE("instances needed for capacities 50, 100 and 1000", "[planning]") {
  const auto at_50 = plan_capacity(kDoublingPeaks, capacity_of(50));
  CHECK(at_50.years[0].instances_needed == 2);
  CHECK(at_50.years[1].instances_needed == 4);
  CHECK(at_50.years[2].instances_needed == 8);
  CHECK(at_50.years[0].headroom_fraction == Approx(-0.5));
  CHECK(at_50.exhaustion.kind == ExhaustionKind::already_exceeded);
  CHECK_FALSE(at_50.exhaustion.date.has_value());
  CHECK(describe(at_50.exhaustion, kDoublingPeaks) == "already exceeded at the first projected year (2025)");

  // A peak equal to the capacity is carried: 100 needs exactly one instance of 100, and is not exceeded.
  const auto at_100 = plan_capacity(kDoublingPeaks, capacity_of(100));
  CHECK(at_100.years[0].instances_needed == 1);
  CHECK(at_100.years[1].instances_needed == 2);
  CHECK(at_100.years[2].instances_needed == 4);
  CHECK(at_100.years[0].headroom_fraction == 0);
  REQUIRE(at_100.exhaustion.kind == ExhaustionKind::within_projection);
  CHECK(format_date(*at_100.exhaustion.date) == "2025-07-01");

  const auto at_1000 = plan_capacity(kDoublingPeaks, capacity_of(1000));
  CHECK(at_1000.years[0].instances_needed == 1);
  CHECK(at_1000.years[1].instances_needed == 1);
  CHECK(at_1000.years[2].instances_needed == 1);
  CHECK(at_1000.years[2].headroom_fraction == Approx(1.5));
  CHECK(at_1000.exhaustion.kind == ExhaustionKind::not_within_projection);
  CHECK(describe(at_1000.exhaustion, kDoublingPeaks) == "not within the projection (to 2027)");
}

TEST_CASE("target utilisation and deployed instances", "[planning]") {
  CapacityPlanOptions options = capacity_of(100);
  options.target_utilisation_fraction = 0.75;  // 75 usable per instance
  options.deployed_instances = 3;              // 300 deployed
  const auto plan = plan_capacity(kDoublingPeaks, options);
  CHECK(plan.years[0].capacity_per_second == 300);
  CHECK(plan.years[0].instances_needed == 2);   // 100 / 75 = 1.33
  CHECK(plan.years[1].instances_needed == 3);   // 200 / 75 = 2.67
  CHECK(plan.years[2].instances_needed == 6);   // 400 / 75 = 5.33
  // Exhaustion is against the deployed capacity itself: the same date as one instance of 300.
  CHECK(format_date(*plan.exhaustion.date) == "2027-01-30");

  // 300 / (100 x 0.75) is 4 but for the rounding of the division: not 5.
  CHECK(plan_capacity({{2030, 300}}, options).years[0].instances_needed == 4);
}

TEST_CASE("interpolation between points that are not consecutive years, and from no demand", "[planning]") {
  // 100 in 2025 to 1600 in 2029: 800 is reached 3/4 of the way, 1095.75 of the 1461 days (2028
  // has 29 February), so in the evening of 2028-06-30.
  const auto plan = plan_capacity({{2025, 100}, {2029, 1600}}, capacity_of(800));
  const double span = (design_peak_anchor(2029) - design_peak_anchor(2025)).count();
  CHECK(*plan.exhaustion.date == design_peak_anchor(2025) + days{static_cast<int>(std::floor(0.75 * span))});
  CHECK(format_date(*plan.exhaustion.date) == "2028-06-30");

  // From a year with no demand the peak rises linearly: half-way to 300 at 150.
  const auto from_nothing = plan_capacity({{2025, 0}, {2026, 300}}, capacity_of(150));
  CHECK(from_nothing.years[0].instances_needed == 0);
  CHECK(from_nothing.years[0].headroom_fraction == std::numeric_limits<double>::infinity());
  CHECK(format_date(*from_nothing.exhaustion.date) == "2025-12-30");  // 182.5 days after 2025-07-01

  // A peak that dips below the capacity and rises again is exhausted where it first rises past it.
  const auto dipping = plan_capacity({{2025, 100}, {2026, 90}, {2027, 360}}, capacity_of(180));
  CHECK(format_date(*dipping.exhaustion.date) == "2026-12-30");  // 90 x 4^0.5 = 180: 182.5 of 365 days
}

TEST_CASE("planning from a forecast's design peaks", "[planning]") {
  const auto scenario = uptake::sim::load_scenario("scenarios/ecert-korea.yaml");
  const auto forecast = uptake::sim::make_forecast(scenario);
  const auto peaks = uptake::sim::yearly_design_peaks(forecast);
  REQUIRE(peaks.size() == forecast.design_peaks.size());
  for (std::size_t i = 0; i < peaks.size(); ++i) {
    CHECK(peaks[i].year == forecast.design_peaks[i].year);
    CHECK(peaks[i].peak_per_second == forecast.design_peaks[i].total_peak_hour_rate);
  }
  // Capacity half-way between the first and the largest peak: exhausted within the projection.
  double largest = 0;
  for (const auto& peak : peaks) largest = std::max(largest, peak.peak_per_second);
  const auto plan = plan_capacity(peaks, capacity_of((peaks.front().peak_per_second + largest) / 2));
  CHECK(plan.years.size() == peaks.size());
  CHECK(plan.exhaustion.kind == ExhaustionKind::within_projection);
  CHECK(*plan.exhaustion.date > design_peak_anchor(peaks.front().year));
  CHECK(*plan.exhaustion.date <= design_peak_anchor(peaks.back().year));
}

TEST_CASE("arguments outside their bounds are refused", "[planning]") {
  CHECK_THROWS_AS(plan_capacity({}, capacity_of(100)), std::invalid_argument);
  CHECK_THROWS_AS(plan_capacity(kDoublingPeaks, capacity_of(0)), std::invalid_argument);
  CHECK_THROWS_AS(plan_capacity({{2026, 100}, {2025, 200}}, capacity_of(100)), std::invalid_argument);
  CHECK_THROWS_AS(plan_capacity({{2025, 100}, {2025, 200}}, capacity_of(100)), std::invalid_argument);
  CHECK_THROWS_AS(plan_capacity({{2025, -1}}, capacity_of(100)), std::invalid_argument);
  CHECK_THROWS_AS(plan_capacity({{2025, std::nan("")}}, capacity_of(100)), std::invalid_argument);
  auto options = capacity_of(100);
  options.target_utilisation_fraction = 0;
  CHECK_THROWS_AS(plan_capacity(kDoublingPeaks, options), std::invalid_argument);
  options.target_utilisation_fraction = 1.2;
  CHECK_THROWS_AS(plan_capacity(kDoublingPeaks, options), std::invalid_argument);
  options = capacity_of(100);
  options.deployed_instances = 0;
  CHECK_THROWS_AS(plan_capacity(kDoublingPeaks, options), std::invalid_argument);
}

TEST_CASE("exhaustion-date quantiles and instances at a risk, by hand", "[planning][uncertainty]") {
  // Ten draws of peaks 100f, 200f, 400f (2025-2027) against a capacity of 300 that is certain.
  // By planning.hpp's log-linear rule, f = 2 crosses 0.585 of the way from 2025-07-01 (day 213:
  // 2026-01-30); f = 1.5 reaches 300 exactly at 2026-07-01; f = 1 crosses 0.585 of the way from
  // 2026-07-01 (2027-01-30); f <= 0.75 never exceeds 300 by 2027.
  const std::vector<double> factors = {1, 0.5, 2, 1, 0.75, 1, 1.5, 1, 0.5, 1};
  std::vector<uptake::sim::YearlyDesignPeak> peaks = {{2025, 100}, {2026, 200}, {2027, 400}};
  for (auto& peak : peaks) {
    for (double factor : factors) peak.draws.push_back(peak.peak_per_second * factor);
  }
  const std::vector<double> capacities(factors.size(), 300.0);
  const auto plan = uptake::sim::plan_with_uncertainty(peaks, capacities, 1, 1.0, 0.1);
  REQUIRE(plan.exhaustion.size() == 3);
  // Sorted: 2026-01-30, 2026-07-01, 2027-01-30 (x5), never (x3). Nearest rank: the 1st, 5th, 9th.
  CHECK(plan.exhaustion[0].probability == 0.1);
  CHECK(uptake::format_date(*plan.exhaustion[0].exhaustion.date) == "2026-01-30");
  CHECK(uptake::format_date(*plan.exhaustion[1].exhaustion.date) == "2027-01-30");
  CHECK(plan.exhaustion[2].exhaustion.kind == uptake::sim::ExhaustionKind::not_within_projection);
  REQUIRE(plan.years.size() == 3);
  CHECK(plan.years[1].exceedance_probability == Approx(0.1));  // only f = 2 exceeds 300 in 2026
  CHECK(plan.years[2].exceedance_probability == Approx(0.7));  // f > 0.75
  // 2027 needs 400f / 300 instances: 2.67 for f = 2, 2.0 for f = 1.5, 1.33 for f = 1. One draw
  // in ten may go beyond at a 10% risk, so two instances; at 5%, none may: three.
  CHECK(plan.years[2].instances_at_risk == 2);
  CHECK(uptake::sim::plan_with_uncertainty(peaks, capacities, 1, 1.0, 0.05).years[2].instances_at_risk == 3);
  CHECK_THROWS_AS(uptake::sim::plan_with_uncertainty(peaks, {300.0, 300.0}, 1, 1.0, 0.1), std::invalid_argument);
  CHECK_THROWS_AS(uptake::sim::plan_with_uncertainty(peaks, capacities, 1, 1.0, 1.0), std::invalid_argument);
}

TEST_CASE("capacity draws spread over the capacity's interval", "[planning][uncertainty]") {
  const auto draws = uptake::sim::capacity_draws({100, 90, 110, 0.9}, 20000, 11);
  int inside = 0;
  int below_estimate = 0;
  for (double draw : draws) {
    inside += draw >= 90 && draw <= 110;
    below_estimate += draw < 100;
  }
  // The wider side sets the spread: 90 is 0.105 below on the log scale, so sigma = 0.105 / 1.645
  // and 5% fall below 90; 110 is only 0.095 above (z = 1.49), so 6.8% fall above it.
  CHECK(inside / 20000.0 == Approx(0.882).margin(0.008));
  CHECK(below_estimate / 20000.0 == Approx(0.5).margin(0.01));
  const auto certain = uptake::sim::capacity_draws({100, std::nullopt, std::nullopt, 0.9}, 5, 1);
  for (double draw : certain) CHECK(draw == 100);
}

#pragma once
// Capacity planning: a measured capacity set against the forecast's design peaks, year by year,
// and the date the demand outgrows it.
//
// The capacity is what one instance of the target carries with its SLO met, in requests per
// second, as `uptake capacity` measures it with Poisson arrivals at a steady rate. Those
// arrivals already bring the second-to-second bursts of real traffic, so the demand it is set
// against is the design peak's mean rate in the busiest hour (DesignPeak::total_peak_hour_rate),
// not its 99.9th-percentile second, which would count the bursts twice.
//
// Between the yearly points: each year's design peak is anchored at 1 July of its year, the
// middle, where the growth curves place a yearly volume (growth.hpp), although the busiest hour
// itself may fall on any day. Between consecutive points the peak is interpolated log-linearly
// (a constant growth rate over the year, exact for the exponential model and easy to check by
// hand: from 100 to 200 in a year, 300 is reached log2(3) - 1 = 0.585 of the way into the second
// year); a year with no demand (a peak of 0) has no logarithm, and the stretch from it to the
// next point is linear instead. Dates are civil days (std::chrono::sys_days, as civil_time.hpp).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "uptake/sim/forecast.hpp"

namespace uptake::sim {

struct YearlyDesignPeak {
  int year = 0;
  double peak_per_second = 0;  // requests per second, >= 0
  // The peak in each draw of the forecast (a design peak is proportional to its year's volume:
  // the calendar and events only shape how the volume spreads), and their quantiles at the
  // forecast's interval level. Empty when the year was measured or the forecast has no interval.
  std::vector<double> draws{};
  std::optional<double> lower{};
  std::optional<double> upper{};
};

// The total design peak of each year of the forecast (its busiest hour's mean rate), in year order.
std::vector<YearlyDesignPeak> yearly_design_peaks(const Forecast& forecast);

struct CapacityPlanOptions {
  double instance_capacity_per_second = 0;  // one instance within the SLO; > 0
  int deployed_instances = 1;               // what runs today; capacity = instances x instance capacity
  // The share of its measured capacity an instance is planned to run at, 0 < u <= 1. 1 by
  // default: the capacity was measured with the SLO met, so it already holds the margin the SLO
  // asks for; a lower value buys room for failover or a measurement's uncertainty.
  double target_utilisation_fraction = 1.0;
};

struct CapacityPlanYear {
  int year = 0;
  double design_peak_per_second = 0;
  double capacity_per_second = 0;  // deployed instances x instance capacity
  // capacity / peak - 1: 0.25 is 25% to spare, -0.4 is 40% short; +infinity with no demand.
  double headroom_fraction = 0;
  // ceil(peak / (instance capacity x target utilisation)); 0 with no demand.
  std::int64_t instances_needed = 0;
};

enum class ExhaustionKind {
  within_projection,      // the peak first exceeds the capacity on `date`
  not_within_projection,  // the peak stays at or below the capacity to the last projected year
  already_exceeded,       // the peak exceeds the capacity at the first projected year
};

struct Exhaustion {
  ExhaustionKind kind = ExhaustionKind::not_within_projection;
  // within_projection: the day during which the interpolated peak reaches the capacity (it is
  // above it from then on, until it may fall again); empty otherwise.
  std::optional<std::chrono::sys_days> date;
};

struct CapacityPlan {
  std::vector<CapacityPlanYear> years;  // in year order
  Exhaustion exhaustion;
};

// Throws std::invalid_argument for no peaks, years not strictly increasing, a peak that is
// negative or not finite, a capacity that is not positive and finite, fewer than one deployed
// instance, or a target utilisation outside (0, 1].
CapacityPlan plan_capacity(const std::vector<YearlyDesignPeak>& peaks, const CapacityPlanOptions& options);

// The plan with the uncertainty of the demand and of the capacity: each draw of the forecast
// meets a capacity drawn from the capacity's interval, and gives its own exhaustion date.
struct UncertainCapacity {
  double estimate = 0;              // per instance, requests per second, > 0
  std::optional<double> lower;      // the capacity interval at `confidence`; both or neither
  std::optional<double> upper;
  double confidence = 0.9;
};

// Capacity draws: log-normal with median `estimate`, its spread such that [lower, upper] holds
// `confidence` of it (an asymmetric interval takes the wider side); the estimate alone, every
// time, without an interval. Seeded: same seed, same draws.
std::vector<double> capacity_draws(const UncertainCapacity& capacity, int count, std::uint64_t seed);

struct ExhaustionQuantile {
  double probability = 0;   // 0.1: demand has outgrown the capacity by this date in 10% of draws
  Exhaustion exhaustion;    // already_exceeded, a date, or not within the projection
};

struct UncertainPlanYear {
  int year = 0;
  double exceedance_probability = 0;  // share of draws whose peak exceeds the deployed capacity
  std::int64_t instances_at_risk = 0; // fewest instances whose capacity the peak exceeds in at most `risk` of draws
};

struct UncertainPlan {
  int draws = 0;
  double risk = 0.1;
  std::vector<ExhaustionQuantile> exhaustion;  // at probabilities 0.1, 0.5 and 0.9
  std::vector<UncertainPlanYear> years;        // in year order
};

// Pairs draw d of every year's peak with instance_capacities[d] (capacity_draws gives them).
// The exhaustion quantiles take the nearest rank (the ceil(p D)-th earliest date, "already
// exceeded" counted earliest and "not within the projection" latest). Years whose peak has no
// draws use their point peak in every draw. Throws std::invalid_argument as plan_capacity does,
// for a risk outside (0, 1), no capacities, or a year with draws of another count.
UncertainPlan plan_with_uncertainty(const std::vector<YearlyDesignPeak>& peaks, const std::vector<double>& instance_capacities,
                                    int deployed_instances, double target_utilisation_fraction, double risk);

// 1 July of `year`: the day a yearly design peak stands for.
std::chrono::sys_days design_peak_anchor(int year);

// "2027-01-30", "not within the projection (to 2030)", "already exceeded at the first projected
// year (2025)".
std::string describe(const Exhaustion& exhaustion, const std::vector<YearlyDesignPeak>& peaks);

}  // namespace uptake::sim

#include "uptake/sim/planning.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "sorted_quantile.hpp"
#include "uptake/base/random.hpp"

namespace uptake::sim {
namespace {

using namespace std::chrono;

void check_inputs(const std::vector<YearlyDesignPeak>& peaks, const CapacityPlanOptions& options) {
  if (peaks.empty()) throw std::invalid_argument("a capacity plan needs the design peak of one year at least");
  for (std::size_t i = 0; i < peaks.size(); ++i) {
    if (!(std::isfinite(peaks[i].peak_per_second) && peaks[i].peak_per_second >= 0)) {
      throw std::invalid_argument(fmt::format("the design peak of {} ({} per second) is not finite and at least 0",
                                              peaks[i].year, peaks[i].peak_per_second));
    }
    if (i > 0 && peaks[i].year <= peaks[i - 1].year) {
      throw std::invalid_argument(fmt::format("design peak years must increase: {} follows {}", peaks[i].year,
                                              peaks[i - 1].year));
    }
  }
  if (!(std::isfinite(options.instance_capacity_per_second) && options.instance_capacity_per_second > 0)) {
    throw std::invalid_argument(fmt::format("instance capacity {} per second is not positive and finite",
                                            options.instance_capacity_per_second));
  }
  if (options.deployed_instances < 1) {
    throw std::invalid_argument(fmt::format("{} deployed instances carry nothing", options.deployed_instances));
  }
  if (!(options.target_utilisation_fraction > 0 && options.target_utilisation_fraction <= 1)) {
    throw std::invalid_argument(
        fmt::format("target utilisation {} is not in (0, 1]", options.target_utilisation_fraction));
  }
}

std::int64_t instances_for(double peak, double usable_per_instance) {
  const double ratio = peak / usable_per_instance;
  // A ratio that is a whole number but for the rounding of the division (300 / (100 x 0.75))
  // must not ask for one more instance.
  return static_cast<std::int64_t>(std::ceil(ratio * (1 - 4 * std::numeric_limits<double>::epsilon())));
}

// Where between two yearly points (0 at the first, 1 at the second) a rising peak reaches
// `level`, from <= level < to: log-linear, or linear from a year with no demand.
double crossing_fraction(double from, double to, double level) {
  if (from <= 0) return level / to;
  return std::log(level / from) / std::log(to / from);
}

// The first day a path of yearly peaks exceeds `capacity`, by the log-linear interpolation
// between the yearly points described in planning.hpp.
template <class PeakOf>
Exhaustion exhaustion_of(const std::vector<YearlyDesignPeak>& peaks, double capacity, PeakOf peak_of) {
  Exhaustion exhaustion;
  if (peak_of(peaks.front()) > capacity) {
    exhaustion.kind = ExhaustionKind::already_exceeded;
    return exhaustion;
  }
  for (std::size_t i = 0; i + 1 < peaks.size(); ++i) {
    const double from = peak_of(peaks[i]);
    const double to = peak_of(peaks[i + 1]);
    if (!(to > capacity)) continue;
    // from <= capacity < to, so the fraction lies in [0, 1).
    const double fraction = crossing_fraction(from, to, capacity);
    const sys_days start = design_peak_anchor(peaks[i].year);
    const auto span = static_cast<double>((design_peak_anchor(peaks[i + 1].year) - start).count());
    exhaustion.kind = ExhaustionKind::within_projection;
    exhaustion.date = start + days{static_cast<days::rep>(std::floor(fraction * span))};
    return exhaustion;
  }
  exhaustion.kind = ExhaustionKind::not_within_projection;
  return exhaustion;
}

// The standard normal's quantile, by bisection on erfc: called once per plan, so plainness wins.
double normal_quantile(double probability) {
  double low = -10;
  double high = 10;
  for (int step = 0; step < 100; ++step) {
    const double middle = (low + high) / 2;
    (0.5 * std::erfc(-middle / std::sqrt(2.0)) < probability ? low : high) = middle;
  }
  return (low + high) / 2;
}

}  // namespace

std::vector<YearlyDesignPeak> yearly_design_peaks(const Forecast& forecast) {
  const double level = forecast.scenario ? forecast.scenario->growth.interval_level : 0.9;
  std::vector<YearlyDesignPeak> peaks;
  for (const auto& peak : forecast.design_peaks) {
    YearlyDesignPeak yearly{peak.year, peak.total_peak_hour_rate};
    const auto volume = forecast.driving_volume.find(peak.year);
    const auto draws = forecast.driving_volume_draws.find(peak.year);
    if (volume != forecast.driving_volume.end() && volume->second > 0 && draws != forecast.driving_volume_draws.end()) {
      for (double drawn : draws->second) yearly.draws.push_back(peak.total_peak_hour_rate * drawn / volume->second);
      auto sorted = yearly.draws;
      std::sort(sorted.begin(), sorted.end());
      // A measured year is the same in every draw: it has no interval.
      if (sorted.front() < sorted.back()) {
        yearly.lower = sorted_quantile(sorted, (1 - level) / 2);
        yearly.upper = sorted_quantile(sorted, (1 + level) / 2);
      } else {
        yearly.draws.clear();
      }
    }
    peaks.push_back(std::move(yearly));
  }
  return peaks;
}

sys_days design_peak_anchor(int year) { return sys_days{std::chrono::year{year} / July / 1}; }

CapacityPlan plan_capacity(const std::vector<YearlyDesignPeak>& peaks, const CapacityPlanOptions& options) {
  check_inputs(peaks, options);
  const double capacity = options.instance_capacity_per_second * options.deployed_instances;
  const double usable_per_instance = options.instance_capacity_per_second * options.target_utilisation_fraction;

  CapacityPlan plan;
  for (const auto& peak : peaks) {
    CapacityPlanYear row;
    row.year = peak.year;
    row.design_peak_per_second = peak.peak_per_second;
    row.capacity_per_second = capacity;
    row.headroom_fraction =
        peak.peak_per_second > 0 ? capacity / peak.peak_per_second - 1 : std::numeric_limits<double>::infinity();
    row.instances_needed = instances_for(peak.peak_per_second, usable_per_instance);
    plan.years.push_back(row);
  }

  plan.exhaustion = exhaustion_of(peaks, capacity, [](const YearlyDesignPeak& peak) { return peak.peak_per_second; });
  return plan;
}

std::vector<double> capacity_draws(const UncertainCapacity& capacity, int count, std::uint64_t seed) {
  if (!(std::isfinite(capacity.estimate) && capacity.estimate > 0)) {
    throw std::invalid_argument(fmt::format("instance capacity {} per second is not positive and finite", capacity.estimate));
  }
  double spread = 0;  // sigma of ln capacity
  if (capacity.lower && capacity.upper && *capacity.lower > 0 && *capacity.upper > *capacity.lower) {
    const double z = normal_quantile((1 + capacity.confidence) / 2);
    spread = std::max(std::log(capacity.estimate / *capacity.lower), std::log(*capacity.upper / capacity.estimate)) / z;
  }
  Random random(seed);
  std::vector<double> draws;
  for (int d = 0; d < count; ++d) draws.push_back(capacity.estimate * std::exp(spread * random.normal()));
  return draws;
}

UncertainPlan plan_with_uncertainty(const std::vector<YearlyDesignPeak>& peaks, const std::vector<double>& instance_capacities,
                                    int deployed_instances, double target_utilisation_fraction, double risk) {
  if (instance_capacities.empty()) throw std::invalid_argument("an uncertain plan needs one capacity draw at least");
  for (double capacity : instance_capacities) {
    check_inputs(peaks, {capacity, deployed_instances, target_utilisation_fraction});
  }
  if (!(risk > 0 && risk < 1)) throw std::invalid_argument(fmt::format("risk {} is not in (0, 1)", risk));
  const std::size_t count = instance_capacities.size();
  for (const auto& peak : peaks) {
    if (!peak.draws.empty() && peak.draws.size() != count) {
      throw std::invalid_argument(fmt::format("the design peak of {} has {} draws for {} capacities", peak.year,
                                              peak.draws.size(), count));
    }
  }
  const auto peak_in = [](std::size_t draw) {
    return [draw](const YearlyDesignPeak& peak) { return peak.draws.empty() ? peak.peak_per_second : peak.draws[draw]; };
  };

  UncertainPlan plan;
  plan.draws = static_cast<int>(count);
  plan.risk = risk;
  // Dates in draw order, "already exceeded" before every date and "not within" after.
  std::vector<std::pair<long long, Exhaustion>> outcomes;
  for (std::size_t d = 0; d < count; ++d) {
    const auto exhaustion = exhaustion_of(peaks, instance_capacities[d] * deployed_instances, peak_in(d));
    const long long order = exhaustion.kind == ExhaustionKind::already_exceeded ? std::numeric_limits<long long>::min()
                            : exhaustion.kind == ExhaustionKind::not_within_projection
                                ? std::numeric_limits<long long>::max()
                                : exhaustion.date->time_since_epoch().count();
    outcomes.emplace_back(order, exhaustion);
  }
  std::stable_sort(outcomes.begin(), outcomes.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (double probability : {0.1, 0.5, 0.9}) {
    const auto rank = static_cast<std::size_t>(std::ceil(probability * static_cast<double>(count) - 1e-9));
    plan.exhaustion.push_back({probability, outcomes[std::max<std::size_t>(rank, 1) - 1].second});
  }

  const auto allowed = static_cast<std::size_t>(std::floor(risk * static_cast<double>(count) + 1e-9));
  for (const auto& peak : peaks) {
    UncertainPlanYear row;
    row.year = peak.year;
    std::vector<double> instances;  // per draw: the instances its peak needs, as a real number
    int exceeded = 0;
    for (std::size_t d = 0; d < count; ++d) {
      const double demand = peak_in(d)(peak);
      if (demand > instance_capacities[d] * deployed_instances) ++exceeded;
      instances.push_back(demand / (instance_capacities[d] * target_utilisation_fraction));
    }
    row.exceedance_probability = static_cast<double>(exceeded) / static_cast<double>(count);
    std::sort(instances.begin(), instances.end());
    // At most `allowed` draws may need more than the answer.
    row.instances_at_risk = instances_for(instances[count - 1 - std::min(allowed, count - 1)], 1.0);
    plan.years.push_back(row);
  }
  return plan;
}

std::string describe(const Exhaustion& exhaustion, const std::vector<YearlyDesignPeak>& peaks) {
  switch (exhaustion.kind) {
    case ExhaustionKind::within_projection: return format_date(*exhaustion.date);
    case ExhaustionKind::not_within_projection:
      return peaks.empty() ? "not within the projection"
                           : fmt::format("not within the projection (to {})", peaks.back().year);
    case ExhaustionKind::already_exceeded:
      return peaks.empty() ? "already exceeded at the first projected year"
                           : fmt::format("already exceeded at the first projected year ({})", peaks.front().year);
  }
  return {};
}

}  // namespace uptake::sim

#include "uptake/sim/planning.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <stdexcept>

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

}  // namespace

std::vector<YearlyDesignPeak> yearly_design_peaks(const Forecast& forecast) {
  std::vector<YearlyDesignPeak> peaks;
  for (const auto& peak : forecast.design_peaks) peaks.push_back({peak.year, peak.total_peak_hour_rate});
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

  if (peaks.front().peak_per_second > capacity) {
    plan.exhaustion.kind = ExhaustionKind::already_exceeded;
    return plan;
  }
  for (std::size_t i = 0; i + 1 < peaks.size(); ++i) {
    const double from = peaks[i].peak_per_second;
    const double to = peaks[i + 1].peak_per_second;
    if (!(to > capacity)) continue;
    // from <= capacity < to, so the fraction lies in [0, 1).
    const double fraction = crossing_fraction(from, to, capacity);
    const sys_days start = design_peak_anchor(peaks[i].year);
    const auto span = static_cast<double>((design_peak_anchor(peaks[i + 1].year) - start).count());
    plan.exhaustion.kind = ExhaustionKind::within_projection;
    plan.exhaustion.date = start + days{static_cast<days::rep>(std::floor(fraction * span))};
    return plan;
  }
  plan.exhaustion.kind = ExhaustionKind::not_within_projection;
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

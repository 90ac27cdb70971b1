#include "uptake/sim/scenario.hpp"

#include <algorithm>

namespace uptake::sim {

int Series::first_year() const {
  int year = yearly.empty() ? periods.front().first_year : yearly.begin()->first;
  if (!periods.empty()) year = std::min(year, periods.front().first_year);
  return year;
}

int Series::last_year() const {
  int year = yearly.empty() ? periods.back().last_year : yearly.rbegin()->first;
  if (!periods.empty()) year = std::max(year, periods.back().last_year);
  return year;
}

std::optional<double> Series::measured_volume(int year) const {
  if (const auto found = yearly.find(year); found != yearly.end()) return found->second;
  // Months of `year` before the launch carry no demand and need no measurement.
  int months_needed = 12;
  if (launch && static_cast<int>(*launch) == year) months_needed -= static_cast<int>((*launch - year) * 12 + 1e-9);
  int months_covered = 0;
  double volume = 0;
  for (const auto& period : periods) {
    const int first = std::max(period.first_year * 12 + period.first_month, year * 12 + 1);
    const int last = std::min(period.last_year * 12 + period.last_month, year * 12 + 12);
    if (last < first) continue;
    months_covered += last - first + 1;
    volume += period.volume * (last - first + 1) / period.months();
  }
  if (months_covered == 0 || months_covered < months_needed) return std::nullopt;
  return volume;
}

const Series& Scenario::driving_series() const {
  for (const auto& s : series) {
    if (s.name == mix.series) return s;
  }
  return series.front();
}

std::vector<std::string> Scenario::endpoint_names() const {
  std::vector<std::string> names;
  auto add = [&](const std::string& endpoint) {
    if (!endpoint.empty() && std::find(names.begin(), names.end(), endpoint) == names.end()) names.push_back(endpoint);
  };
  for (const auto& [endpoint, share] : mix.shares) add(endpoint);
  if (mix.journeys) {
    for (const auto& step : mix.journeys->steps) add(step.endpoint);
  }
  return names;
}

std::string to_string(GrowthModelKind kind) {
  switch (kind) {
    case GrowthModelKind::exponential: return "exponential";
    case GrowthModelKind::logistic: return "logistic";
    case GrowthModelKind::gompertz: return "gompertz";
    case GrowthModelKind::bass: return "bass";
    case GrowthModelKind::automatic: return "auto";
  }
  return "?";
}

}  // namespace uptake::sim

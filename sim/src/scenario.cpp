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
  if (cumulative) {
    const auto end = yearly.find(year);
    const auto start = yearly.find(year - 1);
    if (end == yearly.end() || start == yearly.end()) return std::nullopt;
    return end->second - start->second;
  }
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

std::optional<std::chrono::sys_days> YearlyDate::in(int year) const {
  using namespace std::chrono;
  const auto in_month = std::chrono::year{year} / std::chrono::month{month};
  if (nth == 0) {
    const year_month_day date = in_month / std::chrono::day{day};
    return date.ok() ? std::optional<sys_days>{sys_days{date}} : std::nullopt;
  }
  const std::chrono::weekday which{weekday % 7};  // ISO 7 (Sunday) is 0 in C encoding
  if (nth < 0) return sys_days{in_month / weekday_last{which}};
  const year_month_weekday date = in_month / which[static_cast<unsigned>(nth)];
  return date.ok() ? std::optional<sys_days>{sys_days{date}} : std::nullopt;
}

bool YearlyDate::matches(std::chrono::sys_days local_date) const {
  using namespace std::chrono;
  const year_month_day date{local_date};
  if (static_cast<unsigned>(date.month()) != month) return false;
  const auto day_of_month = static_cast<unsigned>(date.day());
  if (nth == 0) return day_of_month == day;
  if (std::chrono::weekday{local_date}.iso_encoding() != weekday) return false;
  if (nth > 0) return (day_of_month - 1) / 7 + 1 == static_cast<unsigned>(nth);
  const auto last_day = static_cast<unsigned>(year_month_day_last{date.year(), month_day_last{date.month()}}.day());
  return day_of_month + 7 > last_day;
}

std::vector<std::chrono::local_seconds> Event::occurrences(int first_year, int last_year) const {
  using namespace std::chrono;
  std::vector<local_seconds> result;
  if (!yearly) {
    result = starts;
  } else {
    const int from = yearly->first_year ? std::max(first_year, yearly->first_year) : first_year;
    const int to = yearly->last_year ? std::min(last_year, yearly->last_year) : last_year;
    for (int year = from; year <= to; ++year) {
      if (const auto day = yearly->date.in(year)) result.push_back(local_seconds{day->time_since_epoch()} + yearly->time_of_day);
    }
  }
  std::sort(result.begin(), result.end());
  return result;
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

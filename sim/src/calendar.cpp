#include "uptake/sim/calendar.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace uptake::sim {

using namespace std::chrono;

CalendarShape::CalendarShape(const Calendar& calendar) : calendar_(calendar) {
  const double total = std::accumulate(calendar.hour_profile.begin(), calendar.hour_profile.end(), 0.0);
  for (double weight : calendar.hour_profile) bin_shares_.push_back(weight / total);
}

double CalendarShape::day_weight(sys_days day) const {
  const year_month_day ymd{day};
  const double month = calendar_.month_factors[static_cast<unsigned>(ymd.month()) - 1];
  if (std::binary_search(calendar_.holidays.begin(), calendar_.holidays.end(), day)) return month * calendar_.holiday_factor;
  // iso_encoding: Monday = 1 ... Sunday = 7; the scenario lists Monday first.
  const unsigned weekday = std::chrono::weekday{day}.iso_encoding();
  return month * calendar_.weekday_factors[weekday - 1];
}

double CalendarShape::year_weight(int year) const {
  if (const auto found = year_weights_.find(year); found != year_weights_.end()) return found->second;
  double total = 0;
  const sys_days first{std::chrono::year{year} / January / 1};
  const sys_days last{std::chrono::year{year} / December / 31};
  for (sys_days day = first; day <= last; day += days{1}) total += day_weight(day);
  year_weights_[year] = total;
  return total;
}

double CalendarShape::day_share(sys_days day) const {
  const int year = static_cast<int>(year_month_day{day}.year());
  const double total = year_weight(year);
  // A year whose every day weighs 0 (all factors zero) carries no volume at all.
  return total > 0 ? day_weight(day) / total : 0.0;
}

sys_days CalendarShape::local_day(Instant t) const {
  const double local = t + static_cast<double>(calendar_.utc_offset.count());
  return sys_days{days{static_cast<long>(std::floor(local / 86400.0))}};
}

int CalendarShape::local_year(Instant t) const { return static_cast<int>(year_month_day{local_day(t)}.year()); }

int CalendarShape::bin_of(Instant t) const {
  const double local = t + static_cast<double>(calendar_.utc_offset.count());
  const double into_day = local - std::floor(local / 86400.0) * 86400.0;
  return std::min(bins_per_day() - 1, static_cast<int>(into_day / bin_seconds()));
}

Instant CalendarShape::day_start(sys_days day) const {
  return static_cast<double>(sys_seconds{day}.time_since_epoch().count() - calendar_.utc_offset.count());
}

EventShape::EventShape(const Event& event)
    : start_(static_cast<double>(event.start.time_since_epoch().count())),
      peak_from_(start_ + event.ramp_up.count()),
      peak_to_(peak_from_ + event.plateau.count()),
      end_(peak_to_ + event.decay.count()),
      multiplier_(event.multiplier),
      ramp_slope_(event.ramp_up.count() > 0 ? (event.multiplier - 1.0) / event.ramp_up.count() : 0.0),
      decay_slope_(event.decay.count() > 0 ? (event.multiplier - 1.0) / event.decay.count() : 0.0) {}

double EventShape::bound(Instant from, Instant to) const {
  // Piecewise linear: the maximum lies at an end of the interval or at a knot inside it.
  double largest = std::max(factor(from), factor(to));
  for (Instant knot : knots()) {
    if (knot > from && knot < to) largest = std::max(largest, factor(knot));
  }
  return largest;
}

}  // namespace uptake::sim

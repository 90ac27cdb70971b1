#pragma once
// How a year's volume spreads over days and hours, and how events bend it.
#include <chrono>
#include <map>

#include "uptake/sim/scenario.hpp"

namespace uptake::sim {

// Instants inside the demand model are real (UTC) seconds since the Unix epoch, as doubles:
// sub-second precision matters when a day is compressed into minutes.
using Instant = double;

class CalendarShape {
 public:
  explicit CalendarShape(const Calendar& calendar);

  // Share of its year's volume that falls on local date `day` (the shares of a year sum to 1).
  double day_share(std::chrono::sys_days day) const;
  // Share of a day's volume that falls in hour-profile bin `bin` (the shares of a day sum to 1).
  double bin_share(int bin) const { return bin_shares_[static_cast<std::size_t>(bin)]; }
  int bins_per_day() const { return static_cast<int>(bin_shares_.size()); }
  double bin_seconds() const { return 86400.0 / bins_per_day(); }

  // Local date, local year and bin of a real instant.
  std::chrono::sys_days local_day(Instant t) const;
  int local_year(Instant t) const;
  int bin_of(Instant t) const;
  // The real instant at which local date `day` begins.
  Instant day_start(std::chrono::sys_days day) const;

  // Relative weight of a local date before normalisation: month factor times the weekday factor,
  // or times the holiday factor on a holiday.
  double day_weight(std::chrono::sys_days day) const;

  std::chrono::seconds utc_offset() const { return calendar_.utc_offset; }

 private:
  double year_weight(int year) const;

  Calendar calendar_;
  std::vector<double> bin_shares_;
  mutable std::map<int, double> year_weights_;  // memo: sum of day weights per local year
};

// The factor by which `event` multiplies the rate at instant t (1 outside the event).
double event_factor(const Event& event, Instant t);
// The largest factor of `event` anywhere in [from, to].
double event_factor_bound(const Event& event, Instant from, Instant to);
// Instants where the event's factor changes slope: start, end of ramp, end of plateau, end.
std::vector<Instant> event_knots(const Event& event);

}  // namespace uptake::sim

#pragma once
// How a year's volume spreads over days and hours, and how events bend it.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

#include "uptake/sim/scenario.hpp"

namespace uptake::sim {

// Instants inside the demand model are real (UTC) seconds since the Unix epoch, as doubles:
// sub-second precision matters when a day is compressed into minutes.
using Instant = double;

// Local days follow the scenario's time zone: with daylight saving, a day has 23 or 25 hours.
// Demand follows the clock, so a day's volume spreads over the hour-profile bins its clock
// shows: the bin that a change to summer time skips carries nothing, and the others that day
// carry its share pro rata; the bin that the change back repeats carries its weight in each of
// its two real hours, and the day's other bins give up that much. A day keeps its share of the
// year either way.
class CalendarShape {
 public:
  explicit CalendarShape(const Calendar& calendar);

  // Share of its year's volume that falls on local date `day` (the shares of a year sum to 1).
  double day_share(std::chrono::sys_days day) const;
  // Share of a day's volume that falls in hour-profile bin `bin` on a day of 24 hours (the
  // shares of a day sum to 1).
  double bin_share(int bin) const { return bin_shares_[static_cast<std::size_t>(bin)]; }
  int bins_per_day() const { return static_cast<int>(bin_shares_.size()); }
  double bin_seconds() const { return 86400.0 / bins_per_day(); }
  // Share of its year's volume per second at real instant t, on local date `day` (which must
  // be local_day(t)): what the rate model multiplies a year's requests by.
  double share_per_second(std::chrono::sys_days day, Instant t) const;

  // Local date, local year and bin of a real instant.
  std::chrono::sys_days local_day(Instant t) const;
  int local_year(Instant t) const;
  int bin_of(Instant t) const;
  // The real instant at which the bin holding t ends: its end on the local clock, or a change
  // of the clock before that.
  Instant bin_end(Instant t) const;
  // The real instant at which local date `day` begins.
  Instant day_start(std::chrono::sys_days day) const;
  // The real instant of a local wall-clock time (see TimeZone::to_real for skipped and
  // repeated times).
  Instant to_real(std::chrono::local_seconds local) const;

  // Relative weight of a local date before normalisation: month factor times the weekday factor,
  // or times the holiday factor on a holiday.
  double day_weight(std::chrono::sys_days day) const;

  const TimeZone& time_zone() const { return calendar_.time_zone; }

 private:
  double year_weight(int year) const;
  // Sum over the bins of day `day` of bin share times real seconds / bin seconds: 1 on a day
  // of 24 hours.
  double clock_weight(std::chrono::sys_days day) const;

  Calendar calendar_;
  std::vector<double> bin_shares_;
  // Local days on which the clock changes, sorted, with 1 / clock_weight: how much each of
  // their bins carries more (or less) than on a day of 24 hours.
  std::vector<std::pair<std::chrono::sys_days, double>> clock_change_days_;
  mutable std::map<int, double> year_weights_;  // memo: sum of day weights per local year
};

// One occurrence of an event: its multiplier as a function of time, with its instants and
// slopes worked out once: it is evaluated for every candidate arrival inside it, so it must be
// a few flops.
class EventShape {
 public:
  EventShape(Instant start, const Event& event);

  // The factor at instant t: 1 outside the event, linear on the ramps, `multiplier` on the plateau.
  double factor(Instant t) const {
    if (t < start_ || t >= end_) return 1.0;
    if (t < peak_from_) return 1.0 + ramp_slope_ * (t - start_);
    if (t < peak_to_) return multiplier_;
    return 1.0 + decay_slope_ * (end_ - t);
  }
  // The largest factor anywhere in [from, to].
  double bound(Instant from, Instant to) const;
  // Where the factor changes slope: start, end of ramp, end of plateau, end.
  std::array<Instant, 4> knots() const { return {start_, peak_from_, peak_to_, end_}; }
  bool overlaps(Instant from, Instant to) const { return start_ < to && end_ > from; }
  Instant start() const { return start_; }
  Instant end() const { return end_; }

 private:
  Instant start_, peak_from_, peak_to_, end_;
  double multiplier_;
  double ramp_slope_;   // factor gained per second of ramp-up
  double decay_slope_;  // factor lost per second of decay
};

// The occurrences of a set of events, indexed so that a lookup touches only the occurrences that
// overlap the instant: the time line is cut at every start and end, and each stretch between two
// cuts lists the occurrences active on it. A yearly event over twenty years of history and
// projection has twenty occurrences; the factor at t costs a binary search over the cuts plus a
// few flops per occurrence overlapping t, however many occurrences there are.
class EventTimeline {
 public:
  EventTimeline() = default;
  explicit EventTimeline(std::vector<EventShape> occurrences);

  // The product of the factors of the occurrences overlapping t (1 where none does).
  double factor(Instant t) const {
    if (edges_.empty() || t < edges_.front() || t >= edges_.back()) return 1.0;
    const auto stretch = stretch_of(t);
    double product = 1.0;
    for (auto k = first_active_[stretch]; k < first_active_[stretch + 1]; ++k) product *= occurrences_[active_[k]].factor(t);
    return product;
  }
  // An upper bound of factor() over [from, to]: the product of each overlapping occurrence's largest factor.
  double bound(Instant from, Instant to) const;
  bool overlaps(Instant from, Instant to) const;
  // Appends to `cuts` every knot of an occurrence that lies strictly inside (from, to).
  void knots_inside(Instant from, Instant to, std::vector<Instant>& cuts) const;
  // The stretches covered by at least one occurrence, [start, end) each, in time order, disjoint.
  std::vector<std::pair<Instant, Instant>> covered() const;
  // Indices into occurrences() of those overlapping [from, to), in start order.
  std::vector<std::uint32_t> overlapping(Instant from, Instant to) const;
  const std::vector<EventShape>& occurrences() const { return occurrences_; }

 private:
  // Index of the stretch [edges_[i], edges_[i + 1]) that holds t, for edges_.front() <= t < edges_.back().
  std::size_t stretch_of(Instant t) const;

  std::vector<EventShape> occurrences_;       // sorted by start
  std::vector<Instant> edges_;                // every start and end, sorted, unique
  std::vector<std::uint32_t> first_active_;   // stretch i's occurrences: active_[first_active_[i] .. first_active_[i + 1])
  std::vector<std::uint32_t> active_;         // indices into occurrences_
};

}  // namespace uptake::sim

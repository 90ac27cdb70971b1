#include "uptake/sim/calendar.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace uptake::sim {

using namespace std::chrono;

CalendarShape::CalendarShape(const Calendar& calendar) : calendar_(calendar) {
  const double total = std::accumulate(calendar.hour_profile.begin(), calendar.hour_profile.end(), 0.0);
  for (double weight : calendar.hour_profile) bin_shares_.push_back(weight / total);
  for (const double change : calendar_.time_zone.transitions()) {
    // The change lies in one local day, or at the midnight between two.
    for (const auto day : {local_day(change - 1), local_day(change)}) {
      if (!clock_change_days_.empty() && clock_change_days_.back().first == day) continue;
      // A day the zone skipped altogether (Samoa's 30 December 2011) has no real time to carry anything.
      const double weight = clock_weight(day);
      clock_change_days_.emplace_back(day, weight > 0 ? 1.0 / weight : 0.0);
    }
  }
}

double CalendarShape::clock_weight(sys_days day) const {
  double weight = 0;
  const Instant end = day_start(day + days{1});
  for (Instant t = day_start(day); t < end;) {
    const Instant next = std::min(bin_end(t), end);
    weight += bin_share(bin_of(t)) * (next - t) / bin_seconds();
    t = next;
  }
  return weight;
}

double CalendarShape::share_per_second(sys_days day, Instant t) const {
  double share = day_share(day) * bin_share(bin_of(t)) / bin_seconds();
  if (clock_change_days_.empty()) return share;
  const auto found = std::lower_bound(clock_change_days_.begin(), clock_change_days_.end(), day,
                                      [](const auto& entry, sys_days value) { return entry.first < value; });
  if (found != clock_change_days_.end() && found->first == day) share *= found->second;
  return share;
}

double CalendarShape::day_weight(sys_days day) const {
  const year_month_day ymd{day};
  const double month = calendar_.month_factors[static_cast<unsigned>(ymd.month()) - 1];
  const bool holiday = std::binary_search(calendar_.holidays.begin(), calendar_.holidays.end(), day) ||
                       std::any_of(calendar_.yearly_holidays.begin(), calendar_.yearly_holidays.end(),
                                   [&](const YearlyDate& rule) { return rule.matches(day); });
  if (holiday) return month * calendar_.holiday_factor;
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
  return sys_days{days{static_cast<long>(std::floor(calendar_.time_zone.to_local(t) / 86400.0))}};
}

int CalendarShape::local_year(Instant t) const { return static_cast<int>(year_month_day{local_day(t)}.year()); }

int CalendarShape::bin_of(Instant t) const {
  const double local = calendar_.time_zone.to_local(t);
  const double into_day = local - std::floor(local / 86400.0) * 86400.0;
  return std::min(bins_per_day() - 1, static_cast<int>(into_day / bin_seconds()));
}

Instant CalendarShape::bin_end(Instant t) const {
  const double offset = calendar_.time_zone.offset_at(t);
  const double local = t + offset;
  const double local_end = (std::floor(local / bin_seconds()) + 1) * bin_seconds();
  return std::min(local_end - offset, calendar_.time_zone.next_transition_after(t));
}

Instant CalendarShape::day_start(sys_days day) const { return to_real(local_seconds{day.time_since_epoch()}); }

Instant CalendarShape::to_real(local_seconds local) const {
  return calendar_.time_zone.to_real(static_cast<double>(local.time_since_epoch().count()));
}

EventShape::EventShape(Instant start, const Event& event)
    : start_(start),
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

EventTimeline::EventTimeline(std::vector<EventShape> occurrences) : occurrences_(std::move(occurrences)) {
  std::sort(occurrences_.begin(), occurrences_.end(), [](const EventShape& a, const EventShape& b) { return a.start() < b.start(); });
  for (const auto& occurrence : occurrences_) {
    edges_.push_back(occurrence.start());
    edges_.push_back(occurrence.end());
  }
  std::sort(edges_.begin(), edges_.end());
  edges_.erase(std::unique(edges_.begin(), edges_.end()), edges_.end());
  // One sweep over the cuts: occurrences join the active set at their start (they are in start
  // order) and leave it at their end.
  first_active_.push_back(0);
  std::vector<std::uint32_t> current;
  std::uint32_t next = 0;
  for (std::size_t i = 0; i + 1 < edges_.size(); ++i) {
    std::erase_if(current, [&](std::uint32_t k) { return occurrences_[k].end() <= edges_[i]; });
    while (next < occurrences_.size() && occurrences_[next].start() <= edges_[i]) current.push_back(next++);
    active_.insert(active_.end(), current.begin(), current.end());
    first_active_.push_back(static_cast<std::uint32_t>(active_.size()));
  }
}

std::size_t EventTimeline::stretch_of(Instant t) const {
  return static_cast<std::size_t>(std::upper_bound(edges_.begin(), edges_.end(), t) - edges_.begin()) - 1;
}

std::vector<std::uint32_t> EventTimeline::overlapping(Instant from, Instant to) const {
  std::vector<std::uint32_t> found;
  if (edges_.empty() || to <= edges_.front() || from >= edges_.back()) return found;
  for (std::size_t stretch = from < edges_.front() ? 0 : stretch_of(from); stretch + 1 < edges_.size() && edges_[stretch] < to; ++stretch) {
    found.insert(found.end(), active_.begin() + first_active_[stretch], active_.begin() + first_active_[stretch + 1]);
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

bool EventTimeline::overlaps(Instant from, Instant to) const {
  if (edges_.empty() || to <= edges_.front() || from >= edges_.back()) return false;
  for (std::size_t stretch = from < edges_.front() ? 0 : stretch_of(from); stretch + 1 < edges_.size() && edges_[stretch] < to; ++stretch) {
    if (first_active_[stretch] != first_active_[stretch + 1]) return true;
  }
  return false;
}

std::vector<std::pair<Instant, Instant>> EventTimeline::covered() const {
  std::vector<std::pair<Instant, Instant>> spans;
  for (const auto& occurrence : occurrences_) {  // in start order
    if (!spans.empty() && occurrence.start() <= spans.back().second) {
      spans.back().second = std::max(spans.back().second, occurrence.end());
    } else {
      spans.emplace_back(occurrence.start(), occurrence.end());
    }
  }
  return spans;
}

double EventTimeline::bound(Instant from, Instant to) const {
  double product = 1.0;
  for (const auto k : overlapping(from, to)) product *= occurrences_[k].bound(from, to);
  return product;
}

void EventTimeline::knots_inside(Instant from, Instant to, std::vector<Instant>& cuts) const {
  for (const auto k : overlapping(from, to)) {
    for (const Instant knot : occurrences_[k].knots()) {
      if (knot > from && knot < to) cuts.push_back(knot);
    }
  }
}

}  // namespace uptake::sim

#include "uptake/sim/time_zone.hpp"

#include <date/tz.h>

#include <algorithm>
#include <limits>

namespace uptake::sim {

namespace {
constexpr double kForever = std::numeric_limits<double>::infinity();
}  // namespace

TimeZone::TimeZone(std::chrono::seconds offset, std::string name)
    : name_(std::move(name)), starts_{-kForever}, offsets_{static_cast<double>(offset.count())}, local_starts_{-kForever} {}

std::optional<TimeZone> TimeZone::named(const std::string& name) {
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(name);
  } catch (const std::exception&) {
    return std::nullopt;  // unknown name, or no database on this system
  }
  using namespace std::chrono;
  // Scenario years run from 1900 to 2200; the database's explicit transitions end in 2037
  // (its rules beyond are not read by the library), after which the last offset holds.
  const sys_seconds first{sys_days{year{1900} / January / 1}};
  const sys_seconds last{sys_days{year{2201} / January / 1}};
  auto info = zone->get_info(first);
  TimeZone result(duration_cast<seconds>(info.offset), name);
  while (info.end < last) {
    info = zone->get_info(info.end);
    const double offset = static_cast<double>(duration_cast<seconds>(info.offset).count());
    if (offset == result.offsets_.back()) continue;  // a change of name or of DST flag only
    const double start = static_cast<double>(info.begin.time_since_epoch().count());
    result.starts_.push_back(start);
    result.offsets_.push_back(offset);
    result.local_starts_.push_back(start + offset);
  }
  return result;
}

std::size_t TimeZone::period_of(double real) const {
  return static_cast<std::size_t>(std::upper_bound(starts_.begin(), starts_.end(), real) - starts_.begin()) - 1;
}

double TimeZone::to_real(double local) const {
  const auto period = static_cast<std::size_t>(std::upper_bound(local_starts_.begin(), local_starts_.end(), local) - local_starts_.begin()) - 1;
  // Still on the clock of the period before (a repeated hour after a change back): the first occurrence.
  if (period > 0 && local < starts_[period] + offsets_[period - 1]) return local - offsets_[period - 1];
  // Within the period, or in the gap a change to summer time skips before the next one.
  return local - offsets_[period];
}

double TimeZone::next_transition_after(double real) const {
  const auto next = std::upper_bound(starts_.begin(), starts_.end(), real);
  return next == starts_.end() ? kForever : *next;
}

}  // namespace uptake::sim

#pragma once
// The local time of a scenario: a fixed UTC offset ("+09:00") or an IANA zone ("Europe/Berlin")
// with its daylight-saving changes, held as the offsets in force between transitions. The
// demand model converts instants per piece and per rate evaluation, so a conversion is a binary
// search over a few hundred transitions at most, with no time zone database lookups.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace uptake::sim {

class TimeZone {
 public:
  // UTC.
  TimeZone() : TimeZone(std::chrono::seconds{0}, "UTC") {}
  // A fixed offset east of UTC; `name` is how the scenario wrote it.
  TimeZone(std::chrono::seconds offset, std::string name);
  // An IANA zone from the system's time zone database (Debian's tzdata); empty when unknown.
  static std::optional<TimeZone> named(const std::string& name);

  const std::string& name() const { return name_; }

  // Times are seconds since the Unix epoch: real (UTC) instants, and local wall-clock times
  // counted as if they were UTC.
  // The offset in force at real instant t (local = t + offset).
  double offset_at(double real) const { return offsets_[period_of(real)]; }
  double to_local(double real) const { return real + offset_at(real); }
  // The real instant of a local time. A local time that a change to summer time skips (02:30
  // in Berlin on the last Sunday of March) is read with the offset before the change, as clocks
  // that were not yet moved would show it: 03:30 summer time. A local time that the change back
  // repeats is its first occurrence.
  double to_real(double local) const;
  // The first transition strictly after real instant t; +infinity when there is none.
  double next_transition_after(double real) const;
  // Real instants of every transition, in time order (empty for a fixed offset).
  std::vector<double> transitions() const { return {starts_.begin() + 1, starts_.end()}; }

 private:
  std::size_t period_of(double real) const;

  std::string name_;
  std::vector<double> starts_;        // real instant each period begins; starts_[0] is -infinity
  std::vector<double> offsets_;       // offset of each period, seconds east of UTC
  std::vector<double> local_starts_;  // starts_[i] + offsets_[i]: increasing, as offsets change by hours and periods last months
};

}  // namespace uptake::sim

#pragma once
// What a replay stands for in the modelled world: which stretch of scenario time it compresses,
// by how much, at what scale, and the modelled real-world demand over that stretch. A run's
// figures (726.8 requests per second) mean nothing beside a forecast's (a peak of 12.59/s) until
// both are put in one frame: run rate = real-world rate x compression x scale. summary.json
// records this (loadgen::Summary::replay), and the reports and `uptake run` say it in a sentence.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptake/sim/arrivals.hpp"
#include "uptake/sim/rate.hpp"

namespace uptake::sim {

// A change of the scenario's clock inside the window (daylight saving): from `at` on, local
// time is the real instant plus `utc_offset_seconds`.
struct ClockChange {
  Instant at = 0;
  double utc_offset_seconds = 0;
  bool operator==(const ClockChange&) const = default;
};

// One occurrence of a scenario event that overlaps the window, clipped to it.
struct ReplayEvent {
  std::string name;
  Instant from = 0;         // real instants, within [window from, window to]
  Instant to = 0;
  double multiplier = 1.0;  // the event's multiplier at its plateau
  bool operator==(const ReplayEvent&) const = default;
};

struct ReplayContext {
  ReplayWindowKind window = ReplayWindowKind::interval;
  std::optional<int> year;               // peak_hour: the year whose busiest hour it is
  Instant from = 0;                      // real instants (UTC seconds) of the window, [from, to)
  Instant to = 0;
  std::string time_zone;                 // the scenario's local time, as it names it ("+09:00", "Europe/Berlin")
  double utc_offset_seconds = 0;         // local time at `from` = from + this
  std::vector<ClockChange> clock_changes;  // inside (from, to), in time order; empty for most windows
  Seconds duration{0};                   // replay time the window is compressed into
  double scale = 1.0;                    // share of the modelled traffic sent
  double modelled_mean_rps = 0;          // modelled real-world requests per second over the window: its integral / its length
  double modelled_peak_rps = 0;          // the highest modelled real-world rate at any instant of the window
  std::vector<ReplayEvent> events;       // occurrences of the scenario's events overlapping the window, in start order

  double window_seconds() const { return to - from; }
  // Scenario seconds per replay second.
  double compression() const { return window_seconds() / duration.count(); }
  // How many times the modelled real-world rate the run sends: compression x scale.
  double combined_factor() const { return compression() * scale; }
  // The schedule's expected rates: the modelled ones times the combined factor.
  double replay_mean_rps() const { return modelled_mean_rps * combined_factor(); }
  double replay_peak_rps() const { return modelled_peak_rps * combined_factor(); }
  // The offset east of UTC in force at real instant t (t within the window).
  double utc_offset_at(Instant t) const;
  // Replay seconds from the schedule's start at which real instant t of the window is replayed.
  double replay_seconds_of(Instant t) const { return (t - from) / compression(); }

  bool operator==(const ReplayContext&) const = default;
};

// The context of replaying `window` of `model` (built from `scenario`, as replay_window does).
// The mean is the rate model's integral over the window; the peak is the largest total rate at
// the start, middle and end of every piece the model cuts the window into (the calendar is
// constant on a piece and every event factor linear, so the largest is at one of those unless
// events overlap each other with opposite slopes). No network, no randomness.
ReplayContext replay_context(const Scenario& scenario, const RateModel& model, const ReplayWindow& window);

// "peak_hour", "day", "interval": as scenarios and summary.json write a window's kind.
std::string to_string(ReplayWindowKind kind);
std::optional<ReplayWindowKind> parse_replay_window_kind(std::string_view text);

}  // namespace uptake::sim

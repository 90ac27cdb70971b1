#include "uptake/sim/replay_context.hpp"

#include <algorithm>
#include <cmath>

namespace uptake::sim {

double ReplayContext::utc_offset_at(Instant t) const {
  double offset = utc_offset_seconds;
  for (const auto& change : clock_changes) {
    if (change.at > t) break;
    offset = change.utc_offset_seconds;
  }
  return offset;
}

std::string to_string(ReplayWindowKind kind) {
  switch (kind) {
    case ReplayWindowKind::peak_hour: return "peak_hour";
    case ReplayWindowKind::day: return "day";
    case ReplayWindowKind::interval: return "interval";
  }
  return "?";
}

std::optional<ReplayWindowKind> parse_replay_window_kind(std::string_view text) {
  for (const auto kind : {ReplayWindowKind::peak_hour, ReplayWindowKind::day, ReplayWindowKind::interval}) {
    if (text == to_string(kind)) return kind;
  }
  return std::nullopt;
}

ReplayContext replay_context(const Scenario& scenario, const RateModel& model, const ReplayWindow& window) {
  ReplayContext context;
  context.window = scenario.replay.window;
  if (context.window == ReplayWindowKind::peak_hour) context.year = scenario.replay.year;
  context.from = window.from;
  context.to = window.to;
  context.duration = window.duration;
  context.scale = window.scale;
  const auto& calendar = model.calendar();
  const auto& zone = calendar.time_zone();
  context.time_zone = zone.name();
  context.utc_offset_seconds = zone.offset_at(window.from);
  for (const Instant at : zone.transitions()) {
    if (at > window.from && at < window.to) context.clock_changes.push_back({at, zone.offset_at(at)});
  }

  const auto endpoints = model.endpoints().size();
  double requests = 0;
  for (std::size_t e = 0; e < endpoints; ++e) requests += model.expected_requests(e, window.from, window.to);
  context.modelled_mean_rps = window.to > window.from ? requests / (window.to - window.from) : 0.0;
  for (const auto& piece : model.pieces(window.from, window.to)) {
    // Just inside the piece's end: an event without decay ends with a jump at the end itself.
    const double length = piece.end - piece.start;
    const double inside = std::min(1e-3, length / 4);
    for (const Instant t : {piece.start, 0.5 * (piece.start + piece.end), piece.end - inside}) {
      double total = 0;
      for (std::size_t e = 0; e < endpoints; ++e) total += piece.calendar_rate[e] * model.event_multiplier(e, t);
      context.modelled_peak_rps = std::max(context.modelled_peak_rps, total);
    }
  }

  // The events of the scenario whose occurrences reach into the window: from years before its
  // first (a long decay reaches on), to its last.
  double longest = 0;
  for (const auto& event : scenario.events) longest = std::max(longest, (event.ramp_up + event.plateau + event.decay).count());
  const int first_year = calendar.local_year(window.from) - 1 - static_cast<int>(std::ceil(longest / (365.0 * 86400)));
  const int last_year = calendar.local_year(window.to);
  for (const auto& event : scenario.events) {
    for (const auto start : event.occurrences(first_year, last_year)) {
      const EventShape shape(calendar.to_real(start), event);
      if (!shape.overlaps(window.from, window.to)) continue;
      // Only what the model holds: it has occurrences in the years that have demand.
      if (!model.has_events_in(std::max(shape.start(), window.from), std::min(shape.end(), window.to))) continue;
      context.events.push_back({event.name, std::max(shape.start(), window.from), std::min(shape.end(), window.to), event.multiplier});
    }
  }
  std::stable_sort(context.events.begin(), context.events.end(), [](const ReplayEvent& a, const ReplayEvent& b) { return a.from < b.from; });
  return context;
}

}  // namespace uptake::sim

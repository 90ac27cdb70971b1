#include "uptake/reports/replay_text.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "uptake/base/civil_time.hpp"
#include "uptake/reports/text_table.hpp"

namespace uptake::reports {
namespace {

using namespace std::chrono;

sys_seconds local_seconds_of(const sim::ReplayContext& replay, double t) {
  return sys_seconds{seconds{std::llround(std::floor(t + replay.utc_offset_at(t)))}};
}

// "09:00", or "09:00:30" when it has seconds.
std::string clock_text(sys_seconds local) {
  const auto text = format_date_time(local);  // "2027-03-31 09:00:30"
  return text.ends_with(":00") ? text.substr(11, 5) : text.substr(11);
}

std::string offset_text(double offset_seconds) {
  if (offset_seconds == 0) return "UTC";
  const auto minutes = std::llround(offset_seconds / 60);
  const auto magnitude = minutes < 0 ? -minutes : minutes;
  return fmt::format("{}{:02}:{:02}", minutes < 0 ? '-' : '+', magnitude / 60, magnitude % 60);
}

// A factor as people write one: ×7200, ×144, ×2.88.
std::string factor_text(double factor) {
  if (std::abs(factor - std::round(factor)) < 1e-6 * factor && factor < 1e7) return fmt::format("{:.0f}", factor);
  return fmt::format("{:.4g}", factor);
}

std::string replay_length_text(double seconds) {
  if (seconds < 120) return std::abs(seconds - std::round(seconds)) < 1e-9 ? fmt::format("{:.0f} s", seconds) : fmt::format("{:.3g} s", seconds);
  return format_duration(Seconds{seconds});
}

std::string rate_text(double rps) { return readable_number(rps) + "/s"; }

// "2027-03-31 00:00–24:00", "2027-03-31 09:00–12:30", "2027-03-31 22:00 – 2027-04-01 02:00".
std::string span_text(const sim::ReplayContext& replay, double from, double to) {
  const auto local_from = local_seconds_of(replay, from);
  const auto local_to = local_seconds_of(replay, to);
  const auto from_day = floor<days>(local_from);
  const auto start = format_date(from_day) + " " + clock_text(local_from);
  if (floor<days>(local_to) == from_day) return start + "–" + clock_text(local_to);
  if (local_to == from_day + days{1}) return start + "–24:00";
  return start + " – " + format_date(floor<days>(local_to)) + " " + clock_text(local_to);
}

}  // namespace

std::string local_time_text(const sim::ReplayContext& replay, double t) {
  const auto local = local_seconds_of(replay, t);
  return format_date(floor<days>(local)) + " " + clock_text(local);
}

std::string time_zone_text(const sim::ReplayContext& replay) {
  auto offsets = offset_text(replay.utc_offset_seconds);
  for (const auto& change : replay.clock_changes) offsets += " to " + offset_text(change.utc_offset_seconds);
  // A fixed offset is named by itself ("+09:00"); a zone by its name as well.
  const bool named = replay.time_zone != offsets && replay.time_zone != offset_text(replay.utc_offset_seconds) && replay.time_zone != "UTC";
  return named ? replay.time_zone + ", " + offsets : offsets;
}

std::string replay_sentence(const sim::ReplayContext& replay, std::uint32_t shard_count) {
  std::string window = span_text(replay, replay.from, replay.to) + " (" + time_zone_text(replay) + ")";
  if (replay.window == sim::ReplayWindowKind::peak_hour && replay.year) window = fmt::format("the peak hour of {}, {},", *replay.year, window);
  const double compression = replay.compression();
  const auto length = replay_length_text(replay.duration.count());
  std::string how;
  if (std::abs(compression - 1) < 1e-9) how = "in real time (" + length + ")";
  else if (compression > 1) how = "compressed ×" + factor_text(compression) + " into " + length;
  else how = "stretched ×" + factor_text(1 / compression) + " over " + length;
  auto sentence = fmt::format("Replays {} {} at scale {:g}: {}× the modelled real-world rate; ", window, how, replay.scale, factor_text(replay.combined_factor()));
  if (std::abs(replay.modelled_peak_rps - replay.modelled_mean_rps) <= 1e-6 * replay.modelled_peak_rps) {
    sentence += fmt::format("modelled {} real-world ⇒ {} planned", rate_text(replay.modelled_mean_rps), rate_text(replay.replay_mean_rps()));
  } else {
    sentence += fmt::format("modelled mean {} and peak {} real-world ⇒ {} and {} planned", rate_text(replay.modelled_mean_rps), rate_text(replay.modelled_peak_rps),
                            rate_text(replay.replay_mean_rps()), rate_text(replay.replay_peak_rps()));
  }
  if (shard_count > 1) sentence += fmt::format(" (this shard sends 1 in {} of those requests)", shard_count);
  return sentence;
}

std::string replay_events_text(const sim::ReplayContext& replay) {
  std::string text;
  for (const auto& event : replay.events) {
    text += fmt::format("{}{} ×{:g} {}", text.empty() ? "" : "; ", event.name, event.multiplier, span_text(replay, event.from, event.to));
  }
  return text;
}

}  // namespace uptake::reports

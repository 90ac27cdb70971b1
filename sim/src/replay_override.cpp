#include "uptake/sim/replay_override.hpp"

#include <fmt/format.h>

#include <cmath>

#include "uptake/base/civil_time.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/base/limits.hpp"

namespace uptake::sim {
namespace {

using namespace std::chrono;

std::string longest_run() { return fmt::format("a run of at most {:.0f}s (31 days)", kLongestRunSeconds); }

constexpr const char* kWindowForms = "peak_hour, day:YYYY-MM-DD, or FROM..TO in local time such as 2027-03-31T09:00..2027-03-31T12:00";

[[noreturn]] void refuse(const char* option, const std::string& problem, const std::string& expected) {
  throw InputError({}, option, problem, expected);
}

void refuse_if(const char* option, const std::optional<ReplayProblem>& problem) {
  if (problem) refuse(option, problem->problem, problem->expected);
}

void apply_window(Scenario& scenario, const std::string& text) {
  auto& replay = scenario.replay;
  if (text == "peak_hour") {
    replay.window = ReplayWindowKind::peak_hour;
    return;
  }
  if (text.starts_with("day:")) {
    const auto day = parse_date(std::string_view(text).substr(4));
    if (!day) refuse("--window", fmt::format("'{}' is not a valid day", text), "day:YYYY-MM-DD such as day:2027-03-31");
    replay.window = ReplayWindowKind::day;
    replay.from = real_instant(scenario, sys_seconds{*day});
    replay.to = real_instant(scenario, sys_seconds{*day + days{1}});
    return;
  }
  const auto dots = text.find("..");
  if (dots == std::string::npos) refuse("--window", fmt::format("'{}' is not a window", text), kWindowForms);
  const auto from = parse_date_time(std::string_view(text).substr(0, dots));
  const auto to = parse_date_time(std::string_view(text).substr(dots + 2));
  if (!from || !to) refuse("--window", fmt::format("'{}' is not FROM..TO of two local date-times", text), "YYYY-MM-DDTHH:MM..YYYY-MM-DDTHH:MM");
  if (*to <= *from) refuse("--window", fmt::format("'{}' ends before it starts", text), "FROM..TO with TO later than FROM");
  replay.window = ReplayWindowKind::interval;
  replay.from = real_instant(scenario, *from);
  replay.to = real_instant(scenario, *to);
}

}  // namespace

sys_seconds real_instant(const Scenario& scenario, sys_seconds local) {
  const double instant = scenario.calendar.time_zone.to_real(static_cast<double>(local.time_since_epoch().count()));
  return sys_seconds{seconds{std::llround(instant)}};
}

std::optional<ReplayProblem> replay_duration_problem(Seconds duration) {
  if (duration.count() < 1) return ReplayProblem{"is shorter than 1s", "a replay of at least 1s"};
  if (duration.count() > kLongestRunSeconds) return ReplayProblem{"is too long", longest_run()};
  return std::nullopt;
}

std::optional<ReplayProblem> replay_real_time_problem(const Replay& replay, std::string_view duration_field) {
  if (replay.window != ReplayWindowKind::interval || replay.duration) return std::nullopt;
  if (duration<double>(replay.to - replay.from).count() <= kLongestRunSeconds) return std::nullopt;
  return ReplayProblem{"makes the interval, replayed in real time, too long a run", fmt::format("{}, or a {} that compresses the interval", longest_run(), duration_field)};
}

std::optional<ReplayProblem> replay_scale_problem(double scale) {
  if (!(scale > 0)) return ReplayProblem{fmt::format("is {}", scale), "a number above 0"};
  if (scale > kMostFactor) return ReplayProblem{fmt::format("is {}", scale), fmt::format("a number of at most {:g}", kMostFactor)};
  return std::nullopt;
}

std::optional<ReplayProblem> replay_year_problem(const Scenario& scenario, int year) {
  const int first_year = scenario.driving_series().first_year();
  if (year >= first_year && year <= scenario.growth.project_to_year) return std::nullopt;
  return ReplayProblem{fmt::format("{} is outside the history and projection", year), fmt::format("a year from {} to {}", first_year, scenario.growth.project_to_year)};
}

void override_replay(Scenario& scenario, const ReplayOverride& changes) {
  if (changes.empty()) return;
  auto& replay = scenario.replay;
  std::string given;
  if (changes.window) {
    apply_window(scenario, *changes.window);
    given += fmt::format(" --window {}", *changes.window);
  }
  if (changes.year) {
    if (replay.window != ReplayWindowKind::peak_hour) {
      refuse("--year", "is given for a window that is not peak_hour", "--year with a peak_hour window (the scenario's, or --window peak_hour)");
    }
    refuse_if("--year", replay_year_problem(scenario, *changes.year));
    replay.year = *changes.year;
    given += fmt::format(" --year {}", *changes.year);
  }
  if (changes.duration) {
    refuse_if("--replay-duration", replay_duration_problem(*changes.duration));
    replay.duration = *changes.duration;
    given += fmt::format(" --replay-duration {:g}s", changes.duration->count());
  }
  if (changes.scale) {
    if (!std::isfinite(*changes.scale)) refuse("--scale", fmt::format("'{}' is not a number", *changes.scale), "a number above 0");
    refuse_if("--scale", replay_scale_problem(*changes.scale));
    replay.scale = *changes.scale;
    given += fmt::format(" --scale {:g}", *changes.scale);
  }
  // A window given without a duration replays in real time: bounded as the file's would be.
  if (changes.window) refuse_if("--window", replay_real_time_problem(replay, "--replay-duration"));
  replay.overridden_by = given.substr(1);
}

}  // namespace uptake::sim

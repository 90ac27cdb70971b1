#pragma once
// The replay block of a scenario, overridden from the command line (`uptake run SCENARIO
// --window day:2027-03-31 --replay-duration 10m --scale 0.5`), and the bounds the block is held
// to, whether it comes from the file or from the options: the loader and the override share
// them, so that neither accepts what the other refuses.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "uptake/base/duration.hpp"
#include "uptake/sim/scenario.hpp"

namespace uptake::sim {

// A local date and time of the scenario's time zone as the real instant the replay works in.
std::chrono::sys_seconds real_instant(const Scenario& scenario, std::chrono::sys_seconds local);

// What is wrong with a value of the replay block, and what would be accepted.
struct ReplayProblem {
  std::string problem;
  std::string expected;
};

// replay.duration: at least 1 s, at most kLongestRunSeconds.
std::optional<ReplayProblem> replay_duration_problem(Seconds duration);
// An interval replayed in real time (no duration) is the run's length: at most kLongestRunSeconds.
// `duration_field` names what would compress it ("replay.duration", "--replay-duration").
std::optional<ReplayProblem> replay_real_time_problem(const Replay& replay, std::string_view duration_field);
// replay.scale: above 0, at most kMostFactor.
std::optional<ReplayProblem> replay_scale_problem(double scale);
// replay.year of a peak_hour window: a year of the driving series' history or projection.
std::optional<ReplayProblem> replay_year_problem(const Scenario& scenario, int year);

// Options of `run SCENARIO` that replace parts of its replay block; each empty one leaves the
// file's value.
struct ReplayOverride {
  // --window: "peak_hour", "day:YYYY-MM-DD", or "FROM..TO" of local date-times in the forms
  // replay.from and replay.to take ("2027-03-31T09:00..2027-03-31T12:00").
  std::optional<std::string> window;
  std::optional<int> year;           // --year: the year of a peak_hour window
  std::optional<Seconds> duration;   // --replay-duration
  std::optional<double> scale;       // --scale

  bool empty() const { return !window && !year && !duration && !scale; }
};

// Applies `changes` to scenario.replay (local times in the scenario's time zone, as the file's),
// holds the result to the bounds above, and records the options in Replay::overridden_by.
// InputError naming the option (--window, --year, --replay-duration, --scale) when a value is
// malformed or out of bounds, or when --year is given for a window that is not peak_hour.
void override_replay(Scenario& scenario, const ReplayOverride& changes);

}  // namespace uptake::sim

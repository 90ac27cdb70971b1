#pragma once
// A calibration written as what uptake reads: a scenario file that `uptake check` accepts (with
// a comment block saying what was measured and what the author must still supply), the
// calibration as JSON data, and a summary for people.
#include <string>

#include "uptake/calibrate/calibration.hpp"
#include "uptake/sim/scenario.hpp"

namespace uptake::calibrate {

// The scenario's calendar as measured (time zone, factors, holidays, hour profile).
sim::Calendar scenario_calendar(const Calibration& calibration);

// The measured chain as journeys: a start step, for each endpoint that begins sessions a step
// "ENDPOINT@first" that sends its first request at once, and a step per endpoint whose pause
// is the fitted think time. Probabilities are rounded to millionths and sum to 1.
sim::Journeys scenario_journeys(const Calibration& calibration);

// Requests a session makes by the chain (the fundamental matrix of scenario_journeys).
double chain_requests_per_session(const Calibration& calibration);

// Derived values of the scenario, shared by the file and the fidelity report.
struct ScenarioVolume {
  std::string series;      // "requests" or "sessions"
  double yearly = 0;       // its volume in calibration.year
  double replay_scale = 1; // so that the replayed peak hour sends about 20 requests a second
};
ScenarioVolume scenario_volume(const Calibration& calibration);

// The scenario file. `name` names the scenario (a usable scenario name).
std::string render_scenario(const Calibration& calibration, const std::string& name);

// The calibration as JSON (schema "uptake.calibration/v1").
std::string render_calibration_json(const Calibration& calibration);

// What was read and measured, for the terminal.
std::string render_calibration_text(const Calibration& calibration);

}  // namespace uptake::calibrate

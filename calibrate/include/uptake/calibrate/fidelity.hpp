#pragma once
// How well a calibrated scenario reproduces its log: the scenario's own arrival schedule is
// drawn over the log's span (no network, no load), and its per-hour counts, endpoint shares,
// session lengths and busiest second are set beside the log's.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "uptake/calibrate/calibration.hpp"

namespace uptake::calibrate {

struct FidelityReport {
  std::array<double, 24> log_by_hour{}, model_by_hour{};  // requests per local hour of the day over the span
  std::vector<std::string> endpoints;
  std::vector<double> log_share, model_share;
  double log_mean_session = 0, model_mean_session = 0;     // requests per session (journeys only)
  double log_session_p90 = 0, model_session_p90 = 0;
  bool sessions = false;
  std::uint64_t log_requests = 0, model_requests = 0;
  std::uint64_t log_peak_second = 0, model_peak_second = 0;
  double log_dispersion_60 = 1, model_dispersion_60 = 1;   // index of dispersion of 60 s request counts within each hour
  double seen_fraction = 1;                                 // the model's schedule is thinned by it to compare with the log
  // A long, busy log is replayed as a sample of about `most_replayed` arrivals: the model's
  // counts are scaled back by 1 / sample, and its busiest second and dispersion (which a sample
  // changes) are not compared.
  double sample = 1;
};

// Loads `scenario_text` (as render_scenario wrote it), draws its schedule over the log's span
// with the scenario's seed, and compares. A log of more than `most_replayed` requests is
// compared with a sample of the schedule of about that size. Throws InputError when the text
// does not load.
FidelityReport replay_fidelity(const Calibration& calibration, const std::string& scenario_text, const std::string& file_name,
                               double most_replayed = 20e6);

std::string render_fidelity_text(const FidelityReport& report);

}  // namespace uptake::calibrate

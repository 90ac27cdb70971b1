#pragma once
// One judged check of a run, a threshold or a comparison with a baseline, in the shape that the
// gate's table, junit.xml and summary.json's thresholds[] all show.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "uptake/loadgen/slo.hpp"
#include "uptake/loadgen/summary.hpp"

namespace uptake::reports {

struct CheckResult {
  std::string suite;     // where it comes from: "thresholds", "baseline" or "run"
  std::string name;      // what is checked, as a person would write it: "verify.p99<300ms"
  bool passed = false;
  bool skipped = false;  // could not be judged either way (not a failure): the message says why
  std::string observed;  // the run's figure with its unit: "12.345 ms"
  std::string expected;  // the condition it had to meet: "< 300.000 ms"
  std::string message;   // one sentence for people
  // Comparisons with a baseline only (suite "baseline"), for the gate's table: the baseline's
  // figure, the change ("+12.5%"), and how the change stands against noise ("p=0.0031",
  // "~ p=0.41" when not significant, "~ too few", "one figure").
  std::string baseline;
  std::string change;
  std::string significance;
  // The same for programs: a threshold's (suite "thresholds") as its entry in summary.json's
  // thresholds[]; a comparison's with a baseline as JSON (name, endpoint, metric, unit, the
  // figures, the replicates' shift and its significance, passed, message).
  std::optional<loadgen::SummaryThreshold> entry;
  nlohmann::ordered_json detail = nlohmann::ordered_json::object();
};

// Figures as checks show them, as the SLO module formats them: a latency in seconds as
// "12.345 ms" (or "1.234 s" from a second up), a fraction as a percentage with three decimals,
// a rate as requests per second.
using loadgen::format_latency;
using loadgen::format_percent;
using loadgen::format_rate;

}  // namespace uptake::reports

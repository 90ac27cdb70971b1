#pragma once
// What report.html and report.md both say about a run, worked out once: the verdict, the
// threshold rows, errors by class, and tolerant reads of the capacity block (a field that it
// lacks shows as "—" instead of failing the whole report).
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "uptake/reports/results_dir.hpp"

namespace uptake::reports {

enum class RunOutcome { pass, fail, untrusted };

struct ThresholdRow {
  std::string text;                  // as written: "p99<300ms"
  std::string observed;              // for people: "12.345 ms"; "—" when nothing was observed
  bool passed = false;
  std::string message;               // one sentence for people, when the summary has one
};

struct RunOverview {
  RunOutcome outcome = RunOutcome::pass;
  std::string verdict;               // one sentence: "passed: 2 of 2 thresholds hold"
  bool generator_trusted = true;
  std::string generator_note;        // why not, or the schedule lag against its bound
  std::vector<ThresholdRow> thresholds;
  std::vector<std::pair<std::string, std::uint64_t>> errors_by_class;  // classes with errors, in summary order
};

RunOverview overview_of(const RunResults& results);

// summary.json's `capacity` block (written by `uptake capacity`), as both reports show it.
struct CapacityOverview {
  std::string headline;              // "1,650/s within p99<20ms, achieved_ratio>=0.98 (found)"
  std::string explanation;           // the search's own sentence
  std::vector<std::vector<std::string>> models;  // rows: model, capacity, objective at the measured rate
  std::string models_note;           // the service times and servers the models use
  std::vector<std::vector<std::string>> plan;    // rows: year, design peak, capacity, headroom, instances needed
  std::string exhaustion;            // "2029-03-14", "not within the projection (to 2030)"; empty without a plan
  std::string exhaustion_quantiles;  // "P10 2027-05-02, P50 2028-11-20, P90 not within the projection (to 2030)"; empty without
  // The curve as a table, one row per trial in order: step.trial, phase, offered, achieved,
  // p50, p99, errors, verdict.
  std::vector<std::vector<std::string>> steps;
};
inline const std::vector<std::string> kCapacityStepColumns = {"step", "phase", "offered", "achieved", "p50", "p99", "errors", "verdict"};
// The block is JSON that capacity_summary.cpp owns (loadgen::Summary::capacity), read tolerantly.
std::optional<CapacityOverview> capacity_overview_of(const loadgen::Summary& summary);

// The number at a JSON pointer ("/steps/0/p99_ms"), if the JSON has one there: for the capacity
// block and forecast.json, whose fields are not typed.
std::optional<double> number_at(const nlohmann::ordered_json& json, const std::string& pointer);
// When the run's schedule started, to the whole second ("2024-03-04 10:00:00" UTC once formatted).
std::chrono::sys_seconds started_at_of(const loadgen::Summary& summary);
// "3.21 ms", "1.25 s"; "—" when absent.
std::string milliseconds_text(std::optional<double> milliseconds);
// The run's name for titles: the scenario, or "ad hoc run".
std::string run_name(const RunResults& results);

}  // namespace uptake::reports

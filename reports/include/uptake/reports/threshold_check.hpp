#pragma once
// Threshold expressions (sim/threshold.hpp) judged against a run's results: latency figures
// come from the whole-run histograms of latency.hlog (so a merged run's percentiles are exact,
// never averages of rounded per-shard figures), counters and rates from summary.json.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "uptake/reports/check_result.hpp"
#include "uptake/reports/results_dir.hpp"
#include "uptake/sim/threshold.hpp"

namespace uptake::reports {

// The run's recorded SLO (summary.json's `slo`) followed by `extra` (--threshold options).
// Throws InputError naming summary.json's slo[i] or the --threshold option for an expression
// that does not parse, and for one naming an endpoint the run did not have.
std::vector<sim::Threshold> thresholds_for(const RunResults& run, const std::vector<std::string>& extra);

// Judges one threshold. A latency threshold on a series that completed nothing fails: there is
// nothing to show that it holds.
CheckResult check_threshold(const sim::Threshold& threshold, const RunResults& run);
std::vector<CheckResult> check_thresholds(const std::vector<sim::Threshold>& thresholds, const RunResults& run);

// The value a threshold compares, in its own units (seconds, fraction, requests per second);
// std::nullopt for a latency figure of a series with no responses.
std::optional<double> observed_value(const sim::Threshold& threshold, const RunResults& run);

// A threshold's entry in summary.json's thresholds[], as judged.
loadgen::SummaryThreshold threshold_entry(const sim::Threshold& threshold, std::optional<double> observed, bool passed, const std::string& message);
// The entries of these verdicts (those of thresholds: CheckResult::entry), and the folder's
// summary.json rewritten with them as its thresholds[] (atomically; the rest of the summary is
// kept as it was).
std::vector<loadgen::SummaryThreshold> threshold_entries(const std::vector<CheckResult>& verdicts);
void record_thresholds(const std::filesystem::path& folder, const std::vector<CheckResult>& verdicts);

}  // namespace uptake::reports

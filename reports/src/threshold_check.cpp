#include "uptake/reports/threshold_check.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/slo.hpp"

namespace uptake::reports {
namespace {

using sim::ThresholdMetric;

std::string format_value(const sim::Threshold& threshold, double value) { return loadgen::format_observed(threshold, value); }

void check_endpoint_exists(const sim::Threshold& threshold, const RunResults& run, const InputLocation& where, const std::string& field) {
  loadgen::check_endpoint_of(threshold, run.endpoint_names(), where, field, fmt::format("the run in {}", run.folder.string()));
}

}  // namespace

std::vector<sim::Threshold> thresholds_for(const RunResults& run, const std::vector<std::string>& extra) {
  std::vector<sim::Threshold> thresholds;
  const InputLocation summary_file{(run.folder / "summary.json").string(), 0, 0};
  const auto& slo = run.summary.slo;
  for (std::size_t i = 0; i < slo.size(); ++i) {
    const auto field = fmt::format("slo[{}]", i);
    auto threshold = sim::parse_threshold_or_throw(slo[i], summary_file, field);
    check_endpoint_exists(threshold, run, summary_file, field);
    thresholds.push_back(std::move(threshold));
  }
  for (const auto& text : extra) {
    auto threshold = sim::parse_threshold_or_throw(text, {}, "--threshold");
    check_endpoint_exists(threshold, run, {}, "--threshold");
    thresholds.push_back(std::move(threshold));
  }
  return thresholds;
}

std::optional<double> observed_value(const sim::Threshold& threshold, const RunResults& run) {
  const std::string series = threshold.endpoint.empty() ? "total" : threshold.endpoint;
  const auto counters = run.counters_of(series);
  return loadgen::observed_value(threshold, {counters, counters.achieved_rps, &run.response_time_of(series), counters.completed_in_window});
}

CheckResult check_threshold(const sim::Threshold& threshold, const RunResults& run) {
  CheckResult result;
  result.suite = "thresholds";
  result.name = threshold.text;
  result.expected = fmt::format("{} {}", loadgen::symbol(threshold.comparison), format_value(threshold, threshold.bound));
  const auto observed = observed_value(threshold, run);
  const std::string series = threshold.endpoint.empty() ? "the whole run" : fmt::format("endpoint '{}'", threshold.endpoint);
  if (!observed) {
    result.passed = false;
    result.observed = "no responses";
    result.message = fmt::format("{} completed no responses, so its {} cannot show that {} holds", series, loadgen::describe_metric(threshold), threshold.text);
  } else {
    result.passed = threshold.holds(*observed);
    result.observed = format_value(threshold, *observed);
    result.message = fmt::format("{}: {} was {}, {} {}", series, loadgen::describe_metric(threshold), result.observed,
                                 result.passed ? "which meets" : "which breaks", threshold.text);
  }
  result.entry = threshold_entry(threshold, observed, result.passed, result.message);
  return result;
}

std::vector<CheckResult> check_thresholds(const std::vector<sim::Threshold>& thresholds, const RunResults& run) {
  std::vector<CheckResult> results;
  for (const auto& threshold : thresholds) results.push_back(check_threshold(threshold, run));
  return results;
}

loadgen::SummaryThreshold threshold_entry(const sim::Threshold& threshold, std::optional<double> observed, bool passed, const std::string& message) {
  loadgen::SummaryThreshold entry;
  entry.expression = threshold.text;
  if (!threshold.endpoint.empty()) entry.endpoint = threshold.endpoint;
  entry.metric = threshold.metric_name;
  entry.comparison = loadgen::symbol(threshold.comparison);
  entry.bound = threshold.bound;
  entry.observed = observed;
  entry.unit = loadgen::unit_of(threshold.metric);
  entry.passed = passed;
  entry.message = message;
  return entry;
}

std::vector<loadgen::SummaryThreshold> threshold_entries(const std::vector<CheckResult>& verdicts) {
  std::vector<loadgen::SummaryThreshold> entries;
  for (const auto& verdict : verdicts) {
    if (verdict.entry) entries.push_back(*verdict.entry);
  }
  return entries;
}

void record_thresholds(const std::filesystem::path& folder, const std::vector<CheckResult>& verdicts) {
  loadgen::update_summary_file(folder, [&](loadgen::Summary& summary) { summary.thresholds = threshold_entries(verdicts); });
}

}  // namespace uptake::reports

#include "uptake/reports/baseline.hpp"

#include "run_overview.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace uptake::reports {
namespace {

using nlohmann::ordered_json;

std::string percentile_name(double percentile) {
  // 99.9 -> "p999", as thresholds and HdrHistogram name it.
  std::string digits = fmt::format("{:g}", percentile);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  return "p" + digits;
}

std::string series_label(const std::string& series) { return series == "total" ? "the whole run" : fmt::format("endpoint '{}'", series); }

std::string change(double now, double before) {
  if (before == 0) return now == 0 ? "unchanged" : "up from 0";
  return fmt::format("{:+.1f}%", (now / before - 1) * 100);
}

CheckResult compare_percentile(const RunResults& run, const RunResults& baseline, const std::string& series, double percentile,
                               const BaselineTolerances& tolerances) {
  CheckResult result;
  result.suite = "baseline";
  const auto metric = percentile_name(percentile);
  result.name = series == "total" ? metric : fmt::format("{}.{}", series, metric);
  const auto& now_histogram = run.response_time_of(series);
  const auto& before_histogram = baseline.response_time_of(series);
  if (now_histogram.total_count() == 0 || before_histogram.total_count() == 0) {
    result.skipped = true;
    result.passed = true;
    result.observed = "no responses";
    result.message = fmt::format("{} has no responses in {}, so its {} cannot be compared", series_label(series),
                                 now_histogram.total_count() == 0 ? "this run" : "the baseline", metric);
    result.detail = {{"name", result.name}, {"skipped", true}, {"message", result.message}};
    return result;
  }
  const double now = static_cast<double>(now_histogram.value_at_percentile(percentile)) / 1e9;
  const double before = static_cast<double>(before_histogram.value_at_percentile(percentile)) / 1e9;
  const double limit = before * (1 + tolerances.latency_increase);
  result.passed = now <= limit;
  result.observed = format_latency(now);
  result.expected = fmt::format("<= {} (baseline {} {:+.0f}%)", format_latency(limit), format_latency(before), tolerances.latency_increase * 100);
  result.message = fmt::format("{}: {} response time {} against the baseline's {} ({}), {} the allowed {:+.0f}%", series_label(series), metric,
                               result.observed, format_latency(before), change(now, before), result.passed ? "within" : "beyond",
                               tolerances.latency_increase * 100);
  result.detail = {{"name", result.name}, {"endpoint", series == "total" ? ordered_json(nullptr) : ordered_json(series)},
                   {"metric", metric},    {"unit", "s"},
                   {"observed", now},     {"baseline", before},
                   {"limit", limit},      {"passed", result.passed},
                   {"message", result.message}};
  return result;
}

// A rate that may fall by at most `decrease` of the baseline's: the achieved throughput, or the
// capacity `uptake capacity` found.
CheckResult compare_rate(const std::string& name, const char* metric, const std::string& what, double now, double before, double decrease) {
  CheckResult result;
  result.suite = "baseline";
  result.name = name;
  const double limit = before * (1 - decrease);
  result.passed = now >= limit;
  result.observed = format_rate(now);
  result.expected = fmt::format(">= {} (baseline {} -{:.0f}%)", format_rate(limit), format_rate(before), decrease * 100);
  result.message = fmt::format("{} {} against the baseline's {} ({}), {} the allowed -{:.0f}%", what, result.observed, format_rate(before),
                               change(now, before), result.passed ? "within" : "beyond", decrease * 100);
  result.detail = {{"name", result.name}, {"endpoint", nullptr},     {"metric", metric},        {"unit", "requests/s"},
                   {"observed", now},     {"baseline", before},      {"limit", limit},          {"passed", result.passed},
                   {"message", result.message}};
  return result;
}

CheckResult compare_throughput(const RunResults& run, const RunResults& baseline, const BaselineTolerances& tolerances) {
  return compare_rate("throughput", "achieved_rps", "the whole run achieved", run.counters_of("total").achieved_rps,
                      baseline.counters_of("total").achieved_rps, tolerances.throughput_decrease);
}

}  // namespace

std::vector<CheckResult> compare_with_baseline(const RunResults& run, const RunResults& baseline, const BaselineTolerances& tolerances) {
  const auto now_endpoints = run.endpoint_names();
  const auto before_endpoints = baseline.endpoint_names();
  auto has = [](const std::vector<std::string>& names, const std::string& name) { return std::find(names.begin(), names.end(), name) != names.end(); };
  std::vector<std::string> series{"total"};
  for (const auto& name : now_endpoints) {
    if (has(before_endpoints, name)) series.push_back(name);
  }
  std::vector<CheckResult> results;
  for (const auto& name : series) {
    for (const double percentile : kComparedPercentiles) results.push_back(compare_percentile(run, baseline, name, percentile, tolerances));
  }
  results.push_back(compare_throughput(run, baseline, tolerances));
  // Capacity searches (summary.json's capacity.rps in both): the capacity may fall no more than
  // the throughput may.
  const auto now_capacity = number_at(run.summary, "/capacity/rps");
  const auto before_capacity = number_at(baseline.summary, "/capacity/rps");
  if (now_capacity && before_capacity) {
    results.push_back(compare_rate("capacity", "capacity_rps", "the capacity search found", *now_capacity, *before_capacity, tolerances.throughput_decrease));
  }
  auto skip = [&](const std::string& name, std::string message) {
    CheckResult skipped;
    skipped.suite = "baseline";
    skipped.name = name;
    skipped.skipped = skipped.passed = true;
    skipped.message = std::move(message);
    skipped.detail = {{"name", name}, {"skipped", true}, {"message", skipped.message}};
    results.push_back(std::move(skipped));
  };
  for (const auto& name : now_endpoints) {
    if (!has(before_endpoints, name)) skip(name, fmt::format("endpoint '{}' is not in the baseline, so it cannot be compared", name));
  }
  for (const auto& name : before_endpoints) {
    if (!has(now_endpoints, name)) skip(name, fmt::format("endpoint '{}' of the baseline is not in this run, so it cannot be compared", name));
  }
  return results;
}

}  // namespace uptake::reports

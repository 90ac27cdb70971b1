#include "uptake/reports/baseline.hpp"

#include "run_overview.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/histogram_log.hpp"
#include "uptake/loadgen/results.hpp"
#include "uptake/reports/significance.hpp"

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

// A replicate spans at least this many seconds with responses: a queue's busy spells carry over
// from one second into the next, and blocks of single seconds would make them look like more
// independent evidence than they are.
constexpr std::int64_t kSecondsPerBlock = 2;

// Replicates of each compared percentile of `series`: the percentile (in seconds) of each block
// of consecutive seconds of latency.hlog holding responses_per_block responses; a last block
// short of it is left out (its responses still count in the whole-run figure). One decoded
// second at a time, however long the run. [percentile of kComparedPercentiles][block]
std::vector<std::vector<double>> block_percentiles(const RunResults& run, const std::string& series) {
  constexpr std::size_t kCount = std::size(kComparedPercentiles);
  std::vector<std::vector<double>> values(kCount);
  const auto found = run.response_time_by_second.find(series);
  if (found == run.response_time_by_second.end()) return values;
  std::vector<loadgen::HdrHistogram> blocks(kCount, RunResults::empty_histogram());
  std::vector<std::int64_t> block_seconds(kCount, 0);
  for (const auto& [second, compressed] : found->second) {
    const auto histogram = loadgen::decode_compressed(compressed);
    for (std::size_t p = 0; p < kCount; ++p) {
      blocks[p].add(histogram);
      ++block_seconds[p];
      if (static_cast<std::uint64_t>(blocks[p].total_count()) < responses_per_block(kComparedPercentiles[p]) || block_seconds[p] < kSecondsPerBlock) continue;
      values[p].push_back(static_cast<double>(blocks[p].value_at_percentile(kComparedPercentiles[p])) / 1e9);
      blocks[p].reset();
      block_seconds[p] = 0;
    }
  }
  return values;
}

// Replicates of the achieved throughput: completions in each whole second of the run, leaving
// out its first and last seconds (the schedule's start and the drain are partial seconds).
std::vector<double> completions_per_second(const RunResults& run) {
  std::map<std::int64_t, double> by_second;
  for (const auto& row : run.timeseries) {
    if (row.endpoint == "total") by_second[row.second] += static_cast<double>(row.completed);
  }
  std::vector<double> values;
  if (by_second.size() <= 2) return values;
  const auto last = std::prev(by_second.end())->first;
  for (std::int64_t second = by_second.begin()->first + 1; second < last; ++second) {
    const auto at = by_second.find(second);
    values.push_back(at == by_second.end() ? 0.0 : at->second);
  }
  return values;
}

// A comparison before the gate's Holm correction has decided which shifts are significant.
struct Comparison {
  CheckResult check;
  std::string what;        // "the whole run's p99 response time"
  double now = 0, before = 0, limit = 0;
  bool beyond = false;     // the whole-run figure is past its tolerance
  std::optional<ShiftEstimate> shift;  // empty: no replicates (a capacity)
  std::string (*format)(double) = nullptr;
  std::string tolerance;   // "+10%" or "-5%"
};

std::string shift_text(const ShiftEstimate& shift) {
  const auto percent = [](double ratio) { return fmt::format("{:+.1f}%", (ratio - 1) * 100); };
  const auto interval = shift.ratio_low ? fmt::format(" [{}, {}]", percent(*shift.ratio_low), percent(*shift.ratio_high)) : std::string(" [too few to bound]");
  return percent(shift.ratio) + interval;
}

Comparison compare_latency(const RunResults& run, const RunResults& baseline, const std::string& series, std::size_t percentile_index,
                           const std::vector<std::vector<double>>& now_blocks, const std::vector<std::vector<double>>& before_blocks,
                           const BaselineTolerances& tolerances) {
  const double percentile = kComparedPercentiles[percentile_index];
  Comparison comparison;
  auto& result = comparison.check;
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
    return comparison;
  }
  comparison.what = fmt::format("{}: {} response time", series_label(series), metric);
  comparison.now = static_cast<double>(now_histogram.value_at_percentile(percentile)) / 1e9;
  comparison.before = static_cast<double>(before_histogram.value_at_percentile(percentile)) / 1e9;
  comparison.limit = comparison.before * (1 + tolerances.latency_increase);
  comparison.beyond = comparison.now > comparison.limit;
  comparison.shift = compare_replicates(before_blocks[percentile_index], now_blocks[percentile_index], Worse::higher);
  comparison.format = format_latency;
  comparison.tolerance = fmt::format("{:+.0f}%", tolerances.latency_increase * 100);
  result.detail = {{"name", result.name}, {"endpoint", series == "total" ? ordered_json(nullptr) : ordered_json(series)}, {"metric", metric}, {"unit", "s"}};
  return comparison;
}

// A rate that may fall by at most `decrease` of the baseline's: the achieved throughput, or the
// capacity `uptake capacity` found.
Comparison compare_rate(const std::string& name, const char* metric, const std::string& what, double now, double before, double decrease) {
  Comparison comparison;
  comparison.check.suite = "baseline";
  comparison.check.name = name;
  comparison.what = what;
  comparison.now = now;
  comparison.before = before;
  comparison.limit = before * (1 - decrease);
  comparison.beyond = now < comparison.limit;
  comparison.format = format_rate;
  comparison.tolerance = fmt::format("-{:.0f}%", decrease * 100);
  comparison.check.detail = {{"name", name}, {"endpoint", nullptr}, {"metric", metric}, {"unit", "requests/s"}};
  return comparison;
}

// The verdict, once Holm's correction has said whether the shift is significant.
void decide(Comparison& comparison, bool significant, const BaselineTolerances& tolerances) {
  auto& result = comparison.check;
  const auto& shift = comparison.shift;
  const bool judged_on_replicates = shift.has_value();
  const bool could_show = shift && shift->smallest_possible_p <= tolerances.significance;
  // Without replicates (a capacity), the tolerance alone decides, as it always has.
  result.passed = !(comparison.beyond && (significant || !judged_on_replicates));
  result.observed = comparison.format(comparison.now);
  result.baseline = comparison.format(comparison.before);
  result.change = change(comparison.now, comparison.before);
  result.expected = fmt::format("{} {} (baseline {} {})", comparison.tolerance[0] == '+' ? "<=" : ">=", comparison.format(comparison.limit),
                                comparison.format(comparison.before), comparison.tolerance);
  std::string evidence;
  if (!judged_on_replicates) {
    result.significance = "one figure";
    evidence = "one figure per run, with no replicates to judge noise by";
  } else if (!could_show) {
    result.significance = "~ too few";
    evidence = fmt::format("{} against {} replicates are too few to show any difference at {:g}%", shift->candidate_replicates,
                           shift->baseline_replicates, tolerances.significance * 100);
  } else {
    result.significance = significant ? fmt::format("p={:.2g}", shift->p_value) : fmt::format("~ p={:.2g}", shift->p_value);
    evidence = fmt::format("shift {} over {} against {} replicates, p={:.2g}{}", shift_text(*shift), shift->candidate_replicates,
                           shift->baseline_replicates, shift->p_value, significant ? "" : ": not distinguishable from noise");
  }
  result.message = fmt::format("{} {} against the baseline's {} ({}; {}), {}", comparison.what, result.observed, result.baseline, result.change, evidence,
                               result.passed ? (comparison.beyond ? "so not a regression" : fmt::format("within the allowed {}", comparison.tolerance))
                                             : fmt::format("a regression beyond the allowed {}", comparison.tolerance));
  auto& detail = result.detail;
  detail["observed"] = comparison.now;
  detail["baseline"] = comparison.before;
  detail["limit"] = comparison.limit;
  detail["beyond_tolerance"] = comparison.beyond;
  if (shift) {
    detail["replicates"] = {{"baseline", shift->baseline_replicates}, {"candidate", shift->candidate_replicates}};
    detail["shift_ratio"] = shift->ratio;
    detail["shift_ratio_low"] = shift->ratio_low ? ordered_json(*shift->ratio_low) : ordered_json(nullptr);
    detail["shift_ratio_high"] = shift->ratio_high ? ordered_json(*shift->ratio_high) : ordered_json(nullptr);
    detail["p_value"] = shift->p_value;
    detail["significant"] = significant;
  }
  detail["passed"] = result.passed;
  detail["message"] = result.message;
}

std::string names_of(const std::vector<std::string>& names) { return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")); }

}  // namespace

std::uint64_t responses_per_block(double percentile) {
  return std::max<std::uint64_t>(30, static_cast<std::uint64_t>(std::ceil(5.0 / (1.0 - percentile / 100.0) - 1e-9)));
}

void check_comparable(const RunResults& run, const RunResults& baseline) {
  const auto refuse = [&](const std::string& field, const std::string& now, const std::string& before) {
    throw InputError({(run.folder / loadgen::kSummaryFile).string(), 0, 0}, field,
                     fmt::format("is {}, but the baseline's ({}) is {}: the runs are of different kinds and their figures cannot be compared", now,
                                 baseline.folder.string(), before),
                     "a baseline of the same kind (mode, scenario, endpoints), or --force to compare anyway");
  };
  for (const auto& [field, member] : {std::pair{"mode", &loadgen::Summary::mode}, std::pair{"scenario", &loadgen::Summary::scenario}}) {
    const auto &now = run.summary.*member, &before = baseline.summary.*member;
    if (now != before) refuse(field, fmt::format("'{}'", now), fmt::format("'{}'", before));
  }
  if (run.endpoint_names() != baseline.endpoint_names()) refuse("endpoints", names_of(run.endpoint_names()), names_of(baseline.endpoint_names()));
  const bool now_capacity = run.summary.capacity.has_value(), before_capacity = baseline.summary.capacity.has_value();
  if (now_capacity != before_capacity) refuse("capacity", now_capacity ? "a capacity search" : "a run", before_capacity ? "a capacity search" : "a run");
}

std::vector<CheckResult> compare_with_baseline(const RunResults& run, const RunResults& baseline, const BaselineTolerances& tolerances) {
  const auto now_endpoints = run.endpoint_names();
  const auto before_endpoints = baseline.endpoint_names();
  auto has = [](const std::vector<std::string>& names, const std::string& name) { return std::find(names.begin(), names.end(), name) != names.end(); };
  std::vector<std::string> series{"total"};
  // One endpoint on both sides is the whole run: comparing it twice would only double the
  // family that Holm's correction divides the significance among.
  const bool one_endpoint = now_endpoints.size() == 1 && before_endpoints == now_endpoints;
  for (const auto& name : now_endpoints) {
    if (has(before_endpoints, name) && !one_endpoint) series.push_back(name);
  }
  std::vector<Comparison> comparisons;
  for (const auto& name : series) {
    const auto now_blocks = block_percentiles(run, name);
    const auto before_blocks = block_percentiles(baseline, name);
    for (std::size_t p = 0; p < std::size(kComparedPercentiles); ++p) {
      comparisons.push_back(compare_latency(run, baseline, name, p, now_blocks, before_blocks, tolerances));
    }
  }
  auto throughput = compare_rate("throughput", "achieved_rps", "the whole run's achieved throughput", run.counters_of("total").achieved_rps,
                                 baseline.counters_of("total").achieved_rps, tolerances.throughput_decrease);
  throughput.shift = compare_replicates(completions_per_second(baseline), completions_per_second(run), Worse::lower);
  comparisons.push_back(std::move(throughput));
  // Capacity searches (summary.json's capacity.rps in both): the capacity may fall no more than
  // the throughput may.
  const auto capacity_rps = [](const RunResults& results) { return results.summary.capacity ? number_at(*results.summary.capacity, "/rps") : std::nullopt; };
  const auto now_capacity = capacity_rps(run);
  const auto before_capacity = capacity_rps(baseline);
  if (now_capacity && before_capacity) {
    comparisons.push_back(compare_rate("capacity", "capacity_rps", "the capacity search found", *now_capacity, *before_capacity, tolerances.throughput_decrease));
  }
  // Holm's correction over every comparison with replicates: one gate, one family.
  std::vector<double> p_values;
  std::vector<std::size_t> judged;
  for (std::size_t i = 0; i < comparisons.size(); ++i) {
    if (comparisons[i].check.skipped || !comparisons[i].shift) continue;
    p_values.push_back(comparisons[i].shift->p_value);
    judged.push_back(i);
  }
  const auto significant = holm_significant(p_values, tolerances.significance);
  std::vector<bool> significant_at(comparisons.size(), false);
  for (std::size_t k = 0; k < judged.size(); ++k) significant_at[judged[k]] = significant[k];
  std::vector<CheckResult> results;
  for (std::size_t i = 0; i < comparisons.size(); ++i) {
    if (!comparisons[i].check.skipped) decide(comparisons[i], significant_at[i], tolerances);
    results.push_back(std::move(comparisons[i].check));
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

#include "uptake/loadgen/slo.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/run_result.hpp"

namespace uptake::loadgen {
namespace {

using sim::Comparison;
using sim::ThresholdMetric;

bool is_upper_bound(Comparison comparison) { return comparison == Comparison::less || comparison == Comparison::less_equal; }

// Responses certainly beyond `bound_ns`: buckets whose every value is past it (a bucket that
// straddles the bound is not counted, so the count never overstates).
std::uint64_t responses_beyond(const HdrHistogram& histogram, std::int64_t bound_ns, bool bound_allowed) {
  std::uint64_t beyond = 0;
  histogram.for_each_recorded_value([&](const auto& bucket) {
    if (bucket.lowest > bound_ns || (!bound_allowed && bucket.lowest == bound_ns && bucket.highest == bound_ns)) beyond += static_cast<std::uint64_t>(bucket.count);
  });
  return beyond;
}

}  // namespace

std::optional<double> observed_value(const sim::Threshold& threshold, const SeriesFigures& figures) {
  const auto* histogram = figures.response_time;
  const bool answered = histogram && histogram->total_count() > 0;
  switch (threshold.metric) {
    case ThresholdMetric::latency_percentile:
      if (!answered) return std::nullopt;
      return static_cast<double>(histogram->value_at_percentile(threshold.percentile)) / 1e9;
    case ThresholdMetric::latency_mean:
      if (!answered) return std::nullopt;
      return histogram->mean() / 1e9;
    case ThresholdMetric::latency_max:
      if (!answered) return std::nullopt;
      return static_cast<double>(histogram->max()) / 1e9;
    case ThresholdMetric::error_rate: return error_rate(figures.requests.ok, figures.requests.errors);
    case ThresholdMetric::achieved_ratio:
      return achieved_ratio(figures.completed_in_window, figures.requests.planned);
    case ThresholdMetric::throughput: return figures.achieved_rps;
  }
  return std::nullopt;
}

std::optional<std::string> cannot_pass(const sim::Threshold& threshold, const SeriesFigures& so_far, std::uint64_t planned_total) {
  if (planned_total == 0) return std::nullopt;
  const bool upper = is_upper_bound(threshold.comparison);
  const bool bound_allowed = threshold.comparison == Comparison::less_equal || threshold.comparison == Comparison::greater_equal;
  const double total = static_cast<double>(planned_total);
  const auto* histogram = so_far.response_time;
  const auto bound_ns = std::llround(threshold.bound * 1e9);
  switch (threshold.metric) {
    case ThresholdMetric::latency_percentile: {
      if (!upper || !histogram) return std::nullopt;
      // At the end at most planned_total responses: past this many beyond the bound, the
      // percentile is beyond it too.
      const double allowed = (1 - threshold.percentile / 100) * total;
      const auto beyond = responses_beyond(*histogram, bound_ns, bound_allowed);
      if (static_cast<double>(beyond) <= allowed) return std::nullopt;
      return fmt::format("{} responses already took longer than the bound, more than the {:.0f} that {} allows in the {} planned", beyond, allowed,
                         threshold.text, planned_total);
    }
    case ThresholdMetric::latency_mean: {
      if (!upper || !histogram) return std::nullopt;
      // Even if every response still to come took no time at all.
      const double lowest_mean = histogram->mean() * static_cast<double>(histogram->total_count()) / total / 1e9;
      if (!(bound_allowed ? lowest_mean > threshold.bound : lowest_mean >= threshold.bound)) return std::nullopt;
      return fmt::format("the mean can no longer fall below the bound: at least {:.3f} ms over the {} planned", lowest_mean * 1e3, planned_total);
    }
    case ThresholdMetric::latency_max: {
      if (!upper || !histogram || histogram->total_count() == 0) return std::nullopt;
      if (responses_beyond(*histogram, bound_ns, bound_allowed) == 0) return std::nullopt;
      return fmt::format("a response already took {:.3f} ms", static_cast<double>(histogram->max()) / 1e6);
    }
    case ThresholdMetric::error_rate: {
      if (!upper) return std::nullopt;
      // Even if every request still to come succeeded.
      const double lowest_rate = static_cast<double>(so_far.requests.errors) / total;
      if (!(bound_allowed ? lowest_rate > threshold.bound : lowest_rate >= threshold.bound)) return std::nullopt;
      return fmt::format("{} requests already failed: at least {:.3f}% of the {} planned", so_far.requests.errors, lowest_rate * 100, planned_total);
    }
    case ThresholdMetric::achieved_ratio: {
      if (upper) return std::nullopt;
      // Failures without an answer (timeouts, refused connections) never complete.
      const auto attempted = so_far.requests.ok + so_far.requests.errors;
      const auto unanswered = attempted > so_far.requests.completed ? attempted - so_far.requests.completed : 0;
      const double highest_ratio = (total - static_cast<double>(unanswered)) / total;
      if (bound_allowed ? highest_ratio >= threshold.bound : highest_ratio > threshold.bound) return std::nullopt;
      return fmt::format("{} requests already went unanswered: at most {:.4f} of the {} planned can complete", unanswered, highest_ratio, planned_total);
    }
    case ThresholdMetric::throughput: return std::nullopt;
  }
  return std::nullopt;
}

std::string format_latency(double seconds) {
  if (std::abs(seconds) >= 1) return fmt::format("{:.3f} s", seconds);
  return fmt::format("{:.3f} ms", seconds * 1e3);
}

std::string format_percent(double fraction) { return fmt::format("{:.3f}%", fraction * 100); }

std::string format_rate(double requests_per_second) { return fmt::format("{:.1f}/s", requests_per_second); }

namespace {

bool is_latency(ThresholdMetric metric) {
  return metric == ThresholdMetric::latency_percentile || metric == ThresholdMetric::latency_mean || metric == ThresholdMetric::latency_max;
}

}  // namespace

std::string format_observed(const sim::Threshold& threshold, std::optional<double> observed) {
  if (!observed) return "no responses";
  if (is_latency(threshold.metric)) return format_latency(*observed);
  if (threshold.metric == ThresholdMetric::error_rate) return format_percent(*observed);
  if (threshold.metric == ThresholdMetric::throughput) return format_rate(*observed);
  return fmt::format("{:.4f}", *observed);
}

const char* symbol(Comparison comparison) {
  switch (comparison) {
    case Comparison::less: return "<";
    case Comparison::less_equal: return "<=";
    case Comparison::greater: return ">";
    case Comparison::greater_equal: return ">=";
  }
  return "?";
}

const char* unit_of(ThresholdMetric metric) {
  if (is_latency(metric)) return "s";
  if (metric == ThresholdMetric::throughput) return "requests/s";
  return "fraction";
}

std::string describe_metric(const sim::Threshold& threshold) {
  switch (threshold.metric) {
    case ThresholdMetric::latency_percentile: return fmt::format("{} response time", threshold.metric_name);
    case ThresholdMetric::latency_mean: return "mean response time";
    case ThresholdMetric::latency_max: return "max response time";
    case ThresholdMetric::error_rate: return "error rate";
    case ThresholdMetric::achieved_ratio: return "achieved ratio (completed within the schedule / planned)";
    case ThresholdMetric::throughput: return "throughput";
  }
  return threshold.metric_name;
}

void check_endpoint_of(const sim::Threshold& threshold, const std::vector<std::string>& endpoints, const InputLocation& where, const std::string& field,
                       const std::string& what) {
  if (threshold.endpoint.empty() || std::find(endpoints.begin(), endpoints.end(), threshold.endpoint) != endpoints.end()) return;
  throw InputError(where, field, fmt::format("'{}' names no endpoint '{}' of {}", threshold.text, threshold.endpoint, what),
                   endpoints.empty() ? std::string("a threshold of the whole run (the run has no endpoints)")
                                     : fmt::format("an endpoint of the run: {}", fmt::join(endpoints, ", ")));
}

}  // namespace uptake::loadgen

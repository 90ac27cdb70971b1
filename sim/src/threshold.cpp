#include "uptake/sim/threshold.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "uptake/base/civil_time.hpp"

namespace uptake::sim {
namespace {

constexpr const char* kExpected =
    "an expression such as p99<300ms, verify.p999<=1s, mean<50ms, max<2s, error_rate<0.1%, "
    "achieved_ratio>0.99 or rps>=500";

// "p99" -> 99, "p999" -> 99.9, "p9999" -> 99.99, "p50" -> 50, "p99.5" -> 99.5
std::optional<double> percentile_of(std::string_view name) {
  if (name.size() < 2 || name[0] != 'p') return std::nullopt;
  const auto digits = name.substr(1);
  if (digits.find('.') != std::string_view::npos) {
    double value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
    return value > 0 && value < 100 ? std::optional<double>(value) : std::nullopt;
  }
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  // Digits after the first two are decimals, as HdrHistogram and wrk2 name them: p999 = 99.9.
  double value = std::stod(std::string(digits.substr(0, 2)));
  double scale = 0.1;
  for (std::size_t i = 2; i < digits.size(); ++i, scale /= 10) value += (digits[i] - '0') * scale;
  return value > 0 && value < 100 ? std::optional<double>(value) : std::nullopt;
}

std::optional<double> parse_plain_number(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace

bool Threshold::holds(double observed) const {
  switch (comparison) {
    case Comparison::less: return observed < bound;
    case Comparison::less_equal: return observed <= bound;
    case Comparison::greater: return observed > bound;
    case Comparison::greater_equal: return observed >= bound;
  }
  return false;
}

std::optional<Threshold> parse_threshold(std::string_view text, std::string& problem) {
  Threshold threshold;
  threshold.text = std::string(text);
  const auto op_at = text.find_first_of("<>");
  if (op_at == std::string_view::npos) {
    problem = fmt::format("'{}' has no comparison (< <= > >=); expected {}", text, kExpected);
    return std::nullopt;
  }
  std::string_view subject = text.substr(0, op_at);
  std::string_view rest = text.substr(op_at);
  const bool or_equal = rest.size() > 1 && rest[1] == '=';
  threshold.comparison = rest[0] == '<' ? (or_equal ? Comparison::less_equal : Comparison::less)
                                        : (or_equal ? Comparison::greater_equal : Comparison::greater);
  std::string_view value_text = rest.substr(or_equal ? 2 : 1);
  if (subject.empty() || value_text.empty()) {
    problem = fmt::format("'{}' is incomplete; expected {}", text, kExpected);
    return std::nullopt;
  }

  std::string_view metric = subject;
  if (const auto dot = subject.find('.'); dot != std::string_view::npos && !percentile_of(subject)) {
    threshold.endpoint = std::string(subject.substr(0, dot));
    metric = subject.substr(dot + 1);
    if (threshold.endpoint.empty()) {
      problem = fmt::format("'{}' has an empty endpoint before '.'; expected {}", text, kExpected);
      return std::nullopt;
    }
  }

  threshold.metric_name = std::string(metric);
  bool is_latency = true;
  if (auto percentile = percentile_of(metric)) {
    threshold.metric = ThresholdMetric::latency_percentile;
    threshold.percentile = *percentile;
  } else if (metric == "mean") {
    threshold.metric = ThresholdMetric::latency_mean;
  } else if (metric == "max") {
    threshold.metric = ThresholdMetric::latency_max;
  } else if (metric == "error_rate") {
    threshold.metric = ThresholdMetric::error_rate;
    is_latency = false;
  } else if (metric == "achieved_ratio") {
    threshold.metric = ThresholdMetric::achieved_ratio;
    is_latency = false;
  } else if (metric == "rps" || metric == "throughput") {
    threshold.metric = ThresholdMetric::throughput;
    is_latency = false;
  } else {
    problem = fmt::format("'{}' names an unknown metric '{}'; expected a percentile (p50, p99, p999, p99.5), "
                          "mean, max, error_rate, achieved_ratio or rps",
                          text, metric);
    return std::nullopt;
  }

  if (is_latency) {
    const auto duration = parse_duration(value_text);
    if (!duration) {
      problem = fmt::format("'{}': '{}' is not a duration; expected a number with a unit (ns, us, ms, s, m), "
                            "as in 300ms",
                            text, value_text);
      return std::nullopt;
    }
    threshold.bound = duration->count();
    return threshold;
  }

  const bool percent = value_text.back() == '%';
  const auto number = parse_plain_number(percent ? value_text.substr(0, value_text.size() - 1) : value_text);
  if (!number || *number < 0) {
    problem = fmt::format("'{}': '{}' is not a non-negative number{}", text, value_text,
                          threshold.metric == ThresholdMetric::error_rate ? " or percentage (0.1%)" : "");
    return std::nullopt;
  }
  if (percent && threshold.metric == ThresholdMetric::throughput) {
    problem = fmt::format("'{}': rps takes requests per second, not a percentage", text);
    return std::nullopt;
  }
  threshold.bound = percent ? *number / 100.0 : *number;
  return threshold;
}

Threshold parse_threshold_or_throw(std::string_view text, const InputLocation& where, const std::string& field) {
  std::string problem;
  auto threshold = parse_threshold(text, problem);
  if (!threshold) throw InputError(where, field, problem);
  return std::move(*threshold);
}

}  // namespace uptake::sim

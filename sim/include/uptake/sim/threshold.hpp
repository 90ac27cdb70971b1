#pragma once
// Threshold expressions, as written in a scenario's `slo` list and in --threshold options:
//   p99<300ms   verify.p999<=1s   mean<50ms   max<2s   error_rate<0.1%   achieved_ratio>0.99
//   rps>=500    issue.error_rate<1%
// An optional endpoint prefix restricts the threshold to that endpoint.
#include <optional>
#include <string>
#include <string_view>

#include "uptake/base/input_error.hpp"

namespace uptake::sim {

enum class ThresholdMetric {
  latency_percentile,  // response time at `percentile`, bound in seconds
  latency_mean,        // seconds
  latency_max,         // seconds
  error_rate,          // fraction of completed requests that failed, bound as a fraction
  achieved_ratio,      // achieved / planned request rate
  throughput,          // achieved requests per second
};

enum class Comparison { less, less_equal, greater, greater_equal };

struct Threshold {
  std::string text;           // as written, for reports
  std::string endpoint;       // empty: the whole run
  ThresholdMetric metric = ThresholdMetric::latency_percentile;
  double percentile = 0;      // latency_percentile only: 99.9 for p999
  Comparison comparison = Comparison::less;
  double bound = 0;           // seconds for latency metrics, a fraction for rates and ratios
  std::string metric_name;    // as written, without the endpoint: "p99", "p99.9", "error_rate"

  bool holds(double observed) const;
};

// Parses one expression. On failure returns std::nullopt and sets `problem` to a sentence that
// says what was wrong and what is expected.
std::optional<Threshold> parse_threshold(std::string_view text, std::string& problem);
// The same for input that must be a threshold: throws InputError at `where`, naming `field`, with
// parse_threshold's sentence, when it is not one.
Threshold parse_threshold_or_throw(std::string_view text, const InputLocation& where, const std::string& field);

}  // namespace uptake::sim

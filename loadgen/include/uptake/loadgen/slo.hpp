#pragma once
// Thresholds (sim/threshold.hpp parses them) judged against plain figures of one series, the
// whole run or one endpoint: what `uptake run`, `gate`, `merge` and `capacity` report, and what
// --abort-on-fail watches while a run goes on. One definition of each metric serves them all.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "uptake/loadgen/hdr_histogram.hpp"
#include "uptake/loadgen/run_result.hpp"
#include "uptake/sim/threshold.hpp"

namespace uptake::loadgen {

// The figures a threshold reads, for one series.
struct SeriesFigures {
  RequestCounts requests;        // planned (so far, while running), completed, ok, errors
  double achieved_rps = 0;       // completed per second of the run
  const HdrHistogram* response_time = nullptr;  // nanoseconds, from the intended send time; null: none
  std::uint64_t completed_in_window = 0;  // completed within the schedule's whole seconds (achieved_window_seconds)
};

// The value a threshold compares, in its own units (seconds, fraction, requests per second);
// std::nullopt for a latency figure of a series with no responses.
std::optional<double> observed_value(const sim::Threshold& threshold, const SeriesFigures& figures);

// While a run goes on: whether `threshold` can still hold at its end, whatever the requests
// not yet answered bring, when the whole run plans `planned_total` requests of this series.
// Empty when it still can; otherwise why not, for people. Only verdicts that no later answer
// can change end a run: p<N> under a bound (more responses over it than the whole run may
// have), mean and max under a bound, error_rate under a bound, achieved_ratio above one.
// Throughput, and bounds the other way, are never decided early.
std::optional<std::string> cannot_pass(const sim::Threshold& threshold, const SeriesFigures& so_far, std::uint64_t planned_total);

// ---- formatting, one way for every command, report and junit.xml ----

// A latency in seconds as "12.345 ms" (from a second up, "1.234 s"); a fraction as a percentage
// with three decimals, "0.125%"; a rate as "512.0/s".
std::string format_latency(double seconds);
std::string format_percent(double fraction);
std::string format_rate(double requests_per_second);
// A threshold's figure in its own unit, as above (achieved_ratio with four decimals); "no
// responses" when there is none.
std::string format_observed(const sim::Threshold& threshold, std::optional<double> observed);
const char* symbol(sim::Comparison comparison);      // "<", "<=", ">", ">="
const char* unit_of(sim::ThresholdMetric metric);    // "s", "fraction" or "requests/s"
std::string describe_metric(const sim::Threshold& threshold);  // "p99 response time", "error rate", ...

// InputError at `where`, naming `field`, when `threshold` names an endpoint that is not one of
// `endpoints` (what it is judged on: `what`, such as "the run in results/smoke").
void check_endpoint_of(const sim::Threshold& threshold, const std::vector<std::string>& endpoints, const InputLocation& where, const std::string& field,
                       const std::string& what);

}  // namespace uptake::loadgen

#pragma once
// Live metrics while a run goes (uptake run and capacity --metrics-listen): what the engine's
// threads have done so far, and its exposition in the Prometheus text format (version 0.0.4) or
// OpenMetrics 1.0, for a Prometheus server or any scraper that reads either. docs/live-metrics.md
// lists the metrics.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "uptake/loadgen/run_result.hpp"

namespace uptake::loadgen {

inline constexpr std::size_t kErrorClassCount = static_cast<std::size_t>(ErrorClass::count);

// The figures of a run so far: the sum over its threads of what each published at its last
// tick (about once a second), and at the end exactly what the results hold.
struct LiveFigures {
  // Per endpoint: counters, response time and service time (EndpointResult's server_time is
  // left empty).
  std::vector<EndpointResult> endpoints;
  std::vector<std::array<std::uint64_t, kErrorClassCount>> errors;  // per endpoint, by class
  HdrHistogram schedule_lag = make_latency_histogram();
  std::int64_t in_flight = 0;
  std::uint64_t open_connections = 0;
  double busiest_thread_fraction = 0;  // CPU share of the busiest generator thread, last second
  double elapsed_seconds = 0;
  bool finished = false;

  // Adds one thread's figures (endpoints in the same order).
  void add(const LiveFigures& thread);
};

// What the run is, as the labels of uptake_run_info, and for capacity the trial under way.
struct LiveContext {
  std::string scenario;  // "ad hoc" for --url runs
  std::string target;
  std::string mode;      // open_loop, closed_loop
  std::string shard;     // "K/N"
  std::optional<double> trial_rate_rps;  // capacity: the planned rate of the trial under way
  std::uint64_t trial = 0;               // capacity: its number, from 1
};

enum class MetricsFormat { prometheus, openmetrics };

// The Content-Type of an exposition in `format`.
const char* content_type(MetricsFormat format);
// The format a scraper asks for by its Accept header: OpenMetrics when it names
// application/openmetrics-text, else the Prometheus text format.
MetricsFormat format_for_accept(std::string_view accept);

// The exposition of `figures`: counters, gauges and histograms (bucket bounds in seconds,
// kLiveBucketsSeconds) with HELP and TYPE lines; OpenMetrics ends with "# EOF".
std::string render_metrics(const LiveFigures& figures, const LiveContext& context, MetricsFormat format);

// Histogram bucket bounds, in seconds, of response time, service time and schedule lag.
inline constexpr std::array<double, 16> kLiveBucketsSeconds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                            0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};

}  // namespace uptake::loadgen

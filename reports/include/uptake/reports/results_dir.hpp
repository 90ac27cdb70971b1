#pragma once
// Reading a results folder back: summary.json, timeseries.csv and latency.hlog, as `uptake run`
// and `uptake merge` write them (docs/summary-json.md). Everything that judges, compares, merges
// or renders a run starts here, so every file is checked against the others on the way in: a
// truncated or mismatched file is refused here rather than reported as a fast run later.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "uptake/loadgen/hdr_histogram.hpp"
#include "uptake/loadgen/run_result.hpp"
#include "uptake/loadgen/summary.hpp"

namespace uptake::reports {

struct TimeSeriesRow : loadgen::RequestCounts {  // one row of timeseries.csv (ok is not a column: 0)
  std::int64_t second = 0;        // seconds since summary.started_at
  std::string endpoint;           // "total" or an endpoint name
  std::optional<double> p50_ms, p90_ms, p99_ms, max_ms;  // empty when nothing completed
};

struct RunResults {
  std::filesystem::path folder;
  loadgen::Summary summary;                       // summary.json, read and checked by loadgen::read_summary_file
  std::vector<TimeSeriesRow> timeseries;          // timeseries.csv, in file order
  // Per series ("total" or an endpoint), the answers completed within the schedule's whole
  // seconds (loadgen::achieved_window_seconds), from timeseries.csv: what achieved_ratio counts.
  std::map<std::string, std::uint64_t> completed_in_window;
  // whole-run histograms (nanoseconds) read from latency.hlog: "total" and each endpoint name
  std::map<std::string, loadgen::HdrHistogram> response_time;
  std::map<std::string, loadgen::HdrHistogram> service_time;
  loadgen::HdrHistogram schedule_lag = empty_histogram();
  // Per-second response times (nanoseconds) from latency.hlog: [endpoint or "total"][second
  // since started_at], each V2-compressed (loadgen::decode_compressed) because a decoded
  // histogram takes 270 KB and a long run has thousands of seconds; seconds in which nothing
  // completed are absent.
  std::map<std::string, std::map<std::int64_t, std::string>> response_time_by_second;
  // forecast.json, when the folder has one (uptake run writes it for scenario runs): schema
  // "uptake.forecast/v1", docs/forecast-json.md; its series[] and their years[] are checked.
  std::optional<nlohmann::ordered_json> forecast;

  std::vector<std::string> endpoint_names() const;   // in summary order
  // The request counters of `series` ("total" or an endpoint) from summary.json, and its
  // achieved requests per second. Throws std::out_of_range for an unknown endpoint.
  struct Counters : loadgen::RequestCounts {
    std::uint64_t completed_in_window = 0;  // see RunResults::completed_in_window
    std::uint64_t tampered = 0, revoked = 0;  // negative-path requests (endpoints only; 0 for "total")
    std::uint64_t redirects = 0;              // redirects followed (endpoints only)
    double achieved_rps = 0;
  };
  Counters counters_of(const std::string& series) const;
  // summary.started_at_ns: the schedule's start, nanoseconds since the Unix epoch.
  std::int64_t started_at_ns() const { return summary.started_at_ns; }
  // A whole-run histogram of `series` ("total" or an endpoint); an empty one when the endpoint
  // completed nothing.
  const loadgen::HdrHistogram& response_time_of(const std::string& series) const;
  const loadgen::HdrHistogram& service_time_of(const std::string& series) const;

  static loadgen::HdrHistogram empty_histogram();
  // Adds `histogram` to a compressed per-second slot (empty: none yet).
  static void add_compressed(std::string& slot, const loadgen::HdrHistogram& histogram);
};

// Throws uptake::InputError naming the file (and line / field) for a missing, truncated,
// corrupt or wrong-schema file: "what was wrong, what is expected", exit code 2 in main.
// Checks beyond each file's own syntax: the hlog's untagged total and each endpoint's tagged
// total equal the summary's completed counts, and the time series' rows add up to the
// summary's counters.
RunResults read_results(const std::filesystem::path& folder);

}  // namespace uptake::reports

#pragma once
// The results folder of a run: summary.json (schema "uptake.summary/v1", every field documented
// in docs/summary-json.md), latency.hlog (HdrHistogram interval log in nanoseconds: untagged
// per-second intervals of the whole run's response time, tagged intervals per endpoint and for
// the schedule lag), timeseries.csv (one row per second). Files are written whole or not at all.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "uptake/loadgen/run_result.hpp"
#include "uptake/sim/arrivals.hpp"
#include "uptake/sim/replay_context.hpp"

namespace uptake::loadgen {

// The files of a results folder, named once. A folder holding any of them belongs to the run
// that wrote them (claim_results_folder).
inline constexpr const char* kSummaryFile = "summary.json";
inline constexpr const char* kTimeSeriesFile = "timeseries.csv";
inline constexpr const char* kLatencyLogFile = "latency.hlog";
inline constexpr const char* kForecastFile = "forecast.json";
inline constexpr const char* kJunitFile = "junit.xml";
inline constexpr const char* kHtmlReportFile = "report.html";
inline constexpr const char* kMarkdownReportFile = "report.md";
inline constexpr const char* kResultFiles[] = {kSummaryFile, kTimeSeriesFile, kLatencyLogFile, kForecastFile, kJunitFile, kHtmlReportFile, kMarkdownReportFile};

// Makes `folder` ready for a new run's results, before any load: InputError naming `field`
// (exit 2) when it cannot be made or written, is a file, or already holds results files of
// another run (named in the message), so that nothing stale (another scenario's forecast, an
// old junit.xml) can survive into this run's reports. With `force`, uptake's own files there
// are removed first (and only those). Nothing is created until the run writes its results.
void claim_results_folder(const std::string& folder, const char* field, bool force);

struct RunContext {
  std::string scenario;        // name, or "ad hoc"
  std::string scenario_file;   // empty for ad hoc runs
  std::string replay_overridden_by;  // the options that overrode the scenario's replay block (sim::Replay::overridden_by)
  std::uint64_t seed = 0;
  sim::Shard shard;            // this run's part of the schedule
  double lag_bound_seconds = 0.010;  // schedule lag p99 beyond this: the generator fell behind
  std::vector<std::string> slo;      // the scenario's threshold expressions, as written
  std::optional<double> start_at;    // --start-at, Unix seconds: shards that share it share a start
  std::optional<sim::ReplayContext> replay;  // what a scenario's schedule replays; empty for ad hoc runs
  // Set by `uptake merge` only: the shard results this one joins (folder, shard), in the order
  // given. When set, `shard` is ignored and the summary says which shards were merged.
  std::vector<std::pair<std::string, sim::Shard>> merged_from;
};

// An open-loop thread that sleeps between sends and was busy more than this share of the run
// is saturated: the run is not trusted, whatever its schedule lag.
inline constexpr double kSaturatedThreadFraction = 0.95;

struct Verdict {
  bool generator_behind = false;  // the run cannot be trusted as a measurement of the target
  std::string reason;             // why, for people
};

// Open loop: behind when the schedule lag p99 exceeds context.lag_bound_seconds, or, pacing by
// sleep, when a thread was saturated (kSaturatedThreadFraction). A closed loop has no schedule
// to fall behind.
Verdict judge_generator(const RunResult& result, const RunContext& context);

// Tags of latency.hlog's intervals (HdrHistogram's "Tag=" form). Untagged intervals hold the
// whole run's response time per second, so HdrHistogram's own readers see the total.
//   response_time.<endpoint>  one interval per second: that endpoint's response time
//   service_time.<endpoint>   one interval for the whole run: that endpoint's service time
//   schedule_lag              one interval for the whole run: dispatch lag behind the schedule
// A tag may hold no comma or whitespace, so an endpoint name's ',', '%', whitespace and
// control characters are written as %XX (hex), and read back by endpoint_of_tag.
inline constexpr std::string_view kResponseTimeTagPrefix = "response_time.";
inline constexpr std::string_view kServiceTimeTagPrefix = "service_time.";
inline constexpr std::string_view kScheduleLagTag = "schedule_lag";
std::string endpoint_tag(std::string_view prefix, std::string_view endpoint);
// The endpoint of a tag that starts with `prefix`; std::nullopt when it does not, or when its
// %XX escapes are malformed.
std::optional<std::string> endpoint_of_tag(std::string_view tag, std::string_view prefix);

std::string timeseries_csv(const RunResult& result);
std::string latency_log(const RunResult& result);

// Writes the three files into `folder` (created if missing); summary.json is make_summary's
// (uptake/loadgen/summary.hpp).
void write_results(const std::string& folder, const RunResult& result, const RunContext& context, const Verdict& verdict);

}  // namespace uptake::loadgen

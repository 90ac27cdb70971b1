#pragma once
// summary.json (schema "uptake.summary/v1"; every field in docs/summary-json.md, its exact shape
// in docs/summary.schema.json) as a type. It has one writer, to_json, and one reader,
// summary_from_json: `uptake run` and `uptake merge` build a Summary (make_summary), the gate,
// the reports and `uptake capacity` read one back and record their verdicts in it
// (update_summary_file), and none of them spells a key of the file.
//
// Members are named as the file names them, in its order. A summary written by an older uptake
// may lack fields that were added since (generator.pacing, requests.planned_is_lower_bound,
// endpoints.<name>.negative, latency_ms.p95, trust, replay, ...): the reader takes them as the defaults
// below (0, false, empty, sleep pacing, absent), as the readers before it did. Only the fields
// every summary has had are required.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "uptake/loadgen/results.hpp"
#include "uptake/loadgen/run_result.hpp"
#include "uptake/sim/replay_context.hpp"

namespace uptake::loadgen {

inline constexpr const char* kSummarySchema = "uptake.summary/v1";

// A latency histogram's figures in milliseconds (latency_ms, service_time_ms, schedule_lag_ms):
// `count` alone when it recorded nothing, every figure otherwise.
struct LatencySummary {
  std::int64_t count = 0;
  std::optional<double> min, mean, p50, p90, p95, p99, p999, max;
};

struct SummaryRequests : RequestCounts {
  bool planned_is_lower_bound = false;  // an interrupted run's unsent rest could not all be counted
};

struct SummaryRate {
  double planned_rps = 0;
  double achieved_rps = 0;
  double achieved_ratio = 0;
};

struct SummaryEndpoint {
  std::string name;
  RequestCounts requests;
  double achieved_rps = 0;
  LatencySummary latency_ms;
  LatencySummary service_time_ms;
  struct Negative {
    std::uint64_t tampered = 0;
    std::uint64_t revoked = 0;
  } negative;
  std::uint64_t redirects = 0;  // redirects followed within its requests
};

struct SummaryConnections {
  std::uint64_t opened = 0;
  std::uint64_t requests_that_waited = 0;  // for a free connection, or with HTTP/2 a free stream
  std::string protocol = "http/1.1";       // "http/1.1", "h2" or "h2c" (absent before HTTP/2: http/1.1)
  unsigned streams = 1;                    // concurrent requests a connection carried at most
};

struct SummaryGenerator {
  bool trusted = true;
  double lag_bound_ms = 0;
  Pacing pacing = Pacing::sleep;
  double batch_window_ms = 0.1;  // with sleep pacing (absent before --batch-window: 0.1)
  double busiest_thread_fraction = 0;
  std::string reason;  // why not trusted, for people
};

// One entry of thresholds[]: a threshold's verdict as the run, merge or capacity search judged
// it at its end.
struct SummaryThreshold {
  std::string expression;               // as written
  std::optional<std::string> endpoint;  // null: the whole run
  std::string metric;                   // as written: "p99", "error_rate"
  std::string comparison;               // "<", "<=", ">", ">="
  double bound = 0;                     // in `unit`
  std::optional<double> observed;       // in `unit`; null when the series completed nothing
  std::string unit;                     // "s", "fraction" or "requests/s"
  bool passed = false;
  std::string message;                  // a sentence for people
  bool aborted = false;                 // the check --abort-on-fail stopped the run for (written only when true)
};

// Whether the results measured the target, whole (reports::Trust, as recorded).
struct SummaryTrust {
  bool trusted = true;
  bool partial = false;
  bool partial_allowed = false;
  std::string reason;  // why not trusted, or what is partial; empty otherwise
};

// Set when --abort-on-fail stopped the run (null in the file otherwise).
struct SummaryAborted {
  std::string threshold;  // as written
  std::string reason;     // for people; in a merge, naming the shard
  double at_s = 0;        // seconds from started_at
};

struct MergedShard {
  std::string folder;
  std::string shard;  // "K/N"
};

struct Summary {
  std::string scenario;       // "ad hoc" for --url runs
  std::string scenario_file;  // empty for --url runs
  // Present exactly when options of `run SCENARIO` overrode its replay block: those options, as
  // "--window day:2027-03-31 --scale 0.5".
  std::optional<std::string> replay_overridden_by;
  std::string target;
  std::string mode;           // "open_loop" or "closed_loop"
  std::uint64_t seed = 0;
  std::string shard;          // "K/N", or "merged"
  std::optional<std::uint32_t> shard_index;  // null in a merged summary
  std::uint32_t shard_count = 1;
  // Present exactly in merged summaries: the shards joined, and those of 0..N-1 none brought.
  std::optional<std::vector<MergedShard>> merged_from;
  std::optional<std::vector<std::uint32_t>> shards_missing;
  std::optional<double> start_at;  // --start-at, Unix seconds; null without
  double started_at = 0;           // Unix seconds
  std::string started_at_utc;      // RFC 3339, to the millisecond
  std::int64_t started_at_ns = 0;  // exact: shards align on it
  double duration_s = 0;
  double schedule_s = 0;
  bool interrupted = false;
  std::optional<SummaryAborted> aborted;
  // What the schedule replays: the window of scenario time, its compression and scale, and the
  // modelled real-world rates over it. Null for ad hoc runs and capacity searches (no window
  // is replayed); absent from summaries of an older uptake, read as null. Instants are whole
  // milliseconds, as the file holds them.
  std::optional<sim::ReplayContext> replay;
  SummaryRequests requests;
  SummaryRate rate;
  LatencySummary latency_ms;
  LatencySummary service_time_ms;
  LatencySummary schedule_lag_ms;
  double error_rate = 0;
  // By error class name, in the file's order (ErrorClass order, as the writer writes them).
  std::vector<std::pair<std::string, std::uint64_t>> errors;
  // The first answer a flow's checks refused (RunResult::check_failure); null when none did and in
  // summaries written before checks existed. A merge keeps the lowest shard's.
  std::optional<RunResult::CheckFailure> check_failure;
  // With journeys: how the sessions went (RunResult::sessions); null for runs without sessions.
  std::optional<SessionCounts> sessions;
  std::vector<SummaryEndpoint> endpoints;  // in the file's order; none when the schedule came due for nothing (no endpoints key)
  SummaryConnections connections;
  SummaryGenerator generator;
  std::vector<std::string> slo;                // threshold expressions, as written
  std::vector<SummaryThreshold> thresholds;
  std::optional<SummaryTrust> trust;           // recorded by the run's, merge's or capacity search's own judgement
  // Written by `uptake capacity` only. Kept as JSON on purpose: the block belongs to
  // reports/src/capacity_summary.cpp (capacity_json writes it, the reports read it with
  // reports::number_at), so this type neither checks nor rewrites what is inside it.
  std::optional<nlohmann::ordered_json> capacity;

  // The endpoint of that name; nullptr when the run had none.
  const SummaryEndpoint* endpoint(std::string_view name) const;
  // The count of an error class; 0 when the summary does not list it.
  std::uint64_t errors_of(ErrorClass error) const;
};

// The summary of a run (or of a merge: context.merged_from) as `uptake run` writes it: no
// threshold verdicts yet, no trust, no capacity block.
Summary make_summary(const RunResult& result, const RunContext& context, const Verdict& verdict);

// The one writer: the keys, their order and their JSON types as docs/summary.schema.json says.
nlohmann::ordered_json to_json(const Summary& summary);

// The one reader. Throws InputError naming `file` and the field's path ("generator.pacing",
// "endpoints.<name>.requests.sent", "thresholds[2].passed") for a wrong schema, a missing
// required field, or a field of the wrong type.
Summary summary_from_json(const nlohmann::ordered_json& json, const std::string& file);

// A whole JSON file. InputError naming it when it is missing or unreadable (`expected` says
// what should be there), and at the line and column where it stops being JSON.
nlohmann::ordered_json read_json_file(const std::filesystem::path& file, const std::string& expected);

// The summary.json at `file`, read and checked (summary_from_json).
Summary read_summary_file(const std::filesystem::path& file);
// Writes `summary` to `file` whole or not at all.
void write_summary_file(const std::filesystem::path& file, const Summary& summary);
// Reads the summary.json of a results folder, lets `change` edit it, and writes it back
// atomically (the file is whole before and after): how a verdict or a capacity block is recorded.
void update_summary_file(const std::filesystem::path& folder, const std::function<void(Summary&)>& change);

}  // namespace uptake::loadgen

#pragma once
// `uptake run` as a library function: load and forecast the scenario (or take an ad hoc rate),
// start the embedded reference service when no target is given, plan, wait for --start-at,
// run the engine, write the results folder, judge it, and render its reports. The command maps
// its options onto a RunRequest and prints what the RunOutcome holds.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "uptake/base/civil_time.hpp"
#include "uptake/loadgen/engine.hpp"
#include "uptake/loadgen/results.hpp"
#include "uptake/reports/gate.hpp"
#include "uptake/reports/report_files.hpp"
#include "uptake/sim/arrivals.hpp"
#include "uptake/sim/replay_context.hpp"
#include "uptake/sim/replay_override.hpp"
#include "uptake/workflow/live_metrics.hpp"

namespace uptake::workflow {

// An ad hoc load: one request at a constant open-loop rate, or as fast as the connections allow.
struct AdHocLoad {
  std::string url;
  std::optional<double> rate_rps;  // requests per second; empty: closed loop (--rate max)
  Seconds duration{10};
  std::string method = "GET";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The engine options a command starts from: the engine's own defaults, with 20 warm-up requests
// per capturing endpoint and thread, so that captures are seeded before the clock starts.
inline loadgen::EngineOptions command_engine_defaults() {
  loadgen::EngineOptions options;
  options.warmup_requests = 20;
  return options;
}

struct RunRequest {
  std::string scenario_file;               // a scenario run; empty for an ad hoc one
  std::optional<AdHocLoad> ad_hoc;         // an ad hoc run (exactly one of the two)
  std::string target_url;                  // scenario runs: the service under test; empty: the embedded reference service
  sim::ReplayOverride replay;              // scenario runs: parts of the replay block replaced (--window, --scale...)
  std::optional<std::uint64_t> seed;       // empty: the scenario's (1 for ad hoc runs)
  sim::Shard shard;                        // this run's part of the schedule
  std::optional<double> start_at;          // Unix seconds to wait for (aligns shards); within the next day
  std::string out_folder;                  // empty: results/NAME-TIME
  bool force = false;                      // take a folder holding another run's files (loadgen::claim_results_folder)
  std::vector<std::string> thresholds;     // judged at the end, besides the scenario's SLO
  bool abort_on_fail = false;              // stop once a threshold can no longer hold (open loop only)
  Seconds abort_grace{5};                  // from the start, before --abort-on-fail judges
  double lag_bound_seconds = loadgen::RunContext{}.lag_bound_seconds;  // schedule lag p99 beyond which the run is untrusted
  // How the engine reaches the target: threads, connections, timeouts, warm-up, pacing, the
  // stop flag and the progress callback (whose total_seconds this fills in). Its target, seed,
  // schedule and abort rule are the workflow's to set.
  loadgen::EngineOptions engine = command_engine_defaults();
  LiveMetricsRequest live_metrics;         // --metrics-listen, --metrics-linger
  // Things to say before the run starts (the embedded service's address, a late --start-at).
  std::function<void(std::string_view)> notice;
};

struct RunOutcome {
  std::string folder;                 // where the results are
  loadgen::RunResult result;
  loadgen::Verdict generator;         // whether the generator kept its schedule
  reports::GateResult verdict;        // the thresholds and trust, as `uptake gate` judges them
  reports::ReportFiles reports;       // report.html and report.md
  std::optional<sim::ReplayContext> replay;  // what a scenario's schedule replayed; empty for ad hoc runs
  int exit_code() const { return verdict.exit_code(); }
};

// Throws InputError (exit 2) for bad input, before any load where it can be known then: a
// scenario that does not load, a replay (as overridden) with no demand, thresholds that do not
// parse or name no endpoint, a results folder that cannot be used, out-of-range values; and,
// after the warm-up but before the measured run, a capture that the warm-up never filled.
RunOutcome run_workflow(const RunRequest& request);

// "results/NAME-YYYYMMDD-HHMMSS" (UTC), with "-2", "-3"... when that folder exists: a new
// folder per run.
std::string default_folder(const std::string& name);

}  // namespace uptake::workflow

#pragma once
// `uptake capacity` as a library function: load and forecast the scenario (or take an ad hoc
// endpoint), start the embedded reference service when no target is given, search for the
// capacity (loadgen/capacity_search.hpp), set the models and the plan beside it, write the
// results folder (the last trial as its run, the search in summary.json's `capacity` block),
// judge it and render its reports. The command maps its options onto a CapacityRequest and
// prints what the CapacityRun holds.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptake/loadgen/capacity_search.hpp"
#include "uptake/reports/capacity_summary.hpp"
#include "uptake/reports/gate.hpp"
#include "uptake/reports/report_files.hpp"
#include "uptake/workflow/run.hpp"

namespace uptake::workflow {

struct CapacityRequest {
  std::string scenario_file;            // its mix at the design peak hour, its SLO, its forecast; empty: ad hoc
  std::optional<AdHocLoad> ad_hoc;      // one endpoint (its rate and duration are the search's); exactly one of the two
  std::string target_url;               // scenario searches: the service under test; empty: the embedded reference service
  std::optional<std::uint64_t> seed;    // empty: the scenario's (1 for ad hoc searches)
  std::string out_folder;               // empty: results/NAME-capacity-TIME
  bool force = false;                   // take a folder holding another run's files
  std::vector<std::string> slo;         // the thresholds each step must meet; empty: the scenario's
  // The search's rule (its slo and on_step are the workflow's to fill: on_step from here).
  loadgen::CapacitySearchOptions search;
  std::function<void(const loadgen::CapacityStep&)> on_step;
  int servers = 0;                      // for the models; 0: estimated
  int instances = 1;                    // deployed today, for the plan
  double utilisation = 1.0;             // the share of its capacity an instance is planned to run at
  double risk = 0.1;                    // the plan's accepted chance that a year's peak outgrows its instances
  double lag_bound_seconds = loadgen::RunContext{}.lag_bound_seconds;
  loadgen::EngineOptions engine = command_engine_defaults();  // threads, connections, timeouts, stop flag
  LiveMetricsRequest live_metrics;      // --metrics-listen, --metrics-linger: one endpoint for every trial
  // Things to say before the search starts: the embedded service's address, thresholds of the
  // scenario's SLO left out of the search, and the plan of the search.
  std::function<void(std::string_view)> notice;
};

struct CapacityRun {
  std::string folder;
  reports::CapacityFindings findings;   // the search, the models, the plan
  // The last trial's folder as `uptake gate` judges it, and its reports; empty when no trial
  // ran to the end (nothing was written).
  std::optional<reports::GateResult> last_trial;
  std::optional<reports::ReportFiles> reports;
  // 0 found (or the ceiling passed), 1 no rate met the SLO or the target failed at any load,
  // 3 the search could not conclude or the target answered nothing at all.
  int exit_code() const;
};

// Throws InputError (exit 2) for bad input, before any load: a scenario that does not load, an
// SLO that does not parse, names no endpoint or has nothing to search against, a results folder
// that cannot be used, out-of-range values.
CapacityRun run_capacity_workflow(const CapacityRequest& request);

}  // namespace uptake::workflow

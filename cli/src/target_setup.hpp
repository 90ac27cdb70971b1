#pragma once
// What `run` and `capacity` share in mapping their options: the target URL, the ad hoc request
// of --url/--method/--body/--header, the engine's options, --force, and stopping cleanly on
// SIGINT/SIGTERM. (The embedded reference service and the results folder's default name are
// the workflow library's: uptake/workflow/.)
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "command.hpp"
#include "uptake/loadgen/engine.hpp"
#include "uptake/loadgen/request_plan.hpp"
#include "uptake/loadgen/target.hpp"
#include "uptake/workflow/live_metrics.hpp"

namespace uptake::cli {


// --method, --body and --header (repeatable, 'Name: value') for an ad hoc request.
void declare_ad_hoc_request(po::options_description& options);
loadgen::RequestPlan ad_hoc_plan(const po::variables_map& values, const loadgen::Target& target);
// The --header options as (name, value) pairs; InputError for one that is not 'Name: value'.
std::vector<std::pair<std::string, std::string>> headers_of(const po::variables_map& values);

// An ad hoc request's --method, --url and --header become lines of the request: a CR or LF in
// one would write a line of its own onto the wire (another header, another request). Refused,
// naming the option.
void refuse_line_breaks(const po::variables_map& values);

// --threads, --connections, --warmup, --lag-bound, --connect-timeout, --timeout and --pacing: how the
// engine reaches the target, the same for `run` and for each trial of `capacity`.
void declare_engine_options(po::options_description& options);
// Fills `engine` from those options and returns the lag bound in seconds; InputError naming the
// option when a value is out of range.
double engine_options_of(const po::variables_map& values, loadgen::EngineOptions& engine);

// --metrics-listen HOST:PORT and --metrics-linger D: live metrics while the run (or every trial
// of a capacity search) goes.
void declare_live_metrics_options(po::options_description& options);
workflow::LiveMetricsRequest live_metrics_of(const po::variables_map& values);

// --force: a results folder that holds another run's files is emptied of them (see
// loadgen::claim_results_folder) instead of refused.
void declare_force_option(po::options_description& options);

// While alive, a first SIGINT or SIGTERM sets stop_flag() instead of killing the process, so the
// engine stops sending, drains for at most loadgen::kStopDrain, and the partial results are
// written (and judged untrusted: exit 3). A second one ends the process at once, with exit 3.
class StopOnSignal {
 public:
  StopOnSignal();
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
  static std::atomic<bool>* stop_flag();
};

}  // namespace uptake::cli

#pragma once
// The results folder of a run: summary.json (schema "uptake.summary/v1", every field documented
// in docs/summary-json.md), latency.hlog (HdrHistogram interval log of response times in
// nanoseconds), timeseries.csv (one row per second). Files are written whole or not at all.
#include <string>

#include "uptake/loadgen/run_result.hpp"

namespace uptake::loadgen {

struct RunContext {
  std::string scenario;        // name, or "ad hoc"
  std::string scenario_file;   // empty for ad hoc runs
  std::uint64_t seed = 0;
  std::string shard = "0/1";
  double lag_bound_seconds = 0.010;  // schedule lag p99 beyond this: the generator fell behind
};

struct Verdict {
  bool generator_behind = false;  // the run cannot be trusted as a measurement of the target
  std::string reason;             // why, for people
};

Verdict judge_generator(const RunResult& result, const RunContext& context);

std::string summary_json(const RunResult& result, const RunContext& context, const Verdict& verdict);
std::string timeseries_csv(const RunResult& result);
std::string latency_log(const RunResult& result);

// Writes the three files into `folder` (created if missing).
void write_results(const std::string& folder, const RunResult& result, const RunContext& context, const Verdict& verdict);

}  // namespace uptake::loadgen

#pragma once
// The gate: a run's thresholds and its comparison with a baseline, judged together into one
// verdict and one exit code (0 pass, 1 a check failed, 3 the run cannot be trusted).
#include <string>
#include <vector>

#include "uptake/reports/baseline.hpp"
#include "uptake/reports/check_result.hpp"
#include "uptake/reports/results_dir.hpp"
#include "uptake/sim/threshold.hpp"

namespace uptake::reports {

// Whether a run measured its target. It did not when the generator fell behind its schedule
// (summary.generator.trusted is false: the latencies measure the generator), or when nothing
// completed (the target was unreachable, or the schedule planned nothing): a gate that passed
// such a run would pass a broken deployment.
struct Trust {
  bool trusted = true;
  std::string reason;  // why not, for people; empty when trusted
};
Trust judge_trust(const RunResults& run);

struct GateResult {
  Trust trust;                          // of the run, and of the baseline when there is one
  std::vector<CheckResult> thresholds;
  std::vector<CheckResult> baseline;    // empty without a baseline
  bool has_baseline = false;

  // Every check passed (a skipped check neither passes nor fails the gate).
  bool passed() const;
  // kExitUntrusted when the run (or the baseline) cannot be trusted, else
  // kExitThresholdFailed when a check failed, else kExitOk.
  int exit_code() const;
};

// `baseline` may be null. Thresholds are judged even for an untrusted run, so that the table and
// junit.xml still show them.
GateResult evaluate_gate(const RunResults& run, const std::vector<sim::Threshold>& thresholds, const RunResults* baseline,
                         const BaselineTolerances& tolerances);

// The verdict table (TextTable) with the sentence of each failed check, and a closing line.
std::string render_gate(const GateResult& gate);

}  // namespace uptake::reports

#pragma once
// The gate: a run's thresholds and its comparison with a baseline, judged together into one
// verdict and one exit code (0 pass, 1 a check failed, 3 the run cannot be trusted).
#include <filesystem>
#include <string>
#include <vector>

#include "uptake/reports/baseline.hpp"
#include "uptake/reports/check_result.hpp"
#include "uptake/reports/results_dir.hpp"
#include "uptake/sim/threshold.hpp"

namespace uptake::reports {

// Whether a run measured its target, whole. It did not when the generator fell behind its
// schedule (summary.generator.trusted is false: the latencies measure the generator), when
// nothing completed (the target was unreachable, or the schedule planned nothing), or when its
// results are partial: the run was interrupted, or a merge lacks some of its shards. A gate
// that passed such a run would pass a broken deployment, or half of one. Partial results may be
// judged anyway when allowed; they are still marked partial.
struct PartialAllowance {
  bool interrupted = false;     // a run stopped early by a signal (or a merge of such a shard)
  bool missing_shards = false;  // a merge without some of its shards (merge --allow-missing)
  static PartialAllowance all() { return {true, true}; }  // gate --allow-partial
};
struct Trust {
  bool trusted = true;
  bool partial = false;      // interrupted, or shards missing (whether or not allowed)
  std::string reason;        // why not trusted, for people; empty when trusted
  std::string partial_note;  // what is partial, for people; empty when whole
};
Trust judge_trust(const RunResults& run, PartialAllowance allow = {});
// summary.json's `trust` block: partial_allowed when partial and trusted all the same; the
// reason why not trusted, or else what is partial.
loadgen::SummaryTrust recorded_trust(const Trust& trust);

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
// junit.xml still show them. A run that --abort-on-fail stopped (summary.json's `aborted`) adds a
// failed check of its own: the rest of it was never sent.
GateResult evaluate_gate(const RunResults& run, const std::vector<sim::Threshold>& thresholds, const RunResults* baseline,
                         const BaselineTolerances& tolerances, PartialAllowance allow = {});

// Records the verdict of a run's own judgement in its summary.json: thresholds[] and trust.
void record_verdict(const std::filesystem::path& folder, const GateResult& gate);

// The verdict table (TextTable) with the sentence of each failed check, and a closing line.
std::string render_gate(const GateResult& gate);

}  // namespace uptake::reports

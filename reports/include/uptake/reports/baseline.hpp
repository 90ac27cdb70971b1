#pragma once
// Comparing a run against a baseline run of the same scenario: did a change make responses
// slower or throughput lower by more than a stated tolerance? Each comparison is a verdict.
#include <cstdint>
#include <vector>

#include "uptake/reports/check_result.hpp"
#include "uptake/reports/results_dir.hpp"

namespace uptake::reports {

struct BaselineTolerances {
  // A latency percentile may rise by this fraction of the baseline's (0.10: up to +10%).
  double latency_increase = 0.10;
  // Achieved throughput (and a capacity search's capacity) may fall by this fraction of the
  // baseline's (0.05: down to -5%).
  double throughput_decrease = 0.05;
  // The family-wise significance level of the gate's comparisons (Holm's correction over all of
  // them): the chance that noise within the runs shows as any regression at all. The replicates
  // are each run's own seconds, so what differs between two whole runs (a busier or slower
  // machine during one of them) is a real difference to the test, not noise.
  double significance = 0.01;
};

// The percentiles compared, for the whole run and each endpoint both runs had.
inline constexpr double kComparedPercentiles[] = {50, 90, 99, 99.9};

// A block of consecutive seconds, a replicate of a percentile, spans at least two seconds with
// responses and holds at least this many responses, enough that about 5 lie beyond the
// percentile: 30 for p50 and p90, 500 for p99, 5,000 for p99.9.
std::uint64_t responses_per_block(double percentile);

// Throws InputError (exit 2) when the two runs are not of one kind, so that their figures
// cannot be compared: open against closed loop, another scenario, other endpoints, a capacity
// search against a run. `uptake gate --force` compares them anyway.
void check_comparable(const RunResults& run, const RunResults& baseline);

// One comparison per percentile of kComparedPercentiles for "total" and each endpoint both runs
// had (none of its own when that endpoint is the whole run), then one for the whole run's achieved throughput, and one for the capacity when both are
// `uptake capacity` results (summary.json's capacity.rps, which may fall by throughput_decrease
// at most). A regression is declared only when it is both beyond its tolerance and
// statistically significant:
//  - the figure compared is the whole-run one (the percentile of the whole-run histogram, the
//    achieved rate), its change against the baseline's judged against the tolerance;
//  - its significance comes from replicates: the percentile of each block of consecutive
//    seconds of latency.hlog (responses_per_block), the completions of each whole second for
//    throughput, compared by the one-sided Mann-Whitney U test (significance.hpp) and corrected
//    for the number of comparisons (Holm); the shift and its 95% interval are shown. Runs too
//    short for any replicate difference to reach significance pass, saying so.
//  - the capacity is one figure per search, with no replicates: it is judged on the tolerance.
// A series with no responses in either run is skipped (CheckResult::skipped), as is an endpoint
// that only one of the runs had: they cannot be compared.
std::vector<CheckResult> compare_with_baseline(const RunResults& run, const RunResults& baseline, const BaselineTolerances& tolerances);

}  // namespace uptake::reports

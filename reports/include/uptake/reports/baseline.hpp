#pragma once
// Comparing a run against a baseline run of the same scenario: did a change make responses
// slower or throughput lower by more than a stated tolerance? Each comparison is a verdict.
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
};

// The percentiles compared, for the whole run and each endpoint both runs had.
inline constexpr double kComparedPercentiles[] = {50, 90, 99, 99.9};

// One comparison per percentile of kComparedPercentiles for "total" and each endpoint both runs
// had (from the whole-run histograms), then one for the whole run's achieved throughput, and
// one for the capacity when both are `uptake capacity` results (summary.json's capacity.rps,
// which may fall by throughput_decrease at most). A
// series with no responses in either run is skipped (CheckResult::skipped), as is an endpoint
// that only one of the runs had: they cannot be compared.
std::vector<CheckResult> compare_with_baseline(const RunResults& run, const RunResults& baseline, const BaselineTolerances& tolerances);

}  // namespace uptake::reports

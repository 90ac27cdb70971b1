#pragma once
// Whether a difference between two runs is more than noise, in the way benchstat judges Go
// benchmarks: each run is a sample of replicates (here, the percentile of each block of
// consecutive seconds of latency.hlog), the two samples are compared with the Mann-Whitney U
// rank test, and the shift is estimated with its distribution-free confidence interval
// (Hodges-Lehmann: the median of all pairwise differences). Nothing is assumed about the shape
// of latency distributions; a percentile of one run has no usable standard error of its own.
#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace uptake::reports {

// Which way is worse: latencies regress upwards, throughput downwards.
enum class Worse { higher, lower };

struct ShiftEstimate {
  std::size_t baseline_replicates = 0;
  std::size_t candidate_replicates = 0;
  // One-sided p-value of the Mann-Whitney U test that the candidate is worse than the baseline
  // (exact for small samples without ties, else the normal approximation with tie and
  // continuity corrections). 1 when either sample is empty.
  double p_value = 1;
  // The smallest p-value these sample sizes can give at all: above the significance level, no
  // difference could have been shown, however large.
  double smallest_possible_p = 1;
  // The candidate over the baseline as a ratio (1.10: 10% higher): the Hodges-Lehmann estimate
  // on the log scale, and its two-sided 95% interval (empty when the samples are too small for
  // one).
  double ratio = 1;
  std::optional<double> ratio_low, ratio_high;
};

// Replicates must be positive (latencies, rates); values at or below 0 are taken as a tiny
// positive number, so a block that completed nothing ranks lowest.
ShiftEstimate compare_replicates(std::span<const double> baseline, std::span<const double> candidate, Worse worse);

// Holm's step-down correction: which of these p-values are significant at family-wise level
// `alpha` (the chance that any of them is a false alarm stays at or below alpha).
std::vector<bool> holm_significant(const std::vector<double>& p_values, double alpha);

}  // namespace uptake::reports

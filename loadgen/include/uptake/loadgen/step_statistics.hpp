#pragma once
// Confidence bounds for the figures a capacity step is judged on: the share of responses beyond
// a latency bound (which decides a percentile threshold), the share of errors, and the mean
// response time. A step is a sample of a queue, and a queue's responses are not independent:
// while a burst drains, many responses in a row are slow. A bound computed as if they were
// independent is too narrow near capacity, exactly where a step is hard to call, so every bound
// here is widened by the sample's design effect (how much more the figure varies between the
// seconds of the step than independent responses would make it vary).
//
// The sample comes in blocks, one per second of the step's measured window: what the engine
// counts per second. Confidence is one-sided for each bound: lower and upper at `alpha` each
// make a two-sided interval of 1 - 2 alpha.
#include <cstdint>
#include <vector>

namespace uptake::loadgen {

// One second of a sample for a proportion: `hits` of `count` responses (or requests) had the
// property (beyond the bound, or an error).
struct ProportionBlock {
  double count = 0;
  double hits = 0;
};

// One second of a sample for a mean: `count` values summing to `sum`.
struct MeanBlock {
  double count = 0;
  double sum = 0;
};

struct ConfidenceBounds {
  double estimate = 0;       // the sample's own figure (hits / count, or sum / count); 0 for an empty sample
  double lower = 0;          // one-sided lower bound at the confidence asked for
  double upper = 0;          // one-sided upper bound
  double count = 0;          // responses in the sample
  double design_effect = 1;  // >= 1: the sample is worth count / design_effect independent ones
};

// The variance of a ratio estimate over blocks (sum of hits over sum of counts), against the
// variance that independent draws would give, from the blocks' residuals (hits - estimate x
// count): the between-block spread (batch means). At least 1; 1 with fewer than three blocks
// (too few to tell) or when the independent variance is 0.
double design_effect(const std::vector<ProportionBlock>& blocks);

// Clopper-Pearson ("exact" binomial) bounds on a proportion, computed on the effective sample
// (hits and count divided by the design effect), so that bounds are distribution-free: by the
// duality of binomial tests and order statistics, the upper bound on the share beyond a value X
// is at most 1 - q exactly when the sample's upper confidence bound on the q-quantile is at
// most X. An empty sample gives [0, 1]. `alpha` in (0, 0.5).
// `design_effect_floor` (>= 1) is a design effect known from elsewhere (see
// percentile_design_effect) below which this sample's own is not believed: rare events give
// too few hits to show their clustering. Beside the binomial bounds, the batch-means bounds
// (Student's t with blocks - 1 degrees of freedom on the between-block variance) are taken when
// wider: with few blocks, the variance estimate is itself uncertain.
ConfidenceBounds proportion_bounds(const std::vector<ProportionBlock>& blocks, double alpha, double design_effect_floor = 1);

// Bounds on a mean from Student's t with (blocks - 1) degrees of freedom, on the larger of the
// between-block variance (as above) and the variance that
// independent values of the blocks' pooled spread would give (`value_variance`, the sample's
// own variance of single values). Fewer than two blocks: [0, +infinity] around the estimate.
ConfidenceBounds mean_bounds(const std::vector<MeanBlock>& blocks, double value_variance, double alpha);

}  // namespace uptake::loadgen

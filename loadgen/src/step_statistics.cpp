#include "uptake/loadgen/step_statistics.hpp"

#include <boost/math/distributions/students_t.hpp>
#include <boost/math/special_functions/beta.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace uptake::loadgen {
namespace {

void check_alpha(double alpha) {
  if (!(alpha > 0 && alpha < 0.5)) throw std::invalid_argument("a one-sided confidence level needs alpha in (0, 0.5)");
}

// The variance of sum(y) / sum(n) over blocks (batch means), from the residuals y_b -
// estimate x n_b: the between-block spread with the small-sample factor m / (m - 1). The blocks
// are a second each, longer than a queue's slow spells near capacity last on the targets this
// serves; a widening for the correlation of neighbouring blocks (their lag-one
// autocorrelation) was tried and made verdicts needlessly undecided, because its own estimate
// from a few dozen blocks is noisier than the correlation it corrects for. NaN with fewer than
// three blocks.
template <class Residual>
double between_block_variance(std::size_t blocks, double total_count, Residual residual) {
  if (blocks < 3 || !(total_count > 0)) return std::numeric_limits<double>::quiet_NaN();
  double squares = 0;
  for (std::size_t b = 0; b < blocks; ++b) {
    const double r = residual(b);
    squares += r * r;
  }
  const double m = static_cast<double>(blocks);
  return m / (m - 1) * squares / (total_count * total_count);
}

}  // namespace

double design_effect(const std::vector<ProportionBlock>& blocks) {
  double count = 0, hits = 0;
  for (const auto& block : blocks) count += block.count, hits += block.hits;
  if (!(count > 0)) return 1;
  const double estimate = hits / count;
  const double independent = estimate * (1 - estimate) / count;
  const double between = between_block_variance(blocks.size(), count, [&](std::size_t b) { return blocks[b].hits - estimate * blocks[b].count; });
  if (!(independent > 0) || std::isnan(between)) return 1;
  return std::max(1.0, between / independent);
}

ConfidenceBounds proportion_bounds(const std::vector<ProportionBlock>& blocks, double alpha, double design_effect_floor) {
  check_alpha(alpha);
  ConfidenceBounds bounds;
  double hits = 0;
  for (const auto& block : blocks) bounds.count += block.count, hits += block.hits;
  bounds.upper = 1;
  if (!(bounds.count > 0)) return bounds;
  bounds.estimate = hits / bounds.count;
  bounds.design_effect = std::max(design_effect(blocks), std::max(design_effect_floor, 1.0));
  // The effective sample: as many independent draws as the blocks are worth. Boost's inverse
  // incomplete beta takes the non-whole counts this gives, which Clopper-Pearson's formula
  // (bounds as beta quantiles) accepts as they are.
  const double n = bounds.count / bounds.design_effect;
  const double k = hits / bounds.design_effect;
  bounds.lower = k > 0 ? boost::math::ibeta_inv(k, n - k + 1, alpha) : 0.0;
  bounds.upper = n - k > 0 ? boost::math::ibeta_inv(k + 1, n - k, 1 - alpha) : 1.0;
  // Batch means: the blocks' own spread, with the uncertainty of so few of them.
  const double between = between_block_variance(blocks.size(), bounds.count, [&](std::size_t b) { return blocks[b].hits - bounds.estimate * blocks[b].count; });
  if (!std::isnan(between) && between > 0) {
    const double t = boost::math::quantile(boost::math::students_t(static_cast<double>(blocks.size() - 1)), 1 - alpha);
    const double half_width = t * std::sqrt(between);
    bounds.lower = std::min(bounds.lower, std::max(0.0, bounds.estimate - half_width));
    bounds.upper = std::max(bounds.upper, std::min(1.0, bounds.estimate + half_width));
  }
  return bounds;
}

ConfidenceBounds mean_bounds(const std::vector<MeanBlock>& blocks, double value_variance, double alpha) {
  check_alpha(alpha);
  ConfidenceBounds bounds;
  double sum = 0;
  for (const auto& block : blocks) bounds.count += block.count, sum += block.sum;
  bounds.upper = std::numeric_limits<double>::infinity();
  if (!(bounds.count > 0)) return bounds;
  bounds.estimate = sum / bounds.count;
  bounds.lower = 0;
  if (blocks.size() < 2) return bounds;
  const double independent = std::max(value_variance, 0.0) / bounds.count;
  double between = between_block_variance(blocks.size(), bounds.count, [&](std::size_t b) { return blocks[b].sum - bounds.estimate * blocks[b].count; });
  if (std::isnan(between)) between = 0;
  const double variance = std::max(between, independent);
  if (independent > 0) bounds.design_effect = std::max(1.0, variance / independent);
  const double t = boost::math::quantile(boost::math::students_t(static_cast<double>(blocks.size() - 1)), 1 - alpha);
  const double half_width = t * std::sqrt(variance);
  bounds.lower = bounds.estimate - half_width;
  bounds.upper = bounds.estimate + half_width;
  return bounds;
}

}  // namespace uptake::loadgen

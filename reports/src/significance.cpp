#include "uptake/reports/significance.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

namespace uptake::reports {
namespace {

constexpr double kTiny = 1e-12;
// Exact null distributions are counted up to this many pairs; beyond, the normal approximation
// is within a hair of them.
constexpr std::size_t kExactPairs = 400;

double upper_normal_tail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

// The number of arrangements of m and n values (no ties) with each U from 0 to m*n: the
// Mann-Whitney null distribution, counted by the recurrence f(i, j, u) = f(i-1, j, u-j) +
// f(i, j-1, u) (the largest value is one of the i, beating all j, or one of the j). Column by
// column over j, so memory is two columns of m+1 distributions. Doubles: C(40, 20) is far below
// their exact range.
std::vector<double> u_distribution(std::size_t m, std::size_t n) {
  std::vector<std::vector<double>> previous(m + 1), current(m + 1);
  for (std::size_t j = 0; j <= n; ++j) {
    for (std::size_t i = 0; i <= m; ++i) {
      auto& here = current[i];
      here.assign(i * j + 1, 0.0);
      if (i == 0 || j == 0) {
        here[0] = 1;
        continue;
      }
      const auto& without_last_x = current[i - 1];  // f(i-1, j)
      const auto& without_last_y = previous[i];     // f(i, j-1)
      for (std::size_t u = 0; u < without_last_x.size(); ++u) here[u + j] += without_last_x[u];
      for (std::size_t u = 0; u < without_last_y.size(); ++u) here[u] += without_last_y[u];
    }
    std::swap(previous, current);
  }
  return previous[m];
}

// Whether the exact distribution is counted: always for small samples, and for a very small one
// against a large one, where the normal approximation is far too cautious (2 blocks against 300
// could never reach p = 0.0075 by it; exactly, 2.2e-5).
bool exact_for(std::size_t m, std::size_t n) {
  return m * n <= kExactPairs || (std::min(m, n) <= 4 && std::max(m, n) <= 2000);
}

}  // namespace

ShiftEstimate compare_replicates(std::span<const double> baseline, std::span<const double> candidate, Worse worse) {
  ShiftEstimate estimate;
  const std::size_t m = candidate.size(), n = baseline.size();
  estimate.candidate_replicates = m;
  estimate.baseline_replicates = n;
  if (m == 0 || n == 0) return estimate;
  auto log_of = [](double value) { return std::log(std::max(value, kTiny)); };
  std::vector<double> x(m), y(n);
  std::transform(candidate.begin(), candidate.end(), x.begin(), log_of);
  std::transform(baseline.begin(), baseline.end(), y.begin(), log_of);

  // U counts the pairs in which the candidate is worse (ties count half), by ranks over both.
  std::vector<std::pair<double, bool>> all;  // value, is candidate
  for (const double value : x) all.emplace_back(value, true);
  for (const double value : y) all.emplace_back(value, false);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double rank_sum = 0, tie_term = 0;
  bool ties = false;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    const double tied = static_cast<double>(j - i);
    if (tied > 1) ties = true;
    tie_term += tied * tied * tied - tied;
    for (std::size_t k = i; k < j; ++k) {
      if (all[k].second) rank_sum += average_rank;
    }
    i = j;
  }
  const double md = static_cast<double>(m), nd = static_cast<double>(n);
  const double u_higher = rank_sum - md * (md + 1) / 2;  // pairs with the candidate higher
  const double u_worse = worse == Worse::higher ? u_higher : md * nd - u_higher;
  if (!ties && exact_for(m, n)) {
    const auto distribution = u_distribution(m, n);
    const double total = std::accumulate(distribution.begin(), distribution.end(), 0.0);
    double at_least = 0;
    for (auto u = static_cast<std::size_t>(std::llround(u_worse)); u < distribution.size(); ++u) at_least += distribution[u];
    estimate.p_value = at_least / total;
    estimate.smallest_possible_p = distribution.back() / total;
  } else {
    const double mean = md * nd / 2;
    const double variance = md * nd / 12 * ((md + nd + 1) - tie_term / ((md + nd) * (md + nd - 1)));
    estimate.p_value = variance > 0 ? upper_normal_tail((u_worse - mean - 0.5) / std::sqrt(variance)) : 1.0;
    estimate.smallest_possible_p = variance > 0 ? upper_normal_tail((md * nd - mean - 0.5) / std::sqrt(md * nd / 12 * (md + nd + 1))) : 1.0;
  }

  // Hodges-Lehmann: the median of the m*n differences, and the order statistics around it that
  // the U distribution puts 2.5% beyond on either side.
  std::vector<double> differences;
  differences.reserve(m * n);
  for (const double a : x) {
    for (const double b : y) differences.push_back(a - b);
  }
  std::sort(differences.begin(), differences.end());
  const std::size_t pairs = differences.size();
  const double median = pairs % 2 ? differences[pairs / 2] : (differences[pairs / 2 - 1] + differences[pairs / 2]) / 2;
  estimate.ratio = std::exp(median);
  const double k = std::floor(md * nd / 2 - 1.959963984540054 * std::sqrt(md * nd * (md + nd + 1) / 12));
  if (k >= 1) {
    const auto index = static_cast<std::size_t>(k) - 1;
    estimate.ratio_low = std::exp(differences[index]);
    estimate.ratio_high = std::exp(differences[pairs - 1 - index]);
  }
  return estimate;
}

std::vector<bool> holm_significant(const std::vector<double>& p_values, double alpha) {
  std::vector<std::size_t> order(p_values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p_values[a] < p_values[b]; });
  std::vector<bool> significant(p_values.size(), false);
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    if (p_values[order[rank]] > alpha / static_cast<double>(order.size() - rank)) break;
    significant[order[rank]] = true;
  }
  return significant;
}

}  // namespace uptake::reports

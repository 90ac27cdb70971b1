#include "uptake/loadgen/hdr_histogram.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace uptake::loadgen {

HdrHistogram::HdrHistogram(std::int64_t lowest, std::int64_t highest, int significant_digits)
    : lowest_(lowest), highest_(highest), digits_(significant_digits), min_(std::numeric_limits<std::int64_t>::max()) {
  if (lowest < 1 || highest < 2 * lowest || significant_digits < 1 || significant_digits > 5) {
    throw std::invalid_argument("HdrHistogram: needs lowest >= 1, highest >= 2 * lowest and 1 to 5 significant digits");
  }
  // Enough sub-buckets that two neighbours differ by less than one unit in the last digit.
  const std::int64_t largest_single_unit_resolution = 2 * static_cast<std::int64_t>(std::pow(10, significant_digits));
  const int sub_bucket_count_magnitude = static_cast<int>(std::ceil(std::log2(static_cast<double>(largest_single_unit_resolution))));
  sub_bucket_half_count_magnitude_ = std::max(sub_bucket_count_magnitude, 1) - 1;
  unit_magnitude_ = static_cast<int>(std::floor(std::log2(static_cast<double>(lowest))));
  sub_bucket_count_ = 1 << (sub_bucket_half_count_magnitude_ + 1);
  sub_bucket_half_count_ = sub_bucket_count_ / 2;
  sub_bucket_mask_ = (static_cast<std::int64_t>(sub_bucket_count_) - 1) << unit_magnitude_;
  std::int64_t smallest_untrackable = static_cast<std::int64_t>(sub_bucket_count_) << unit_magnitude_;
  int buckets = 1;
  while (smallest_untrackable <= highest) {
    if (smallest_untrackable > std::numeric_limits<std::int64_t>::max() / 2) {
      ++buckets;
      break;
    }
    smallest_untrackable <<= 1;
    ++buckets;
  }
  counts_.assign(static_cast<std::size_t>((buckets + 1) * sub_bucket_half_count_), 0);
}

std::int64_t HdrHistogram::value_at_index(std::size_t index) const noexcept {
  int bucket = static_cast<int>(index >> sub_bucket_half_count_magnitude_) - 1;
  std::int64_t sub_bucket = static_cast<std::int64_t>(index & static_cast<std::size_t>(sub_bucket_half_count_ - 1)) + sub_bucket_half_count_;
  if (bucket < 0) {
    sub_bucket -= sub_bucket_half_count_;
    bucket = 0;
  }
  return sub_bucket << (bucket + unit_magnitude_);
}

std::int64_t HdrHistogram::size_of_equivalent_range(std::int64_t value) const noexcept {
  const int bucket = bucket_index(value);
  const auto sub_bucket = value >> (bucket + unit_magnitude_);
  const int adjusted = sub_bucket >= sub_bucket_count_ ? bucket + 1 : bucket;
  return std::int64_t{1} << (unit_magnitude_ + adjusted);
}

std::int64_t HdrHistogram::lowest_equivalent(std::int64_t value) const noexcept {
  const int bucket = bucket_index(value);
  const auto sub_bucket = value >> (bucket + unit_magnitude_);
  return sub_bucket << (bucket + unit_magnitude_);
}

std::int64_t HdrHistogram::highest_equivalent(std::int64_t value) const noexcept {
  return lowest_equivalent(value) + size_of_equivalent_range(value) - 1;
}

std::int64_t HdrHistogram::median_equivalent(std::int64_t value) const noexcept {
  return lowest_equivalent(value) + (size_of_equivalent_range(value) >> 1);
}

void HdrHistogram::set_count_at_index(std::size_t index, std::int64_t count) noexcept {
  if (index >= counts_.size()) return;
  total_ += count - counts_[index];
  counts_[index] = count;
  if (count > 0) {
    const auto value = value_at_index(index);
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
}

void HdrHistogram::add(const HdrHistogram& other) {
  if (same_layout(other)) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    overflowed_ += other.overflowed_;
    if (other.total_ > 0) {
      min_ = std::min(min_, other.min_);
      max_ = std::max(max_, other.max_);
    }
    return;
  }
  for (std::size_t i = 0; i < other.counts_.size(); ++i) {
    if (other.counts_[i]) record(other.value_at_index(i), other.counts_[i]);
  }
}

void HdrHistogram::reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = overflowed_ = max_ = 0;
  min_ = std::numeric_limits<std::int64_t>::max();
}

std::int64_t HdrHistogram::min() const noexcept { return total_ ? lowest_equivalent(min_) : 0; }
std::int64_t HdrHistogram::max() const noexcept { return total_ ? highest_equivalent(max_) : 0; }

double HdrHistogram::mean() const noexcept {
  if (!total_) return 0;
  double sum = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i]) sum += static_cast<double>(median_equivalent(value_at_index(i))) * static_cast<double>(counts_[i]);
  }
  return sum / static_cast<double>(total_);
}

double HdrHistogram::stddev() const noexcept {
  if (!total_) return 0;
  const double average = mean();
  double sum = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (!counts_[i]) continue;
    const double deviation = static_cast<double>(median_equivalent(value_at_index(i))) - average;
    sum += deviation * deviation * static_cast<double>(counts_[i]);
  }
  return std::sqrt(sum / static_cast<double>(total_));
}

std::int64_t HdrHistogram::value_at_percentile(double percentile) const noexcept {
  if (!total_) return 0;
  const double clamped = std::clamp(percentile, 0.0, 100.0);
  auto count_at = static_cast<std::int64_t>(clamped / 100.0 * static_cast<double>(total_) + 0.5);
  count_at = std::max<std::int64_t>(count_at, 1);
  std::int64_t cumulative = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    cumulative += counts_[i];
    if (cumulative >= count_at) return highest_equivalent(value_at_index(i));
  }
  return max();
}

}  // namespace uptake::loadgen

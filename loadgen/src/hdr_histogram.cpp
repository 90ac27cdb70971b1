#include "uptake/loadgen/hdr_histogram.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace uptake::loadgen {
namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

struct Layout {
  int unit_magnitude = 0;
  int sub_bucket_half_count_magnitude = 0;
  std::size_t counts_length = 0;
};

// The magnitudes alone: safe for any lowest >= 1 and digits in 1..5.
Layout magnitudes_of(std::int64_t lowest, int significant_digits) noexcept {
  Layout layout;
  // Sub-buckets enough that neighbours within one bucket differ by less than one unit of the
  // last significant digit: 2 * 10^digits of them, rounded up to a power of two.
  std::uint64_t largest_value_with_single_unit_resolution = 2;
  for (int digit = 0; digit < significant_digits; ++digit) largest_value_with_single_unit_resolution *= 10;
  const int sub_bucket_count_magnitude = static_cast<int>(std::bit_width(largest_value_with_single_unit_resolution - 1));
  layout.sub_bucket_half_count_magnitude = std::max(sub_bucket_count_magnitude, 1) - 1;
  layout.unit_magnitude = static_cast<int>(std::bit_width(static_cast<std::uint64_t>(lowest))) - 1;
  return layout;
}

// The bucket layout of a valid configuration (configuration_error() is empty, so bucket 0 ends
// at or below 2^62 and the doubling below cannot overflow).
Layout layout_of(std::int64_t lowest, std::int64_t highest, int significant_digits) noexcept {
  Layout layout = magnitudes_of(lowest, significant_digits);
  const std::int64_t sub_bucket_count = std::int64_t{1} << (layout.sub_bucket_half_count_magnitude + 1);
  // Each bucket doubles the range covered; count them until highest is covered.
  std::int64_t smallest_untrackable = sub_bucket_count << layout.unit_magnitude;
  std::size_t buckets = 1;
  while (smallest_untrackable <= highest) {
    if (smallest_untrackable > kInt64Max / 2) {
      ++buckets;  // this last bucket reaches INT64_MAX
      break;
    }
    smallest_untrackable <<= 1;
    ++buckets;
  }
  layout.counts_length = (buckets + 1) * static_cast<std::size_t>(sub_bucket_count / 2);
  return layout;
}

bool valid_configuration(std::int64_t lowest, std::int64_t highest, int significant_digits) noexcept {
  if (lowest < 1 || significant_digits < 1 || significant_digits > 5 || lowest > kInt64Max / 2 || highest < 2 * lowest) return false;
  const Layout layout = magnitudes_of(lowest, significant_digits);
  return layout.unit_magnitude + layout.sub_bucket_half_count_magnitude <= 61;
}

}  // namespace

std::string HdrHistogram::configuration_error(std::int64_t lowest, std::int64_t highest, int significant_digits) {
  if (lowest < 1) return fmt::format("lowest discernible value {} is below 1", lowest);
  if (significant_digits < 1 || significant_digits > 5) return fmt::format("{} significant digits is outside 1..5", significant_digits);
  if (lowest > kInt64Max / 2 || highest < 2 * lowest) {
    return fmt::format("highest trackable value {} is below twice the lowest discernible value {}", highest, lowest);
  }
  const Layout layout = magnitudes_of(lowest, significant_digits);
  // Bucket 0 must end at or below 2^62, so that the doubling buckets above it fit in 63 bits.
  if (layout.unit_magnitude + layout.sub_bucket_half_count_magnitude > 61) {
    return fmt::format("lowest discernible value {} is too large for {} significant digits", lowest, significant_digits);
  }
  return {};
}

std::size_t HdrHistogram::counts_length_for(std::int64_t lowest, std::int64_t highest, int significant_digits) noexcept {
  return valid_configuration(lowest, highest, significant_digits) ? layout_of(lowest, highest, significant_digits).counts_length : 0;
}

HdrHistogram::HdrHistogram(std::int64_t lowest_discernible_value, std::int64_t highest_trackable_value, int significant_digits)
    : lowest_discernible_value_(lowest_discernible_value),
      highest_trackable_value_(highest_trackable_value),
      significant_digits_(significant_digits) {
  if (const auto error = configuration_error(lowest_discernible_value, highest_trackable_value, significant_digits); !error.empty()) {
    throw std::invalid_argument("HdrHistogram: " + error);
  }
  const Layout layout = layout_of(lowest_discernible_value, highest_trackable_value, significant_digits);
  unit_magnitude_ = layout.unit_magnitude;
  sub_bucket_half_count_magnitude_ = layout.sub_bucket_half_count_magnitude;
  const std::uint64_t sub_bucket_count = std::uint64_t{1} << (sub_bucket_half_count_magnitude_ + 1);
  sub_bucket_mask_ = (sub_bucket_count - 1) << unit_magnitude_;
  counts_.assign(layout.counts_length, 0);
}

std::int64_t HdrHistogram::value_at_index(std::size_t index) const noexcept {
  const std::size_t half_count = std::size_t{1} << sub_bucket_half_count_magnitude_;
  std::size_t bucket = index >> sub_bucket_half_count_magnitude_;
  std::size_t sub_bucket = (index & (half_count - 1)) + half_count;
  // The first half_count counts belong to bucket 0's lower half (stored before bucket 0's upper half).
  if (bucket == 0) {
    sub_bucket -= half_count;
  } else {
    --bucket;
  }
  return static_cast<std::int64_t>(sub_bucket) << (static_cast<int>(bucket) + unit_magnitude_);
}

std::int64_t HdrHistogram::size_of_equivalent_range(std::int64_t value) const noexcept {
  return std::int64_t{1} << (bucket_index(std::max<std::int64_t>(value, 0)) + unit_magnitude_);
}

std::int64_t HdrHistogram::lowest_equivalent(std::int64_t value) const noexcept {
  value = std::max<std::int64_t>(value, 0);
  const int shift = bucket_index(value) + unit_magnitude_;
  return (value >> shift) << shift;
}

std::int64_t HdrHistogram::count_at_value(std::int64_t value) const noexcept {
  value = std::clamp<std::int64_t>(value, 0, highest_trackable_value_);
  return counts_[counts_index(value)];
}

void HdrHistogram::set_count_at_index(std::size_t index, std::int64_t count) noexcept {
  if (index >= counts_.size() || count < 0) return;
  total_count_ += count - counts_[index];
  counts_[index] = count;
  if (count > 0) {
    const std::int64_t value = value_at_index(index);
    min_value_ = std::min(min_value_, value);
    max_value_ = std::max(max_value_, value);
  }
}

bool HdrHistogram::has_same_counts(const HdrHistogram& other) const noexcept {
  return lowest_discernible_value_ == other.lowest_discernible_value_ && highest_trackable_value_ == other.highest_trackable_value_ &&
         significant_digits_ == other.significant_digits_ && total_count_ == other.total_count_ && counts_ == other.counts_;
}

void HdrHistogram::add(const HdrHistogram& other) {
  const std::int64_t other_total = other.total_count_;
  const std::int64_t other_overflowed = other.overflowed_;
  const std::int64_t other_underflowed = other.underflowed_;
  if (other_total > 0) {
    const std::int64_t overflowed_before = overflowed_;
    std::size_t first_index = 0;  // counts below this were added index by index
    if (same_layout(other)) {
      const std::size_t shared = std::min(counts_.size(), other.counts_.size());
      std::int64_t added = 0;
      for (std::size_t index = 0; index < shared; ++index) {
        const std::int64_t count = other.counts_[index];  // read first: other may be *this
        counts_[index] += count;
        added += count;
      }
      total_count_ += added;
      if (added > 0) {
        // other's raw min lies in its first non-empty bucket, which is one of the shared ones.
        min_value_ = std::min(min_value_, other.min_value_);
        if (other.counts_index(other.max_value_) < shared) max_value_ = std::max(max_value_, other.max_value_);
      }
      first_index = shared;
    }
    // Other layouts (and counts beyond this histogram's range) are re-recorded by value, at the
    // lowest equivalent value of each bucket as HdrHistogram does; values above the range clamp.
    for (std::size_t index = first_index; index < other.counts_.size(); ++index) {
      if (other.counts_[index] != 0) record(other.value_at_index(index), other.counts_[index]);
    }
    // Values other had already clamped and this merge clamped again are counted once.
    const std::int64_t clamped_now = overflowed_ - overflowed_before;
    overflowed_ -= std::min(clamped_now, other_overflowed);
  }
  overflowed_ += other_overflowed;
  underflowed_ += other_underflowed;
  if (other.start_timestamp_ms_ != 0 && (start_timestamp_ms_ == 0 || other.start_timestamp_ms_ < start_timestamp_ms_)) {
    start_timestamp_ms_ = other.start_timestamp_ms_;
  }
  end_timestamp_ms_ = std::max(end_timestamp_ms_, other.end_timestamp_ms_);
}

void HdrHistogram::reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_count_ = overflowed_ = underflowed_ = 0;
  min_value_ = kInt64Max;
  max_value_ = 0;
  start_timestamp_ms_ = end_timestamp_ms_ = 0;
}

double HdrHistogram::mean() const noexcept {
  if (total_count_ == 0) return 0;
  double sum = 0;
  for_each_recorded_value([&](const RecordedValue& bucket) {
    sum += static_cast<double>(median_equivalent(bucket.lowest)) * static_cast<double>(bucket.count);
  });
  return sum / static_cast<double>(total_count_);
}

double HdrHistogram::stddev() const noexcept {
  if (total_count_ == 0) return 0;
  const double average = mean();
  double sum_of_squares = 0;
  for_each_recorded_value([&](const RecordedValue& bucket) {
    const double deviation = static_cast<double>(median_equivalent(bucket.lowest)) - average;
    sum_of_squares += deviation * deviation * static_cast<double>(bucket.count);
  });
  return std::sqrt(sum_of_squares / static_cast<double>(total_count_));
}

namespace {

// ceil(percentile / 100 * total), at least 1, without letting floating-point noise push an
// exact product up by one (99.9% of 1000 is 999.0000000000001 in doubles: it must give 999).
std::int64_t count_at_percentile(double percentile, std::int64_t total) noexcept {
  const double exact = percentile / 100.0 * static_cast<double>(total);
  const double nearest = std::round(exact);
  const double count = std::abs(exact - nearest) <= exact * 1e-12 ? nearest : std::ceil(exact);
  return std::clamp(static_cast<std::int64_t>(count), std::int64_t{1}, total);
}

}  // namespace

std::int64_t HdrHistogram::value_at_percentile(double percentile) const noexcept {
  if (total_count_ == 0) return 0;
  if (!(percentile > 0)) return min();  // NaN too
  if (percentile >= 100) return max();
  const std::int64_t wanted = count_at_percentile(percentile, total_count_);
  std::int64_t cumulative = 0;
  for (std::size_t index = 0; index < counts_.size(); ++index) {
    cumulative += counts_[index];
    if (cumulative >= wanted) return highest_equivalent(value_at_index(index));
  }
  return max();  // unreachable while counts add up to total_count_
}

std::vector<PercentilePoint> HdrHistogram::percentile_distribution(int ticks_per_half_distance) const {
  std::vector<PercentilePoint> points;
  if (total_count_ == 0) return points;
  const int ticks = std::max(ticks_per_half_distance, 1);
  std::size_t index = 0;  // one past the bucket reached so far
  std::int64_t cumulative = 0;
  double level = 0;
  // The levels close in on 100% geometrically; the cap only guards against a pathological loop.
  for (int guard = 0; guard < 100'000; ++guard) {
    const std::int64_t wanted = count_at_percentile(level, total_count_);
    while (cumulative < wanted && index < counts_.size()) cumulative += counts_[index++];
    const std::int64_t value = highest_equivalent(value_at_index(index - 1));
    points.push_back({value, level, cumulative});
    if (cumulative >= total_count_) {
      if (level < 100) points.push_back({value, 100.0, total_count_});
      break;
    }
    // ticks steps per halving of the distance to 100%: 0..50, 50..75, 75..87.5, ...
    const double halvings = std::min(std::floor(std::log2(100.0 / (100.0 - level))) + 1, 60.0);
    level += 100.0 / (ticks * std::exp2(halvings));
  }
  return points;
}

}  // namespace uptake::loadgen

#pragma once
// HdrHistogram (Gil Tene's High Dynamic Range histogram), written for uptake: values from
// `lowest` to `highest` recorded with a fixed number of significant decimal digits, in constant
// time and without allocation. uptake records nanoseconds.
//
// Thread-safety: none. Each thread records into its own histogram; add() merges them at the end.
// Values above `highest` are clamped to it and counted in overflowed(): a latency beyond the
// trackable range must still count as a (very slow) response rather than vanish.
#include <cstdint>
#include <vector>

namespace uptake::loadgen {

class HdrHistogram {
 public:
  // lowest >= 1, highest >= 2 * lowest, significant_digits in 1..5.
  HdrHistogram(std::int64_t lowest, std::int64_t highest, int significant_digits);

  void record(std::int64_t value, std::int64_t count = 1) noexcept {
    if (value < 0) value = 0;
    if (value > highest_) {
      value = highest_;
      overflowed_ += count;
    }
    counts_[static_cast<std::size_t>(index_of(value))] += count;
    total_ += count;
    if (value > max_) max_ = value;
    if (value < min_) min_ = value;
  }
  // Adds every count of `other` (re-recorded by value when the configurations differ).
  void add(const HdrHistogram& other);
  void reset() noexcept;

  std::int64_t total_count() const noexcept { return total_; }
  std::int64_t overflowed() const noexcept { return overflowed_; }
  std::int64_t min() const noexcept;        // lowest equivalent of the smallest recorded value; 0 when empty
  std::int64_t max() const noexcept;        // highest equivalent of the largest; 0 when empty
  double mean() const noexcept;             // using each bucket's median equivalent value
  double stddev() const noexcept;
  // The highest equivalent value of the bucket where the cumulative count first reaches
  // round(p / 100 * total) (at least 1); HdrHistogram's own definition.
  std::int64_t value_at_percentile(double percentile) const noexcept;

  std::int64_t lowest_equivalent(std::int64_t value) const noexcept;
  std::int64_t highest_equivalent(std::int64_t value) const noexcept;
  std::int64_t size_of_equivalent_range(std::int64_t value) const noexcept;
  std::int64_t median_equivalent(std::int64_t value) const noexcept;

  std::int64_t lowest() const noexcept { return lowest_; }
  std::int64_t highest() const noexcept { return highest_; }
  int significant_digits() const noexcept { return digits_; }
  bool same_layout(const HdrHistogram& other) const noexcept {
    return lowest_ == other.lowest_ && highest_ == other.highest_ && digits_ == other.digits_;
  }

  // The raw counts, for encoding: index i holds the count of value_at_index(i)'s bucket.
  const std::vector<std::int64_t>& counts() const noexcept { return counts_; }
  std::int64_t value_at_index(std::size_t index) const noexcept;
  // Sets the count at `index` (decoding); keeps totals, min and max right.
  void set_count_at_index(std::size_t index, std::int64_t count) noexcept;

 private:
  std::int32_t index_of(std::int64_t value) const noexcept {
    const int bucket = bucket_index(value);
    const auto sub_bucket = static_cast<std::int32_t>(value >> (bucket + unit_magnitude_));
    return ((bucket + 1) << sub_bucket_half_count_magnitude_) + (sub_bucket - sub_bucket_half_count_);
  }
  int bucket_index(std::int64_t value) const noexcept {
    const int pow2_ceiling = 64 - __builtin_clzll(static_cast<std::uint64_t>(value | sub_bucket_mask_));
    return pow2_ceiling - unit_magnitude_ - (sub_bucket_half_count_magnitude_ + 1);
  }

  std::int64_t lowest_;
  std::int64_t highest_;
  int digits_;
  int unit_magnitude_;
  int sub_bucket_half_count_magnitude_;
  std::int32_t sub_bucket_count_;
  std::int32_t sub_bucket_half_count_;
  std::int64_t sub_bucket_mask_;
  std::vector<std::int64_t> counts_;
  std::int64_t total_ = 0;
  std::int64_t overflowed_ = 0;
  std::int64_t min_;
  std::int64_t max_ = 0;
};

}  // namespace uptake::loadgen

#pragma once
// A High Dynamic Range histogram (Gil Tene's HdrHistogram: same bucket layout and semantics, so
// its V2 encoding is byte-compatible with the Java, C and JS implementations; see
// histogram_log.hpp). Memory is fixed at construction and independent of how many values are
// recorded: memory stays flat however long a run lasts.
//
// Units: values are whatever the caller records, as non-negative 64-bit integers. uptake
// records nanoseconds (make_latency_histogram in run_result.hpp: 1 ns to one hour, 3 digits).
//
// Precision: a value v is kept in a bucket of width size_of_equivalent_range(v), less than
// v / 10^significant_digits wide above 2 * 10^digits * lowest_discernible_value, so any
// reported value is within that relative error of a recorded one.
//
// Thread-safety: none. One histogram per thread, merged with add() at the end of the run (the
// engine's pattern); concurrent reads of a histogram nobody modifies are safe.
//
// Out-of-range values (uptake's choice): the hot path never throws and never drops a
// measurement silently. A value above highest_trackable_value() is recorded as
// highest_trackable_value() and counted in overflowed(); a negative value is recorded as 0 and
// counted in underflowed(). Both still count in total_count(), so request counts add up: a
// response slower than the range is a very slow response, not a missing one. When
// overflowed() > 0, max() and the highest percentiles are lower bounds.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace uptake::loadgen {

// One non-empty bucket, as for_each_recorded_value visits them, lowest values first.
struct RecordedValue {
  std::int64_t lowest = 0;             // lowest value the bucket holds
  std::int64_t highest = 0;            // highest value the bucket holds (what percentiles report)
  std::int64_t count = 0;              // values recorded in the bucket (> 0)
  std::int64_t count_at_or_below = 0;  // cumulative count up to and including this bucket
};

// One row of a percentile distribution (the table HistogramLogProcessor prints in .hgrm files).
struct PercentilePoint {
  std::int64_t value = 0;              // highest equivalent value of the bucket reached
  double percentile = 0;               // 0..100
  std::int64_t count_at_or_below = 0;  // cumulative count up to and including that bucket
};

class HdrHistogram {
 public:
  // lowest_discernible_value >= 1, highest_trackable_value >= 2 * lowest_discernible_value,
  // significant_digits in 1..5 (uptake uses 3). Throws std::invalid_argument otherwise: a
  // programming error, since configurations are constants (decoders check
  // configuration_error() first and never reach the throw).
  HdrHistogram(std::int64_t lowest_discernible_value, std::int64_t highest_trackable_value, int significant_digits);

  // Empty when the configuration is valid, else what is wrong with it, for people. Never throws
  // (except std::bad_alloc building the message).
  static std::string configuration_error(std::int64_t lowest_discernible_value, std::int64_t highest_trackable_value,
                                         int significant_digits);
  // How many counts a histogram of this configuration holds (0 when it is invalid), computed
  // without allocating, so that decoders can refuse absurd configurations before allocating.
  static std::size_t counts_length_for(std::int64_t lowest_discernible_value, std::int64_t highest_trackable_value,
                                       int significant_digits) noexcept;

  // ---- the hot path: O(1), no allocation, no lock, no exception ----
  void record(std::int64_t value) noexcept { record(value, 1); }
  // Records `count` occurrences of `value`; count <= 0 is ignored (counts never go down).
  void record(std::int64_t value, std::int64_t count) noexcept {
    if (count <= 0) return;
    if (value > highest_trackable_value_) [[unlikely]] {
      value = highest_trackable_value_;
      overflowed_ += count;
    } else if (value < 0) [[unlikely]] {
      value = 0;
      underflowed_ += count;
    }
    counts_[counts_index(value)] += count;
    total_count_ += count;
    if (value < min_value_) min_value_ = value;
    if (value > max_value_) max_value_ = value;
  }

  // Adds every count of `other` (merging per-thread histograms). With the same bucket layout
  // (same lowest discernible value and significant digits) counts add index by index; otherwise
  // each of other's buckets is re-recorded at its lowest equivalent value, as HdrHistogram does,
  // so the result has the coarser precision of the two. Values beyond this histogram's range
  // are clamped and counted in overflowed(); overflowed() and underflowed() add (a value other
  // had already clamped counts once). Timestamps widen to cover both; unset ones are ignored.
  // Allocates nothing; adding a histogram to itself doubles it.
  void add(const HdrHistogram& other);

  // Clears counts, counters and timestamps; keeps the configuration and the memory.
  void reset() noexcept;

  // ---- queries: O(counts_length()) at most; only percentile_distribution allocates ----
  std::int64_t total_count() const noexcept { return total_count_; }
  // Recordings clamped to highest_trackable_value() because they were above it.
  std::int64_t overflowed() const noexcept { return overflowed_; }
  // Recordings clamped to 0 because they were negative.
  std::int64_t underflowed() const noexcept { return underflowed_; }

  // Lowest equivalent of the smallest recorded value; 0 when empty. Equals value_at_percentile(0).
  std::int64_t min() const noexcept { return total_count_ == 0 ? 0 : lowest_equivalent(min_value_); }
  // Highest equivalent of the largest recorded value; 0 when empty. Equals
  // value_at_percentile(100), and is the same whether the histogram was recorded or decoded.
  std::int64_t max() const noexcept { return total_count_ == 0 ? 0 : highest_equivalent(max_value_); }
  // Mean and population standard deviation over each bucket's median equivalent value
  // (HdrHistogram's definition); 0 when empty.
  double mean() const noexcept;
  double stddev() const noexcept;

  // The highest equivalent value of the first bucket where the cumulative count reaches
  // ceil(percentile / 100 * total_count()), at least 1. percentile <= 0 (or NaN) gives min(),
  // percentile >= 100 gives max(); 0 when empty.
  std::int64_t value_at_percentile(double percentile) const noexcept;
  // Recordings equivalent to `value` (values outside the range: those of the nearest end).
  std::int64_t count_at_value(std::int64_t value) const noexcept;

  // Calls visit(const RecordedValue&) for each non-empty bucket, lowest values first.
  template <class Visitor>
  void for_each_recorded_value(Visitor&& visit) const {
    std::int64_t cumulative = 0;
    for (std::size_t index = 0; index < counts_.size() && cumulative < total_count_; ++index) {
      const std::int64_t count = counts_[index];
      if (count == 0) continue;
      cumulative += count;
      const std::int64_t lowest = value_at_index(index);
      visit(RecordedValue{lowest, highest_equivalent(lowest), count, cumulative});
    }
  }

  // Percentile levels as HdrHistogram's percentile output lists them: ticks_per_half_distance
  // rows from 0% to 50%, as many from 50% to 75%, from 75% to 87.5%, and so on, closing with a
  // 100% row. Each row is value_at_percentile(percentile) with its cumulative count, except the
  // 0% row, which gives the first bucket's highest equivalent as HdrHistogram prints it. Empty when
  // the histogram is; ticks_per_half_distance below 1 counts as 1.
  std::vector<PercentilePoint> percentile_distribution(int ticks_per_half_distance = 5) const;

  // ---- equivalent ranges: values that share a bucket are equivalent (negatives count as 0) ----
  std::int64_t size_of_equivalent_range(std::int64_t value) const noexcept;
  std::int64_t lowest_equivalent(std::int64_t value) const noexcept;
  // (size - 1) first: the highest equivalent of the last bucket is INT64_MAX itself.
  std::int64_t highest_equivalent(std::int64_t value) const noexcept {
    return lowest_equivalent(value) + (size_of_equivalent_range(value) - 1);
  }
  std::int64_t median_equivalent(std::int64_t value) const noexcept {
    return lowest_equivalent(value) + size_of_equivalent_range(value) / 2;
  }
  bool values_are_equivalent(std::int64_t a, std::int64_t b) const noexcept { return lowest_equivalent(a) == lowest_equivalent(b); }

  // ---- configuration and raw counts (for encoders, decoders and tests) ----
  std::int64_t lowest_discernible_value() const noexcept { return lowest_discernible_value_; }
  std::int64_t highest_trackable_value() const noexcept { return highest_trackable_value_; }
  int significant_digits() const noexcept { return significant_digits_; }
  // Counts by bucket index; value_at_index(i) is the lowest value of bucket i.
  const std::vector<std::int64_t>& counts() const noexcept { return counts_; }
  std::int64_t value_at_index(std::size_t index) const noexcept;
  // Same bucket layout: an index means the same values in both (counts lengths may differ).
  bool same_layout(const HdrHistogram& other) const noexcept {
    return unit_magnitude_ == other.unit_magnitude_ && sub_bucket_half_count_magnitude_ == other.sub_bucket_half_count_magnitude_;
  }
  // Same configuration and the same count in every bucket (min, max, clamp counters and
  // timestamps are not compared: a decoded histogram has lost the raw min and max).
  bool has_same_counts(const HdrHistogram& other) const noexcept;

  // Sets the count of one bucket, for decoders. Ignored unless index < counts().size() and
  // count >= 0. Keeps total_count() exact; min and max only widen, so decoders fill an empty
  // histogram.
  void set_count_at_index(std::size_t index, std::int64_t count) noexcept;

  // ---- interval timestamps, milliseconds since the Unix epoch (0 = unset) ----
  // Carried for interval logs: the log writer can take an interval's start and length from
  // them, and the log reader sets them. Recording never touches them.
  std::int64_t start_timestamp_ms() const noexcept { return start_timestamp_ms_; }
  std::int64_t end_timestamp_ms() const noexcept { return end_timestamp_ms_; }
  void set_start_timestamp_ms(std::int64_t milliseconds) noexcept { start_timestamp_ms_ = milliseconds; }
  void set_end_timestamp_ms(std::int64_t milliseconds) noexcept { end_timestamp_ms_ = milliseconds; }

 private:
  // Bucket 0 holds sub-buckets [0, 2^(h+1)) at unit resolution 2^unit_magnitude; bucket b >= 1
  // holds only the upper half [2^h, 2^(h+1)) at resolution 2^(b + unit_magnitude) (its lower
  // half is bucket b-1's range), where h = sub_bucket_half_count_magnitude. So each bucket
  // adds 2^h counts and index = (b << h) + sub_bucket. `value` must be in 0..INT64_MAX.
  std::size_t counts_index(std::int64_t value) const noexcept {
    const int bucket = bucket_index(value);
    const auto sub_bucket = static_cast<std::size_t>(value >> (bucket + unit_magnitude_));
    return (static_cast<std::size_t>(bucket) << sub_bucket_half_count_magnitude_) + sub_bucket;
  }
  // The power of two just above the value, counted from the top of bucket 0 (count leading
  // zeros); the mask makes every value of bucket 0 land on bucket 0.
  int bucket_index(std::int64_t value) const noexcept {
    const int pow2_ceiling = 64 - std::countl_zero(static_cast<std::uint64_t>(value) | sub_bucket_mask_);
    return pow2_ceiling - unit_magnitude_ - (sub_bucket_half_count_magnitude_ + 1);
  }

  std::int64_t lowest_discernible_value_;
  std::int64_t highest_trackable_value_;
  int significant_digits_;
  int unit_magnitude_ = 0;                   // floor(log2(lowest_discernible_value))
  int sub_bucket_half_count_magnitude_ = 0;  // log2(sub-buckets per bucket) - 1
  std::uint64_t sub_bucket_mask_ = 0;        // (sub-buckets per bucket - 1) << unit_magnitude
  std::vector<std::int64_t> counts_;
  std::int64_t total_count_ = 0;
  std::int64_t overflowed_ = 0;
  std::int64_t underflowed_ = 0;
  std::int64_t min_value_ = std::numeric_limits<std::int64_t>::max();  // raw, as recorded
  std::int64_t max_value_ = 0;                                          // raw, as recorded
  std::int64_t start_timestamp_ms_ = 0;
  std::int64_t end_timestamp_ms_ = 0;
};

}  // namespace uptake::loadgen

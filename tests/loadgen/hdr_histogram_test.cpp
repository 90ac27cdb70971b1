// HdrHistogram: recording, percentiles and ranges against figures computed by hand from the
// bucket layout (at 3 significant digits and a lowest discernible value of 1, values below
// 2048 have their own bucket and the bucket width doubles with every power of two above).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "uptake/base/random.hpp"
#include "uptake/loadgen/hdr_histogram.hpp"

using uptake::Random;
using uptake::loadgen::HdrHistogram;
using uptake::loadgen::RecordedValue;

namespace {

constexpr std::int64_t kHourInMicroseconds = 3'600'000'000LL;
constexpr std::int64_t kHourInNanoseconds = 3'600'000'000'000LL;
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// A value spread over many orders of magnitude: 10^(0..12) times a uniform factor.
std::int64_t spread_value(Random& random) {
  const double magnitude = std::pow(10.0, static_cast<double>(random() % 13));
  return static_cast<std::int64_t>(magnitude * (1 + 9 * random.uniform()));
}

}  // namespace

TEST_CASE("the classic HdrHistogram case: 10,000 values of 1000 and one of 100,000,000") {
  // As HdrHistogram's own tests record it: microseconds, 1 us to one hour, 3 digits; a
  // hiccup of 100 s among 1 ms responses.
  HdrHistogram histogram(1, kHourInMicroseconds, 3);
  for (int i = 0; i < 10'000; ++i) histogram.record(1000);
  histogram.record(100'000'000);

  // 100,000,000 lies in [2^26, 2^27): bucket 16, width 2^16 = 65,536, whose lowest value is
  // 1525 * 65,536 = 99,942,400; highest 100,007,935, median 99,975,168.
  constexpr std::int64_t kHiccupHighest = 100'007'935;
  constexpr std::int64_t kHiccupMedian = 99'975'168;
  CHECK(histogram.lowest_equivalent(100'000'000) == 99'942'400);
  CHECK(histogram.highest_equivalent(100'000'000) == kHiccupHighest);
  CHECK(histogram.median_equivalent(100'000'000) == kHiccupMedian);

  CHECK(histogram.total_count() == 10'001);
  CHECK(histogram.count_at_value(1000) == 10'000);
  CHECK(histogram.min() == 1000);
  CHECK(histogram.max() == kHiccupHighest);
  // p99: ceil(0.99 * 10001) = 9901 <= 10000, still among the 1000s; so is p99.99 (10000 exactly).
  CHECK(histogram.value_at_percentile(30) == 1000);
  CHECK(histogram.value_at_percentile(99) == 1000);
  CHECK(histogram.value_at_percentile(99.99) == 1000);
  CHECK(histogram.value_at_percentile(99.999) == kHiccupHighest);
  CHECK(histogram.value_at_percentile(100) == kHiccupHighest);
  CHECK(histogram.value_at_percentile(0) == 1000);

  // Mean over median equivalents: (10000 * 1000 + 99,975,168) / 10001.
  const double mean = (10'000.0 * 1000 + kHiccupMedian) / 10'001;
  CHECK(histogram.mean() == Approx(mean).epsilon(1e-12));
  CHECK(histogram.mean() == Approx((10'000.0 * 1000 + 1e8) / 10'001).epsilon(0.001));  // the raw mean, within 0.1%
  const double stddev = std::sqrt((10'000.0 * (1000 - mean) * (1000 - mean) + (kHiccupMedian - mean) * (kHiccupMedian - mean)) / 10'001);
  CHECK(histogram.stddev() == Approx(stddev).epsilon(1e-12));
}

TEST_CASE("equivalent ranges at 3 significant digits") {
  HdrHistogram histogram(1, kHourInMicroseconds, 3);
  CHECK(histogram.size_of_equivalent_range(0) == 1);
  CHECK(histogram.size_of_equivalent_range(1) == 1);
  CHECK(histogram.size_of_equivalent_range(1025) == 1);
  CHECK(histogram.size_of_equivalent_range(2047) == 1);
  CHECK(histogram.size_of_equivalent_range(2048) == 2);
  CHECK(histogram.size_of_equivalent_range(2500) == 2);
  CHECK(histogram.size_of_equivalent_range(4095) == 2);
  CHECK(histogram.size_of_equivalent_range(4096) == 4);
  CHECK(histogram.size_of_equivalent_range(8191) == 4);
  CHECK(histogram.size_of_equivalent_range(8192) == 8);
  CHECK(histogram.size_of_equivalent_range(10'000) == 8);
  CHECK(histogram.lowest_equivalent(10'007) == 10'000);
  CHECK(histogram.highest_equivalent(10'007) == 10'007);
  CHECK(histogram.median_equivalent(10'007) == 10'004);
  CHECK(histogram.lowest_equivalent(10'009) == 10'008);
  CHECK(histogram.highest_equivalent(10'009) == 10'015);
  CHECK(histogram.values_are_equivalent(10'008, 10'015));
  CHECK_FALSE(histogram.values_are_equivalent(10'007, 10'008));
  CHECK(histogram.lowest_equivalent(-5) == 0);

  // A lowest discernible value of 1000 makes the unit 512 (2^floor(log2 1000)).
  HdrHistogram coarse(1000, kHourInMicroseconds, 3);
  CHECK(coarse.size_of_equivalent_range(1) == 512);
  CHECK(coarse.values_are_equivalent(512, 1023));
  CHECK(coarse.lowest_equivalent(1000) == 512);

  // uptake's latency histogram: 32 buckets (2^11 .. 2^42 covers one hour in ns) of 1024 counts, plus one.
  CHECK(HdrHistogram::counts_length_for(1, kHourInNanoseconds, 3) == 33 * 1024);
  CHECK(HdrHistogram(1, kHourInNanoseconds, 3).counts().size() == 33 * 1024);

  // The top of the int64 range has a bucket of its own and no overflow in its arithmetic.
  HdrHistogram everything(1, kInt64Max, 3);
  CHECK(everything.highest_equivalent(kInt64Max) == kInt64Max);
  everything.record(kInt64Max);
  CHECK(everything.max() == kInt64Max);
  CHECK(everything.value_at_percentile(50) == kInt64Max);
}

TEST_CASE("every value falls in the bucket its equivalent range names, within the relative precision") {
  Random random(20240607);
  for (int digits = 1; digits <= 5; ++digits) {
    for (const std::int64_t lowest : {std::int64_t{1}, std::int64_t{1000}, std::int64_t{20'000}}) {
      HdrHistogram histogram(lowest, kHourInNanoseconds, digits);
      const double precision = std::pow(10.0, -digits);
      for (int i = 0; i < 300; ++i) {
        const std::int64_t value = std::min(spread_value(random), kHourInNanoseconds);
        histogram.reset();
        histogram.record(value);
        int buckets = 0;
        histogram.for_each_recorded_value([&](const RecordedValue& bucket) {
          ++buckets;
          CHECK(bucket.lowest == histogram.lowest_equivalent(value));
          CHECK(bucket.highest == histogram.highest_equivalent(value));
          CHECK(bucket.count == 1);
        });
        CHECK(buckets == 1);
        CHECK(histogram.lowest_equivalent(value) <= value);
        CHECK(value <= histogram.highest_equivalent(value));
        // Beyond the unit-resolution region a bucket is narrower than value * 10^-digits.
        const auto unit_region = static_cast<double>(2 * lowest) * std::pow(10.0, digits);
        if (static_cast<double>(value) > unit_region) {
          CHECK(static_cast<double>(histogram.size_of_equivalent_range(value)) < precision * static_cast<double>(value));
        }
      }
    }
  }
}

TEST_CASE("value_at_percentile: the bucket where the cumulative count first reaches ceil(p% of the total)") {
  HdrHistogram histogram(1, 1'000'000, 3);
  CHECK(histogram.value_at_percentile(50) == 0);  // empty
  CHECK(histogram.min() == 0);
  CHECK(histogram.max() == 0);
  CHECK(histogram.mean() == 0);
  for (std::int64_t value = 1; value <= 5; ++value) histogram.record(value);
  CHECK(histogram.value_at_percentile(20) == 1);        // ceil(1.0) = 1
  CHECK(histogram.value_at_percentile(20.0001) == 2);   // ceil(1.000005) = 2
  CHECK(histogram.value_at_percentile(40) == 2);
  CHECK(histogram.value_at_percentile(50) == 3);        // ceil(2.5) = 3
  CHECK(histogram.value_at_percentile(80) == 4);
  CHECK(histogram.value_at_percentile(80.5) == 5);
  CHECK(histogram.value_at_percentile(0) == 1);         // min
  CHECK(histogram.value_at_percentile(0.001) == 1);     // at least one count
  CHECK(histogram.value_at_percentile(100) == 5);       // max
  CHECK(histogram.value_at_percentile(-3) == 1);
  CHECK(histogram.value_at_percentile(250) == 5);
  CHECK(histogram.value_at_percentile(std::nan("")) == 1);

  // 99.9% of 1000 is 999.0000000000001 in doubles: the count wanted is 999, not 1000.
  HdrHistogram thousand(1, 1'000'000, 3);
  for (std::int64_t value = 1; value <= 1000; ++value) thousand.record(value);
  CHECK(thousand.value_at_percentile(99.9) == 999);
  CHECK(thousand.value_at_percentile(0.1) == 1);
  CHECK(thousand.value_at_percentile(50) == 500);
  CHECK(thousand.value_at_percentile(99.95) == 1000);

  // Above the unit region a percentile reports its bucket's highest equivalent value.
  HdrHistogram wide(1, kHourInNanoseconds, 3);
  wide.record(10'007, 3);
  wide.record(20'000);
  CHECK(wide.value_at_percentile(75) == 10'007);
  CHECK(wide.value_at_percentile(76) == wide.highest_equivalent(20'000));
  CHECK(wide.highest_equivalent(20'000) == 20'015);
  CHECK(wide.min() == 10'000);
}

TEST_CASE("the percentile distribution lists HdrHistogram's levels and ends at 100%") {
  HdrHistogram histogram(1, kHourInNanoseconds, 3);
  Random random(7);
  for (int i = 0; i < 100'000; ++i) histogram.record(static_cast<std::int64_t>(1e6 * random.exponential()) + 1);
  const auto rows = histogram.percentile_distribution(5);
  REQUIRE(rows.size() > 20);
  // Five rows from 0% to 50%, five from 50% to 75%, ...
  CHECK(rows[0].percentile == 0);
  CHECK(rows[1].percentile == Approx(10));
  CHECK(rows[5].percentile == Approx(50));
  CHECK(rows[6].percentile == Approx(55));
  CHECK(rows[10].percentile == Approx(75));
  CHECK(rows[11].percentile == Approx(77.5));
  for (std::size_t i = 1; i < rows.size(); ++i) {
    CHECK(rows[i].percentile >= rows[i - 1].percentile);
    CHECK(rows[i].value >= rows[i - 1].value);
    CHECK(rows[i].count_at_or_below >= rows[i - 1].count_at_or_below);
  }
  for (std::size_t i = 1; i + 1 < rows.size(); ++i) CHECK(rows[i].value == histogram.value_at_percentile(rows[i].percentile));
  CHECK(rows.back().percentile == 100);
  CHECK(rows.back().value == histogram.max());
  CHECK(rows.back().count_at_or_below == histogram.total_count());
  CHECK(HdrHistogram(1, 100, 2).percentile_distribution().empty());
}

TEST_CASE("merging equals recording into one histogram") {
  Random random(5);
  SECTION("the same configuration adds counts index by index") {
    HdrHistogram odd(1, kHourInNanoseconds, 3), even(1, kHourInNanoseconds, 3), both(1, kHourInNanoseconds, 3);
    for (int i = 0; i < 50'000; ++i) {
      const auto value = static_cast<std::int64_t>(1e6 * random.exponential()) + 1;
      (i % 2 ? odd : even).record(value);
      both.record(value);
    }
    odd.add(even);
    CHECK(odd.has_same_counts(both));
    CHECK(odd.total_count() == 50'000);
    CHECK(odd.min() == both.min());
    CHECK(odd.max() == both.max());
    CHECK(odd.mean() == Approx(both.mean()));
    CHECK(odd.value_at_percentile(99.9) == both.value_at_percentile(99.9));
  }
  SECTION("a narrower range of the same layout adds into a wider one") {
    HdrHistogram narrow(1, 1'000'000, 3), wide(1, kHourInNanoseconds, 3), expected(1, kHourInNanoseconds, 3);
    for (int i = 0; i < 5000; ++i) {
      const auto value = static_cast<std::int64_t>(random() % 1'000'000);
      narrow.record(value);
      expected.record(value);
    }
    wide.add(narrow);
    CHECK(wide.has_same_counts(expected));
    CHECK(wide.max() == expected.max());
    CHECK(wide.min() == expected.min());
  }
  SECTION("another layout is re-recorded bucket by bucket at each bucket's lowest value") {
    HdrHistogram coarse(20'000, kHourInNanoseconds, 2), fine(1, kHourInNanoseconds, 3), expected(1, kHourInNanoseconds, 3);
    for (int i = 0; i < 5000; ++i) coarse.record(spread_value(random));
    coarse.for_each_recorded_value([&](const RecordedValue& bucket) { expected.record(bucket.lowest, bucket.count); });
    fine.add(coarse);
    CHECK(fine.has_same_counts(expected));
    CHECK(fine.total_count() == coarse.total_count());
  }
  SECTION("a wider range is clamped into a narrower one, each clamped value counted once") {
    HdrHistogram wide(1, kHourInNanoseconds, 3), narrow(1, 1'000'000, 3);
    wide.record(500);
    wide.record(5'000'000, 2);
    narrow.record(kHourInNanoseconds * 2);  // clamped already
    HdrHistogram source(1, 10'000'000, 3);
    source.record(20'000'000);              // clamped at 10,000,000 in source, again in narrow
    narrow.add(wide);
    narrow.add(source);
    CHECK(narrow.total_count() == 5);
    CHECK(narrow.overflowed() == 4);
    CHECK(narrow.count_at_value(1'000'000) == 4);
    CHECK(narrow.max() == narrow.highest_equivalent(1'000'000));
  }
  SECTION("adding to itself doubles, and timestamps widen") {
    HdrHistogram first(1, kHourInNanoseconds, 3), second(1, kHourInNanoseconds, 3);
    first.record(42, 3);
    first.set_start_timestamp_ms(2000);
    first.set_end_timestamp_ms(3000);
    second.set_start_timestamp_ms(1000);
    second.set_end_timestamp_ms(2500);
    first.add(first);
    CHECK(first.total_count() == 6);
    CHECK(first.count_at_value(42) == 6);
    first.add(second);
    CHECK(first.start_timestamp_ms() == 1000);
    CHECK(first.end_timestamp_ms() == 3000);
    CHECK(first.total_count() == 6);
  }
}

TEST_CASE("values beyond the range are clamped and counted, never dropped") {
  HdrHistogram histogram(1, 1'000'000, 3);
  histogram.record(5'000'000);
  histogram.record(1'000'000);
  histogram.record(-3);
  histogram.record(7, 0);   // ignored
  histogram.record(7, -2);  // ignored
  CHECK(histogram.total_count() == 3);
  CHECK(histogram.overflowed() == 1);
  CHECK(histogram.underflowed() == 1);
  CHECK(histogram.count_at_value(1'000'000) == 2);
  CHECK(histogram.count_at_value(0) == 1);
  CHECK(histogram.count_at_value(7) == 0);
  CHECK(histogram.max() == histogram.highest_equivalent(1'000'000));
  CHECK(histogram.min() == 0);
  histogram.record(std::numeric_limits<std::int64_t>::max());
  histogram.record(std::numeric_limits<std::int64_t>::min());
  CHECK(histogram.overflowed() == 2);
  CHECK(histogram.underflowed() == 2);

  histogram.set_start_timestamp_ms(1);
  histogram.reset();
  CHECK(histogram.total_count() == 0);
  CHECK(histogram.overflowed() == 0);
  CHECK(histogram.underflowed() == 0);
  CHECK(histogram.start_timestamp_ms() == 0);
  CHECK(histogram.value_at_percentile(99) == 0);
  CHECK(histogram.max() == 0);
  histogram.record(10);
  CHECK(histogram.min() == 10);
  CHECK(histogram.max() == 10);
}

TEST_CASE("invalid configurations are refused with a reason") {
  CHECK_THROWS_AS(HdrHistogram(0, 10, 3), std::invalid_argument);
  CHECK_THROWS_AS(HdrHistogram(1, 10, 6), std::invalid_argument);
  CHECK_THROWS_AS(HdrHistogram(1, 10, 0), std::invalid_argument);
  CHECK_THROWS_AS(HdrHistogram(10, 19, 3), std::invalid_argument);
  CHECK_THROWS_AS(HdrHistogram(kInt64Max / 2 + 1, kInt64Max, 3), std::invalid_argument);
  CHECK_THROWS_AS(HdrHistogram(std::int64_t{1} << 50, kInt64Max, 5), std::invalid_argument);  // 50 + 17 bits do not fit
  CHECK(HdrHistogram::configuration_error(10, 19, 3).find("twice") != std::string::npos);
  CHECK(HdrHistogram::configuration_error(1, 2, 1).empty());
  CHECK(HdrHistogram::configuration_error(1, kInt64Max, 5).empty());
}

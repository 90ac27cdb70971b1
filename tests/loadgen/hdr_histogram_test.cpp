#include <catch2/catch.hpp>

#include "uptake/base/random.hpp"
#include "uptake/loadgen/hdr_histogram.hpp"

using namespace uptake;
using namespace uptake::loadgen;

TEST_CASE("the classic HdrHistogram case: 10,000 values of 1 ms and one of 100 s") {
  // As in HdrHistogram's own tests: values in microseconds, 1 µs to 1 hour, 3 digits.
  HdrHistogram histogram(1, 3'600'000'000LL, 3);
  for (int i = 0; i < 10'000; ++i) histogram.record(1000);
  histogram.record(100'000'000);
  CHECK(histogram.total_count() == 10'001);
  CHECK(histogram.value_at_percentile(30) == histogram.highest_equivalent(1000));
  CHECK(histogram.value_at_percentile(99) == histogram.highest_equivalent(1000));
  CHECK(histogram.value_at_percentile(99.99) == histogram.highest_equivalent(1000));
  CHECK(histogram.value_at_percentile(99.999) == histogram.highest_equivalent(100'000'000));
  CHECK(histogram.value_at_percentile(100) == histogram.highest_equivalent(100'000'000));
  CHECK(histogram.max() == histogram.highest_equivalent(100'000'000));
  CHECK(histogram.min() == 1000);
  // Mean: (10000 x 1000 + 1e8) / 10001, within the histogram's resolution (0.1%).
  CHECK(histogram.mean() == Approx((10'000.0 * 1000 + 1e8) / 10'001).epsilon(0.001));
}

TEST_CASE("equivalent ranges at 3 significant digits") {
  HdrHistogram histogram(1, 3'600'000'000LL, 3);
  // Below 2048 every value is its own bucket; above, ranges double with each power of two.
  CHECK(histogram.size_of_equivalent_range(1) == 1);
  CHECK(histogram.size_of_equivalent_range(2047) == 1);
  CHECK(histogram.size_of_equivalent_range(2500) == 2);
  CHECK(histogram.size_of_equivalent_range(8191) == 4);
  CHECK(histogram.size_of_equivalent_range(10'007) == 8);
  CHECK(histogram.lowest_equivalent(10'007) == 10'000);
  CHECK(histogram.highest_equivalent(10'007) == 10'007);
  CHECK(histogram.lowest_equivalent(10'009) == 10'008);
  // Relative error below 0.1% everywhere.
  for (std::int64_t v : {3000LL, 123'456LL, 98'765'432LL, 3'599'999'999LL}) {
    CHECK(static_cast<double>(histogram.size_of_equivalent_range(v)) / static_cast<double>(v) < 0.001);
  }
}

TEST_CASE("merging equals recording into one histogram") {
  HdrHistogram a(1, 3'600'000'000'000LL, 3), b(1, 3'600'000'000'000LL, 3), both(1, 3'600'000'000'000LL, 3);
  Random random(5);
  for (int i = 0; i < 50'000; ++i) {
    const auto value = static_cast<std::int64_t>(1e6 * random.exponential()) + 1;
    (i % 2 ? a : b).record(value);
    both.record(value);
  }
  a.add(b);
  CHECK(a.counts() == both.counts());
  CHECK(a.total_count() == both.total_count());
  CHECK(a.max() == both.max());
  CHECK(a.min() == both.min());
  // A histogram of another layout is merged value by value.
  HdrHistogram coarse(1000, 3'600'000'000'000LL, 2);
  coarse.record(5'000'000, 3);
  a.add(coarse);
  CHECK(a.total_count() == both.total_count() + 3);
}

TEST_CASE("values beyond the range are clamped and counted") {
  HdrHistogram histogram(1, 1'000'000, 3);
  histogram.record(5'000'000);
  histogram.record(-3);
  CHECK(histogram.total_count() == 2);
  CHECK(histogram.overflowed() == 1);
  CHECK(histogram.max() == histogram.highest_equivalent(1'000'000));
  CHECK(histogram.min() == 0);
  histogram.reset();
  CHECK(histogram.total_count() == 0);
  CHECK(histogram.value_at_percentile(99) == 0);
  CHECK_THROWS(HdrHistogram(0, 10, 3));
  CHECK_THROWS(HdrHistogram(1, 10, 6));
}

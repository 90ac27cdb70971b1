// The SLO module: every metric's value from plain figures, and the early verdicts of
// --abort-on-fail, which may only be drawn when no later answer could change them.
#include <catch2/catch.hpp>

#include "uptake/loadgen/run_result.hpp"
#include "uptake/loadgen/slo.hpp"

using namespace uptake;

namespace {

sim::Threshold threshold(const char* text) { return sim::parse_threshold_or_throw(text, {}, "test"); }

}  // namespace

TEST_CASE("observed values: one definition for run, gate, merge and capacity") {
  auto histogram = loadgen::make_latency_histogram();
  for (int ms = 1; ms <= 100; ++ms) histogram.record(ms * 1'000'000LL);
  const loadgen::SeriesFigures figures{{200, 0, 100, 95, 5}, 50.0, &histogram, 100};
  CHECK(*loadgen::observed_value(threshold("p99<1s"), figures) == Approx(0.099).epsilon(0.001));
  CHECK(*loadgen::observed_value(threshold("max<1s"), figures) == Approx(0.100).epsilon(0.001));
  CHECK(*loadgen::observed_value(threshold("mean<1s"), figures) == Approx(0.0505).epsilon(0.001));
  CHECK(*loadgen::observed_value(threshold("error_rate<1%"), figures) == Approx(0.05));
  CHECK(*loadgen::observed_value(threshold("achieved_ratio>0.9"), figures) == Approx(0.5));
  CHECK(*loadgen::observed_value(threshold("rps>=10"), figures) == Approx(50));
  const loadgen::SeriesFigures nothing{{10, 0, 0, 0, 10}, 0.0, nullptr};
  CHECK_FALSE(loadgen::observed_value(threshold("p99<1s"), nothing));
}

TEST_CASE("cannot_pass: decided only when the rest of the run cannot change the verdict") {
  auto histogram = loadgen::make_latency_histogram();
  // 20 responses, 3 of them over 100 ms.
  for (int i = 0; i < 17; ++i) histogram.record(10'000'000);
  for (int i = 0; i < 3; ++i) histogram.record(500'000'000);
  const loadgen::SeriesFigures so_far{{20, 0, 20, 20, 0}, 0.0, &histogram};
  // p99 of 1,000 planned allows 10 slow responses; of 200, only 2.
  CHECK_FALSE(loadgen::cannot_pass(threshold("p99<100ms"), so_far, 1000));
  REQUIRE(loadgen::cannot_pass(threshold("p99<100ms"), so_far, 200));
  CHECK_THAT(*loadgen::cannot_pass(threshold("p99<100ms"), so_far, 200), Catch::Contains("3 responses"));
  // The bound itself: 500 ms responses are not beyond p99<=500ms.
  CHECK_FALSE(loadgen::cannot_pass(threshold("p99<=500ms"), so_far, 200));
  CHECK(loadgen::cannot_pass(threshold("max<1s"), so_far, 1000) == std::nullopt);
  CHECK(loadgen::cannot_pass(threshold("max<100ms"), so_far, 1000));
  // mean: 3 x 500 ms + 17 x 10 ms = 1.67 s; over 1,000 requests at least 1.67 ms, over 10 at least 167 ms.
  CHECK_FALSE(loadgen::cannot_pass(threshold("mean<50ms"), so_far, 1000));
  CHECK(loadgen::cannot_pass(threshold("mean<50ms"), so_far, 20));
  // error_rate: 6 failures of 100 planned are at least 6%.
  const loadgen::SeriesFigures failing{{30, 0, 24, 24, 6}, 0.0, &histogram};
  CHECK(loadgen::cannot_pass(threshold("error_rate<5%"), failing, 100));
  CHECK_FALSE(loadgen::cannot_pass(threshold("error_rate<10%"), failing, 100));
  // achieved_ratio: 6 of 100 unanswered leave at most 0.94.
  CHECK(loadgen::cannot_pass(threshold("achieved_ratio>0.95"), failing, 100));
  CHECK_FALSE(loadgen::cannot_pass(threshold("achieved_ratio>0.9"), failing, 100));
  // Never decided early: throughput, and bounds from below on latency.
  CHECK_FALSE(loadgen::cannot_pass(threshold("rps>=1000000"), failing, 100));
  CHECK_FALSE(loadgen::cannot_pass(threshold("p50>1s"), so_far, 20));
}

#include <catch2/catch.hpp>

#include "uptake/sim/threshold.hpp"

using namespace uptake::sim;

namespace {
Threshold parse(const char* text) {
  std::string problem;
  auto threshold = parse_threshold(text, problem);
  INFO(problem);
  REQUIRE(threshold);
  return *threshold;
}
std::string problem_of(const char* text) {
  std::string problem;
  REQUIRE_FALSE(parse_threshold(text, problem));
  return problem;
}
}  // namespace

TEST_CASE("latency percentiles with units") {
  const auto p99 = parse("p99<300ms");
  CHECK(p99.metric == ThresholdMetric::latency_percentile);
  CHECK(p99.percentile == Approx(99));
  CHECK(p99.bound == Approx(0.3));
  CHECK(p99.endpoint.empty());
  CHECK(p99.holds(0.299));
  CHECK_FALSE(p99.holds(0.3));

  const auto verify = parse("verify.p999<=1s");
  CHECK(verify.endpoint == "verify");
  CHECK(verify.percentile == Approx(99.9));
  CHECK(verify.metric_name == "p999");
  CHECK(verify.comparison == Comparison::less_equal);
  CHECK(verify.holds(1.0));

  CHECK(parse("p99.5<2s").percentile == Approx(99.5));
  CHECK(parse("p9999<2s").percentile == Approx(99.99));
  CHECK(parse("p50<10ms").percentile == Approx(50));
  CHECK(parse("mean<50ms").metric == ThresholdMetric::latency_mean);
  CHECK(parse("max<2s").metric == ThresholdMetric::latency_max);
}

TEST_CASE("rates and ratios") {
  const auto errors = parse("error_rate<0.1%");
  CHECK(errors.metric == ThresholdMetric::error_rate);
  CHECK(errors.bound == Approx(0.001));
  CHECK(parse("error_rate<0.02").bound == Approx(0.02));
  const auto ratio = parse("achieved_ratio>0.99");
  CHECK(ratio.comparison == Comparison::greater);
  CHECK(ratio.holds(0.995));
  CHECK_FALSE(ratio.holds(0.99));
  CHECK(parse("issue.rps>=500").bound == Approx(500));
}

TEST_CASE("bad expressions say what is expected") {
  CHECK_THAT(problem_of("p99 300ms"), Catch::Contains("no comparison"));
  CHECK_THAT(problem_of("p99<300"), Catch::Contains("not a duration"));
  CHECK_THAT(problem_of("latency<1s"), Catch::Contains("unknown metric 'latency'"));
  CHECK_THAT(problem_of("error_rate<lots"), Catch::Contains("not a non-negative number"));
  CHECK_THAT(problem_of("rps>5%"), Catch::Contains("not a percentage"));
  CHECK_THAT(problem_of("p99<"), Catch::Contains("incomplete"));
  CHECK_THAT(problem_of(".p99<1s"), Catch::Contains("empty endpoint"));
}

#include <catch2/catch.hpp>

#include <cmath>

#include "uptake/base/duration_distribution.hpp"

using namespace uptake;

TEST_CASE("duration distributions are read from text, strictly") {
  std::string problem;
  const auto bare = DurationDistribution::parse("3s", problem, true);
  REQUIRE(bare);
  CHECK(bare->kind == DurationDistribution::Kind::constant);
  CHECK(bare->mean_seconds == 3.0);
  CHECK_FALSE(DurationDistribution::parse("3s", problem));  // a bare duration only where allowed
  CHECK(DurationDistribution::parse("const:0s", problem));  // no pause at all
  CHECK_FALSE(DurationDistribution::parse("exp:0s", problem));
  CHECK_FALSE(DurationDistribution::parse("exp:2h", problem));
  CHECK_THAT(problem, Catch::Contains("at most 1h"));
  CHECK_FALSE(DurationDistribution::parse("2h", problem, true));
  CHECK_FALSE(DurationDistribution::parse("soon", problem, true));
  CHECK_THAT(problem, Catch::Contains("'soon'"));
}

TEST_CASE("draws have the distribution's mean and spread") {
  // Seeded: 40,000 draws put the sample mean within a few standard errors of the truth.
  std::string problem;
  for (const auto* text : {"exp:2s", "lognormal:3s,2s", "const:1.5s"}) {
    const auto distribution = DurationDistribution::parse(text, problem);
    REQUIRE(distribution);
    Random random(7);
    constexpr int kDraws = 40'000;
    double sum = 0, sum_squares = 0;
    for (int i = 0; i < kDraws; ++i) {
      const double seconds = std::chrono::duration<double>(distribution->draw(random)).count();
      REQUIRE(seconds >= 0);
      sum += seconds;
      sum_squares += seconds * seconds;
    }
    const double mean = sum / kDraws;
    const double sd = std::sqrt(sum_squares / kDraws - mean * mean);
    const double expected_sd = distribution->kind == DurationDistribution::Kind::exponential ? distribution->mean_seconds : distribution->sd_seconds;
    INFO(text << ": mean " << mean << ", sd " << sd);
    CHECK(mean == Approx(distribution->mean_seconds).epsilon(0.03));
    CHECK(sd == Approx(expected_sd).margin(0.1));
  }
}

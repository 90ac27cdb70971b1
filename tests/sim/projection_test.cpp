#include "uptake/sim/projection.hpp"

#include <catch2/catch.hpp>

#include <cmath>

#include "uptake/base/random.hpp"
#include "uptake/sim/forecast.hpp"
#include "uptake/sim/scenario_loader.hpp"

using uptake::sim::CurveConstraints;
using uptake::sim::GrowthModelKind;
using uptake::sim::Observation;
using uptake::sim::ParameterRange;

namespace {

const std::vector<Observation> kElectronicCertificates = {{2020.5, 569630}, {2021.5, 2125966}, {2022.5, 8099791}};

std::vector<Observation> logistic_history(double market, double rate, double midpoint, int first, int last, double noise,
                                          std::uint64_t seed) {
  uptake::Random random(seed);
  std::vector<Observation> points;
  for (int year = first; year <= last; ++year) {
    const double t = year + 0.5;
    points.push_back({t, market / (1 + std::exp(-rate * (t - midpoint))) * std::exp(noise * random.normal())});
  }
  return points;
}

double log_width(const uptake::sim::YearProjection& year) { return std::log(*year.upper / *year.lower); }

}  // namespace

TEST_CASE("a range spreads on the log scale, triangular around a likely value", "[projection]") {
  const ParameterRange uniform{50e6, 200e6, std::nullopt};
  CHECK(uptake::sim::range_quantile(uniform, 0, true) == Approx(50e6));
  CHECK(uptake::sim::range_quantile(uniform, 1, true) == Approx(200e6));
  CHECK(uptake::sim::range_quantile(uniform, 0.5, true) == Approx(100e6));  // the geometric middle
  CHECK(uptake::sim::range_centre(uniform, true) == Approx(100e6));
  const ParameterRange peaked{50e6, 200e6, 80e6};
  CHECK(uptake::sim::range_centre(peaked, true) == 80e6);
  // The likely value's share of the log width is the probability below it.
  const double below = std::log(80.0 / 50.0) / std::log(4.0);
  CHECK(uptake::sim::range_quantile(peaked, below, true) == Approx(80e6));
  const ParameterRange linear{-1, 3, std::nullopt};
  CHECK(uptake::sim::range_quantile(linear, 0.25, false) == Approx(0));
}

TEST_CASE("a market size the history contradicts is called out, with the K the data support", "[projection][assumption]") {
  // ecert accelerates (x3.73, then x3.81): no logistic curve below a few hundred million fits it.
  const auto evidence = uptake::sim::check_market_size(GrowthModelKind::logistic, kElectronicCertificates,
                                                       {.market_size = 80e6, .launch = 2020.0}, std::nullopt);
  REQUIRE(evidence.has_value());
  CHECK(evidence->contradicted);
  CHECK(2 * std::log(evidence->likelihood_ratio) > 2.706);
  CHECK(evidence->supported_low > 300e6);
  CHECK(evidence->supported_low < 450e6);
  CHECK_FALSE(evidence->supported_high.has_value());
  CHECK_THAT(uptake::sim::describe(*evidence), Catch::Contains("contradicts the market size of 80 million") &&
                                                   Catch::Contains("or more (no saturation shows in it)"));

  SECTION("a range that reaches the supported values is not contradicted") {
    const ParameterRange wide{50e6, 1e9, std::nullopt};
    const auto agreed = uptake::sim::check_market_size(GrowthModelKind::logistic, kElectronicCertificates,
                                                       {.market_size = 2.2e8, .launch = 2020.0}, wide);
    REQUIRE(agreed.has_value());
    CHECK_FALSE(agreed->contradicted);
    CHECK(uptake::sim::describe(*agreed).empty());
  }
  SECTION("the true market size of a saturating history is supported") {
    // Eight years up to the inflection and a little past it: 0.08 to 0.8 of K.
    const auto history = logistic_history(4.5e6, 0.9, 2016.0, 2010, 2017, 0.03, 4);
    const auto truth = uptake::sim::check_market_size(GrowthModelKind::logistic, history, {.market_size = 4.5e6, .launch = 2010.0},
                                                      std::nullopt);
    REQUIRE(truth.has_value());
    CHECK_FALSE(truth->contradicted);
    REQUIRE(truth->supported_high.has_value());
    CHECK(truth->supported_low < 4.5e6);
    CHECK(*truth->supported_high > 4.5e6);
    const auto wrong = uptake::sim::check_market_size(GrowthModelKind::logistic, history, {.market_size = 20e6, .launch = 2010.0},
                                                      std::nullopt);
    CHECK(wrong->contradicted);
  }
  SECTION("no K held, no evidence") {
    CHECK_FALSE(uptake::sim::check_market_size(GrowthModelKind::logistic, kElectronicCertificates, {.launch = 2020.0}, std::nullopt));
    CHECK_FALSE(uptake::sim::check_market_size(GrowthModelKind::exponential, kElectronicCertificates, {.market_size = 80e6},
                                               std::nullopt));
  }
}

TEST_CASE("a market size range widens the interval", "[projection][assumption]") {
  const auto fit = uptake::sim::fit_growth(GrowthModelKind::logistic, kElectronicCertificates, {.market_size = 80e6, .launch = 2020.0});
  const uptake::sim::ModelChoice alone{fit, {fit}, {1.0}, {}};
  const auto fixed = uptake::sim::project_series(alone, kElectronicCertificates, {}, 2023, 2027, 0.9, 400, 3);
  const auto ranged = uptake::sim::project_series(alone, kElectronicCertificates, {{"K", {50e6, 200e6, 80e6}}}, 2023, 2027, 0.9, 400, 3);
  REQUIRE(ranged.draws.size() == 400);
  for (std::size_t y = 0; y < fixed.years.size(); ++y) {
    INFO("year " << fixed.years[y].year);
    CHECK(ranged.years[y].volume == fixed.years[y].volume);  // the point stays the likely value's
    // Early on the noise dominates and K hardly matters; from 2025 the curve nears K.
    if (fixed.years[y].year >= 2025) CHECK(*ranged.years[y].upper > *fixed.years[y].upper);
  }
  // Saturation is where K matters: by 2027 the upper end follows the range's, well past 80 million.
  CHECK(*ranged.years.back().upper > 1.4 * *fixed.years.back().upper);
  CHECK(log_width(ranged.years.back()) > 1.5 * log_width(fixed.years.back()));
}

TEST_CASE("curves the data cannot rank are averaged, and widen the interval", "[projection][averaging]") {
  // Five points of a logistic history flattening at 4.5 million: too few for the saturating
  // curves' AICc, so no curve may win by default.
  const auto history = logistic_history(4.5e6, 0.9, 2016.0, 2014, 2018, 0.02, 9);
  const auto choice = uptake::sim::choose_growth_model(GrowthModelKind::automatic, history, {.launch = 2013.0});
  CAPTURE(choice.reason);
  CHECK_THAT(choice.reason, Catch::Contains("too few to rank the models by AICc") && Catch::Contains("equal weights"));
  int weighted = 0;
  for (double weight : choice.weights) weighted += weight > 0;
  CHECK(weighted >= 2);
  for (double weight : choice.weights) {
    if (weight > 0) CHECK(weight == Approx(1.0 / weighted));
  }
  const auto averaged = uptake::sim::project_series(choice, history, {}, 2019, 2021, 0.9, 800, 5);
  std::size_t exponential = 0;
  while (choice.candidates[exponential].kind != GrowthModelKind::exponential) ++exponential;
  const auto alone = uptake::sim::project_growth(choice.candidates[exponential], history, 2019, 2021, 0.9, 800, 5);
  const double truth_2021 = 4.5e6 / (1 + std::exp(-0.9 * (2021.5 - 2016.0)));
  // The exponential alone runs away from a flattening history; the average keeps the truth.
  CHECK(*alone.back().lower > truth_2021);
  CHECK(*averaged.years.back().lower < truth_2021);
  CHECK(*averaged.years.back().upper > truth_2021);
}

TEST_CASE("a history with as many free parameters as points has no interval, and says why", "[projection]") {
  const auto fit = uptake::sim::fit_growth(GrowthModelKind::logistic, kElectronicCertificates, {.launch = 2020.0});
  const auto projection = uptake::sim::project_series({fit, {fit}, {1.0}, {}}, kElectronicCertificates, {}, 2023, 2025, 0.9, 200, 1);
  CHECK_FALSE(projection.years.front().lower.has_value());
  CHECK(projection.draws.empty());
  CHECK_THAT(projection.interval_note, Catch::Contains("3 observations for the 3 free parameters") &&
                                           Catch::Contains("no residual degree of freedom"));
}

TEST_CASE("a backtest refits every earlier cut and scores the years held back", "[projection][backtest]") {
  uptake::sim::Growth growth;
  growth.interval_level = 0.9;
  growth.bootstrap_samples = 400;

  SECTION("an exact exponential history is foreseen exactly from three points on") {
    uptake::sim::Series series;
    series.name = "exact";
    series.model = GrowthModelKind::exponential;
    for (int year = 2015; year <= 2020; ++year) series.yearly[year] = 1e6 * std::pow(1.4, year - 2015);
    const auto backtest = uptake::sim::backtest_series(series, growth, 1);
    REQUIRE(backtest.cuts.size() == 4);  // keeping 2, 3, 4 and 5 of the 6 years
    CHECK(backtest.cuts[0].observations == 2);
    CHECK_THAT(backtest.cuts[0].interval_note, Catch::Contains("no residual degree of freedom"));
    CHECK(backtest.cuts[0].points.size() == 4);
    for (const auto& cut : backtest.cuts) {
      for (const auto& point : cut.points) {
        INFO(cut.observations << " points, projecting " << point.time);
        CHECK(point.projected == Approx(point.actual).epsilon(1e-6));
      }
    }
    CHECK(backtest.with_interval == 3 + 2 + 1);
  }
  SECTION("an exponential fitted to a flattening history overshoots, more the further it reaches") {
    uptake::sim::Series series;
    series.name = "flattening";
    series.model = GrowthModelKind::exponential;
    for (int year = 2013; year <= 2020; ++year) series.yearly[year] = 4.5e6 / (1 + std::exp(-0.9 * (year + 0.5 - 2016.0)));
    const auto backtest = uptake::sim::backtest_series(series, growth, 1);
    const auto& three = backtest.cuts[1];  // 2013-2015: still nearly exponential
    REQUIRE(three.observations == 3);
    double previous = 0;
    for (const auto& point : three.points) {
      const double error = point.projected / point.actual - 1;
      CHECK(error > previous);
      previous = error;
    }
    CHECK(previous > 1.0);  // 2020 projected at more than twice its volume
    CHECK(backtest.held < backtest.with_interval / 2);
  }
}

TEST_CASE("the forecast of ecert-korea warns that its history contradicts the market size range", "[projection][assumption]") {
  const auto scenario = uptake::sim::load_scenario("scenarios/ecert-korea.yaml");
  const auto forecast = uptake::sim::make_forecast(scenario);
  REQUIRE(forecast.warnings.size() == 1);
  CHECK_THAT(forecast.warnings[0], Catch::StartsWith("history.series.ecert.market_size: the history contradicts the market size "
                                                     "range 50 million to 200 million"));
  // The range reaches the projection: 2027's upper end lies far above its point (153 against 79 million).
  const auto& series = forecast.series.front();
  REQUIRE_FALSE(series.draws.empty());
  CHECK(series.projection.back().upper.value() > 1.5 * series.projection.back().volume);
}

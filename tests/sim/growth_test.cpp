#include "uptake/sim/growth.hpp"
#include "uptake/sim/projection.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numbers>

#include "uptake/base/input_error.hpp"
#include "uptake/base/random.hpp"

using uptake::InputError;
using uptake::sim::CurveConstraints;
using uptake::sim::GrowthFit;
using uptake::sim::GrowthModelKind;
using uptake::sim::Observation;

namespace {

using Curve = std::function<double(double)>;

double exponential_curve(double a, double b, double reference_time, double t) { return a * std::exp(b * (t - reference_time)); }
double logistic_curve(double market, double rate, double midpoint, double t) {
  return market / (1 + std::exp(-rate * (t - midpoint)));
}
double gompertz_curve(double market, double rate, double midpoint, double t) {
  return market * std::exp(-std::exp(-rate * (t - midpoint)));
}
// The adoptions per year of a Bass diffusion: what a yearly (flow) series of adopters measures.
double bass_curve(double market, double p, double q, double launch, double t) {
  return market * uptake::sim::bass_density(p, q, t - launch);
}

// Yearly observations at mid-year from first_year to last_year, each multiplied by
// exp(noise * z) with z standard normal, drawn from a seeded stream (noise 0: exact values).
std::vector<Observation> observe(const Curve& curve, int first_year, int last_year, double noise = 0,
                                 std::uint64_t seed = 7) {
  uptake::Random random(seed);
  std::vector<Observation> observations;
  for (int year = first_year; year <= last_year; ++year) {
    // Box-Muller: a normal draw from two uniform ones.
    const double normal = std::sqrt(-2 * std::log(random.uniform_open_zero())) *
                          std::cos(2 * std::numbers::pi * random.uniform());
    const double time = year + 0.5;
    observations.push_back({time, curve(time) * std::exp(noise * normal)});
  }
  return observations;
}

double relative_error(double actual, double expected) { return std::abs(actual - expected) / std::abs(expected); }

const std::vector<Observation> kElectronicCertificates = {{2020.5, 569630}, {2021.5, 2125966}, {2022.5, 8099791}};

}  // namespace

TEST_CASE("exponential fit recovers a and b", "[growth]") {
  const auto curve = [](double t) { return exponential_curve(2e5, 0.45, 2012.5, t); };

  SECTION("exact data") {
    const auto fit = uptake::sim::fit_growth(GrowthModelKind::exponential, observe(curve, 2012, 2023), {});
    CHECK(fit.converged);
    CHECK(fit.free_parameters == 2);
    CHECK(fit.observations == 12);
    CHECK(fit.reference_time == Approx(2012.5));
    CHECK(relative_error(fit.parameter("a"), 2e5) < 1e-8);
    CHECK(std::abs(fit.parameter("b") - 0.45) < 1e-9);
    CHECK(fit.log_rmse < 1e-9);
    CHECK(fit.r_squared == Approx(1.0).margin(1e-12));
  }
  SECTION("with 1% multiplicative noise") {
    const auto fit = uptake::sim::fit_growth(GrowthModelKind::exponential, observe(curve, 2012, 2023, 0.01), {});
    CHECK(fit.converged);
    CHECK(relative_error(fit.parameter("a"), 2e5) < 0.02);
    CHECK(std::abs(fit.parameter("b") - 0.45) < 0.005);
    CHECK(fit.log_rmse > 0.003);
    CHECK(fit.log_rmse < 0.02);
    CHECK(fit.mape < 0.02);
  }
}

TEST_CASE("logistic fit recovers K, r and t0", "[growth]") {
  const auto curve = [](double t) { return logistic_curve(5e7, 0.9, 2019.0, t); };

  SECTION("exact data") {
    const auto fit = uptake::sim::fit_growth(GrowthModelKind::logistic, observe(curve, 2012, 2027), {});
    CHECK(fit.converged);
    CHECK(fit.free_parameters == 3);
    CHECK(relative_error(fit.parameter("K"), 5e7) < 1e-6);
    CHECK(relative_error(fit.parameter("r"), 0.9) < 1e-6);
    CHECK(std::abs(fit.parameter("t0") - 2019.0) < 1e-6);
  }
  SECTION("with 1% multiplicative noise") {
    // Up to 2023 the curve is at 98% of K; later years would put noisy points above K, where the
    // fit cannot follow them (it keeps K above the largest observation).
    const auto fit = uptake::sim::fit_growth(GrowthModelKind::logistic, observe(curve, 2012, 2023, 0.01), {});
    CHECK(fit.converged);
    CHECK(relative_error(fit.parameter("K"), 5e7) < 0.02);
    CHECK(relative_error(fit.parameter("r"), 0.9) < 0.01);
    CHECK(std::abs(fit.parameter("t0") - 2019.0) < 0.05);
  }
  SECTION("with the market size given, K is fixed and not a free parameter") {
    const auto fit = uptake::sim::fit_growth(GrowthModelKind::logistic, observe(curve, 2012, 2020, 0.01), {.market_size = 5e7});
    CHECK(fit.converged);
    CHECK(fit.free_parameters == 2);
    CHECK(fit.parameter("K") == 5e7);
    CHECK(relative_error(fit.parameter("r"), 0.9) < 0.01);
    CHECK(std::abs(fit.parameter("t0") - 2019.0) < 0.03);
  }
}

TEST_CASE("gompertz fit recovers K, r and t0", "[growth]") {
  const auto curve = [](double t) { return gompertz_curve(3e7, 0.6, 2018.0, t); };

  SECTION("exact data") {
    const auto fit = uptake::sim::fit_growth(GrowthModelKind::gompertz, observe(curve, 2012, 2027), {});
    CHECK(fit.converged);
    CHECK(relative_error(fit.parameter("K"), 3e7) < 1e-6);
    CHECK(relative_error(fit.parameter("r"), 0.6) < 1e-6);
    CHECK(std::abs(fit.parameter("t0") - 2018.0) < 1e-6);
  }
  SECTION("with 1% multiplicative noise") {
    const auto fit = uptake::sim::fit_growth(GrowthModelKind::gompertz, observe(curve, 2012, 2024, 0.01), {});
    CHECK(fit.converged);
    CHECK(relative_error(fit.parameter("K"), 3e7) < 0.015);
    CHECK(relative_error(fit.parameter("r"), 0.6) < 0.005);
    CHECK(std::abs(fit.parameter("t0") - 2018.0) < 0.02);
  }
}

TEST_CASE("bass fit recovers K, p and q", "[growth]") {
  const double launch = 2010.0;
  const auto curve = [launch](double t) { return bass_curve(4e7, 0.02, 0.45, launch, t); };

  SECTION("exact data") {
    const auto fit = uptake::sim::fit_growth(GrowthModelKind::bass, observe(curve, 2010, 2025), {.launch = launch});
    CHECK(fit.converged);
    CHECK(fit.launch == launch);
    CHECK(fit.free_parameters == 3);
    CHECK(relative_error(fit.parameter("K"), 4e7) < 1e-6);
    CHECK(relative_error(fit.parameter("p"), 0.02) < 1e-6);
    CHECK(relative_error(fit.parameter("q"), 0.45) < 1e-6);
  }
  SECTION("with 1% multiplicative noise") {
    const auto fit = uptake::sim::fit_growth(GrowthModelKind::bass, observe(curve, 2010, 2025, 0.01), {.launch = launch});
    CHECK(fit.converged);
    CHECK(relative_error(fit.parameter("K"), 4e7) < 0.015);
    CHECK(relative_error(fit.parameter("p"), 0.02) < 0.025);
    CHECK(relative_error(fit.parameter("q"), 0.45) < 0.02);
  }
  SECTION("with the market size given") {
    const auto fit = uptake::sim::fit_growth(GrowthModelKind::bass, observe(curve, 2010, 2018, 0.01), {.market_size = 4e7, .launch = launch});
    CHECK(fit.converged);
    CHECK(fit.free_parameters == 2);
    CHECK(fit.parameter("K") == 4e7);
    CHECK(relative_error(fit.parameter("p"), 0.02) < 0.02);
    CHECK(relative_error(fit.parameter("q"), 0.45) < 0.02);
  }
}

TEST_CASE("a fit predicts with the documented formulas", "[growth]") {
  GrowthFit fit;
  fit.kind = GrowthModelKind::logistic;
  fit.parameters = {{"K", 100}, {"r", 1.0}, {"t0", 2020.0}};
  CHECK(fit.predict(2020.0) == Approx(50));
  CHECK(fit.predict(2022.0) == Approx(100 / (1 + std::exp(-2.0))));
  CHECK(fit.yearly_volume(2020) == Approx(100 / (1 + std::exp(-0.5))));
  CHECK_THROWS_AS(fit.parameter("q"), std::out_of_range);

  fit.kind = GrowthModelKind::bass;
  fit.parameters = {{"K", 100}, {"p", 0.03}, {"q", 0.4}};
  fit.launch = 2019.0;
  CHECK(fit.predict(2018.0) == 0);
  CHECK(fit.predict(2021.0) == Approx(100 * uptake::sim::bass_density(0.03, 0.4, 2.0)));
  // A stock: the adopters so far, and each year's volume what the year adds to them.
  fit.constraints.cumulative = true;
  CHECK(fit.predict(2021.0) == Approx(100 * uptake::sim::bass_fraction(0.03, 0.4, 2.0)));
  CHECK(fit.yearly_volume(2021) ==
        Approx(100 * (uptake::sim::bass_fraction(0.03, 0.4, 3.0) - uptake::sim::bass_fraction(0.03, 0.4, 2.0))));
}

TEST_CASE("a cumulative series: Bass on the stock, demand from what each year adds", "[growth][bass][stock]") {
  // Holders at each year's end from a Bass diffusion of 40 million.
  uptake::sim::Series series;
  series.name = "holders";
  series.cumulative = true;
  for (int year = 2016; year <= 2024; ++year) series.yearly[year] = 4e7 * uptake::sim::bass_fraction(0.02, 0.45, year + 1.0 - 2015.0);
  series.launch = 2015.0;
  const auto observations = uptake::sim::observations_of(series);
  CHECK(observations.front().time == 2017.0);  // a stock is counted at its year's end
  const auto fit = uptake::sim::fit_growth(GrowthModelKind::bass, observations, uptake::sim::constraints_of(series));
  CHECK(relative_error(fit.parameter("K"), 4e7) < 1e-4);
  CHECK(relative_error(fit.parameter("q"), 0.45) < 1e-4);
  CHECK(series.measured_volume(2020) == Approx(series.yearly.at(2020) - series.yearly.at(2019)));
  CHECK_FALSE(series.measured_volume(2016).has_value());  // no count at the end of 2015
  CHECK(fit.yearly_volume(2030) == Approx(fit.predict(2031.0) - fit.predict(2030.0)));
  // The yearly additions rise and fall; the stock only rises.
  CHECK(fit.yearly_volume(2040) < fit.yearly_volume(2022));
  CHECK(fit.predict(2041.0) > fit.predict(2023.0));
  const auto projection = uptake::sim::project_growth(fit, observations, 2025, 2027, 0.9, 200, 1);
  CHECK(projection.front().volume == Approx(fit.yearly_volume(2025)));
}

TEST_CASE("bass closed form agrees with its discrete recursion", "[growth][bass]") {
  const double step = 1e-4;
  for (const auto& [p, q] : std::vector<std::pair<double, double>>{
           {0.01, 0.3}, {0.03, 0.38}, {0.002, 0.9}, {0.1, 0.1}, {0.05, 0.0}, {0.005, 1.5}}) {
    for (double years : {0.5, 2.0, 5.0, 10.0, 25.0}) {
      const int steps = static_cast<int>(std::lround(years / step));
      CAPTURE(p, q, years);
      CHECK(std::abs(uptake::sim::bass_fraction(p, q, years) - uptake::sim::bass_fraction_by_recursion(p, q, step, steps)) < 1e-3);
    }
  }
  CHECK(uptake::sim::bass_fraction(0.03, 0.38, 0) == 0);
  CHECK(uptake::sim::bass_fraction(0.03, 0.38, -1) == 0);
  CHECK(uptake::sim::bass_fraction(0.03, 0.38, 60) == Approx(1).margin(1e-9));
  // Early on, adoption is innovation alone: F(s) ~ p s.
  CHECK(uptake::sim::bass_fraction(0.03, 0.38, 1e-6) == Approx(0.03e-6).epsilon(1e-5));
}

TEST_CASE("the Korean mobile e-certificate history reproduces its published growth", "[growth][ecert]") {
  // Published: 8,099,791 in 2022 against 2,125,966 in 2021, +281%.
  const double published_growth = 8099791.0 / 2125966.0 - 1;
  REQUIRE(published_growth == Approx(2.81).margin(0.005));

  SECTION("exponential") {
    const auto fit = uptake::sim::fit_growth(GrowthModelKind::exponential, kElectronicCertificates, {.launch = 2020.0});
    const double fitted_growth = fit.yearly_volume(2022) / fit.yearly_volume(2021) - 1;
    CAPTURE(fitted_growth);
    CHECK(std::abs(fitted_growth - 2.81) < 0.05);
    CHECK(fit.mape < 0.01);
    CHECK_FALSE(fit.aicc.has_value());  // 3 observations, 3 parameters with the variance
  }
  SECTION("automatic choice") {
    const auto choice = uptake::sim::choose_growth_model(GrowthModelKind::automatic, kElectronicCertificates, {.launch = 2020.0});
    const double fitted_growth = choice.chosen.yearly_volume(2022) / choice.chosen.yearly_volume(2021) - 1;
    CAPTURE(fitted_growth, choice.reason);
    CHECK(std::abs(fitted_growth - 2.81) < 0.05);
    CHECK(choice.chosen.kind == GrowthModelKind::exponential);
    CHECK(choice.candidates.size() == 4);
    CHECK(choice.weights[0] == 1.0);
    CHECK_THAT(choice.reason, Catch::StartsWith("exponential, the only model with a residual degree of freedom") &&
                                  Catch::Contains("no residual degree of freedom and are left out (a stated market_size"));
  }
}

TEST_CASE("AICc picks the model that generated the data", "[growth][aicc]") {
  SECTION("clearly saturating logistic data") {
    const auto curve = [](double t) { return logistic_curve(2e7, 1.1, 2018.0, t); };
    const auto observations = observe(curve, 2014, 2023, 0.02, 11);
    const auto choice = uptake::sim::choose_growth_model(GrowthModelKind::automatic, observations, {.launch = 2013.0});
    CAPTURE(choice.reason);
    CHECK(choice.chosen.kind == GrowthModelKind::logistic);
    CHECK(choice.weights[1] > 0.9);
    CHECK_THAT(choice.reason, Catch::StartsWith("weights by AICc: logistic"));
  }
  SECTION("exponential data") {
    const auto curve = [](double t) { return exponential_curve(1e5, 0.35, 2014.5, t); };
    const auto observations = observe(curve, 2014, 2023, 0.03, 5);
    const auto choice = uptake::sim::choose_growth_model(GrowthModelKind::automatic, observations, {.launch = 2013.0});
    CAPTURE(choice.reason);
    CHECK(choice.chosen.kind == GrowthModelKind::exponential);
    CHECK_THAT(choice.reason, Catch::StartsWith("weights by AICc: exponential"));
  }
  SECTION("the AICc follows its formula on the log scale") {
    const auto curve = [](double t) { return gompertz_curve(3e7, 0.6, 2018.0, t); };
    const auto fit = uptake::sim::fit_growth(GrowthModelKind::gompertz, observe(curve, 2014, 2023, 0.02), {});
    double squared_residuals = 0;
    for (double residual : fit.log_residuals) squared_residuals += residual * residual;
    const double n = 10;
    const double k = 4;
    REQUIRE(fit.aicc.has_value());
    CHECK(*fit.aicc == Approx(n * std::log(squared_residuals / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)));
    CHECK(fit.log_rmse == Approx(std::sqrt(squared_residuals / n)));
  }
  SECTION("a requested model is fitted alone") {
    const auto choice = uptake::sim::choose_growth_model(GrowthModelKind::gompertz, kElectronicCertificates, {.market_size = 4e7});
    CHECK(choice.chosen.kind == GrowthModelKind::gompertz);
    CHECK(choice.candidates.size() == 1);
  }
}

TEST_CASE("the bootstrap prediction interval", "[growth][bootstrap]") {
  const auto curve = [](double t) { return exponential_curve(1e5, 0.35, 2014.5, t); };
  const auto observations = observe(curve, 2014, 2023, 0.05, 3);
  const auto fit = uptake::sim::fit_growth(GrowthModelKind::exponential, observations, {});
  const auto projection = uptake::sim::project_growth(fit, observations, 2014, 2030, 0.9, 400, 42);
  REQUIRE(projection.size() == 17);

  SECTION("is reproducible with the same seed and changes with another") {
    const auto again = uptake::sim::project_growth(fit, observations, 2014, 2030, 0.9, 400, 42);
    const auto other = uptake::sim::project_growth(fit, observations, 2014, 2030, 0.9, 400, 43);
    for (std::size_t i = 0; i < projection.size(); ++i) {
      CHECK(*again[i].lower == *projection[i].lower);
      CHECK(*again[i].upper == *projection[i].upper);
    }
    CHECK(*other.back().upper != *projection.back().upper);
  }
  SECTION("contains the point projection") {
    for (const auto& year : projection) {
      CAPTURE(year.year);
      REQUIRE(year.lower.has_value());
      REQUIRE(year.upper.has_value());
      CHECK(year.volume == Approx(fit.yearly_volume(year.year)));
      CHECK(*year.lower < year.volume);
      CHECK(year.volume < *year.upper);
    }
  }
  SECTION("widens with the horizon") {
    const auto relative_width = [](const uptake::sim::YearProjection& year) { return std::log(*year.upper / *year.lower); };
    // Beyond the history, every further year is less certain.
    for (std::size_t i = 10; i < projection.size(); ++i) {
      CAPTURE(projection[i].year);
      CHECK(relative_width(projection[i]) > relative_width(projection[i - 1]));
    }
    CHECK(relative_width(projection.back()) > 1.3 * relative_width(projection[9]));
  }
  SECTION("a wider level gives a wider interval") {
    const auto narrow = uptake::sim::project_growth(fit, observations, 2030, 2030, 0.5, 400, 42);
    CHECK(*narrow[0].lower > *projection.back().lower);
    CHECK(*narrow[0].upper < *projection.back().upper);
  }
  SECTION("an exact fit has no interval") {
    const std::vector<Observation> two = {{2020.5, 100}, {2021.5, 300}};
    const auto exact = uptake::sim::fit_growth(GrowthModelKind::exponential, two, {});
    const auto years = uptake::sim::project_growth(exact, two, 2020, 2025, 0.9, 400, 42);
    REQUIRE(years.size() == 6);
    CHECK(years.back().volume == Approx(100 * std::pow(3.0, 5)));
    CHECK_FALSE(years.back().lower.has_value());
    CHECK_FALSE(years.back().upper.has_value());
  }
}

TEST_CASE("a market size at or below the largest observation is rejected", "[growth][errors]") {
  for (double market_size : {8099791.0, 5e6}) {
    CAPTURE(market_size);
    try {
      uptake::sim::fit_growth(GrowthModelKind::logistic, kElectronicCertificates, {.market_size = market_size});
      FAIL("fit_growth accepted a market size below the data");
    } catch (const InputError& error) {
      CHECK(error.field() == "market_size");
      CHECK_THAT(error.problem(), Catch::Contains("must exceed the largest observed volume"));
    }
    // The automatic choice must report it too, not quietly fall back to the exponential model.
    CHECK_THROWS_AS(uptake::sim::choose_growth_model(GrowthModelKind::automatic, kElectronicCertificates, {.market_size = market_size, .launch = 2020.0}),
                    InputError);
  }
}

TEST_CASE("too few observations for a model's parameters are rejected", "[growth][errors]") {
  const std::vector<Observation> two = {{2021.5, 2125966}, {2022.5, 8099791}};
  CHECK_THROWS_WITH(uptake::sim::fit_growth(GrowthModelKind::logistic, two, {}),
                    Catch::Contains("needs at least 3 observations"));
  CHECK_THROWS_WITH(uptake::sim::fit_growth(GrowthModelKind::bass, two, {.launch = 2021.0}),
                    Catch::Contains("needs at least 3 observations"));
  CHECK_THROWS_WITH(uptake::sim::fit_growth(GrowthModelKind::exponential, {{2022.5, 8099791}}, {}),
                    Catch::Contains("needs at least 2 observations"));
  CHECK_THROWS_AS(uptake::sim::choose_growth_model(GrowthModelKind::automatic, {{2022.5, 8099791}}, {.launch = 2020.0}),
                  InputError);
  // A fixed market size frees one parameter, so two points are enough.
  CHECK_NOTHROW(uptake::sim::fit_growth(GrowthModelKind::logistic, two, {.market_size = 4e7}));
  // Bass adoption is zero before its launch, so a launch after the first observation cannot fit.
  CHECK_THROWS_AS(uptake::sim::fit_growth(GrowthModelKind::bass, kElectronicCertificates, {.launch = 2021.0}), InputError);
}

TEST_CASE("observations_of places yearly volumes and periods", "[growth][observations]") {
  uptake::sim::Series series;
  series.name = "ecert";
  series.yearly = {{2021, 2125966}, {2022, 8099791}, {2023, 9000000}};
  for (int month = 1; month <= 12; ++month) series.periods.push_back({2022, month, 2022, month, 600000.0 + 10000 * month});
  series.periods.push_back({2023, 1, 2023, 1, 700000});
  series.periods.push_back({2023, 2, 2023, 2, 710000});

  const auto observations = uptake::sim::observations_of(series);
  // 2021 yearly; 2022 fully covered, so 12 monthly points replace its yearly one; 2023 partly
  // covered, so its yearly point stays beside its two months.
  REQUIRE(observations.size() == 1 + 12 + 1 + 2);
  CHECK(observations[0].time == Approx(2021.5));
  CHECK(observations[0].volume == 2125966);
  CHECK(observations[1].time == Approx(2022 + 0.5 / 12));
  CHECK(observations[1].volume == Approx(12 * 610000.0));
  CHECK(observations[12].time == Approx(2022 + 11.5 / 12));
  CHECK(observations[12].volume == Approx(12 * 720000.0));
  for (const auto& observation : observations) CHECK(observation.volume != 8099791);
  CHECK(observations[13].time == Approx(2023 + 0.5 / 12));
  CHECK(observations[14].time == Approx(2023 + 1.5 / 12));
  CHECK(observations[15].time == Approx(2023.5));
  CHECK(observations[15].volume == 9000000);
  for (std::size_t i = 1; i < observations.size(); ++i) CHECK(observations[i - 1].time < observations[i].time);

  SECTION("a month outside 1 to 12 names the series and where it was defined") {
    series.periods.push_back({2023, 3, 2023, 13, 5});
    series.where = {"scenario.yaml", 12, 7};
    try {
      uptake::sim::observations_of(series);
      FAIL("month 13 was accepted");
    } catch (const InputError& error) {
      CHECK(error.field() == "history.series.ecert.periods");
      CHECK(error.where().file == "scenario.yaml");
      CHECK(error.where().line == 12);
    }
  }
  SECTION("overlapping periods and non-positive volumes are rejected") {
    auto overlapping = series;
    overlapping.periods.push_back({2022, 12, 2023, 3, 1000});
    try {
      uptake::sim::observations_of(overlapping);
      FAIL("overlapping periods were accepted");
    } catch (const InputError& error) {
      CHECK(error.field() == "history.series.ecert.periods");
      CHECK_THAT(error.problem(), Catch::Contains("2022-12"));
    }
    auto empty = series;
    empty.periods.push_back({2023, 3, 2023, 6, 0});
    CHECK_THROWS_AS(uptake::sim::observations_of(empty), InputError);
    auto backwards = series;
    backwards.periods.push_back({2023, 6, 2023, 3, 100});
    CHECK_THROWS_AS(uptake::sim::observations_of(backwards), InputError);
  }
}

TEST_CASE("a period is one observation at its middle, annualised", "[growth][observations]") {
  // Mobile driver's licences: 965,068 issued from July to December 2022, after a mid-year launch.
  uptake::sim::Series series;
  series.name = "mdl";
  series.periods = {{2022, 7, 2022, 12, 965068}};

  const auto observations = uptake::sim::observations_of(series);
  REQUIRE(observations.size() == 1);
  CHECK(observations[0].time == Approx(2022.75));
  CHECK(observations[0].volume == Approx(2 * 965068.0));

  SECTION("a period across a year end covers months of both years") {
    // July 2021 to June 2022, then the rest of 2022 month by month: 2022 is fully covered and
    // drops its yearly total; 2021 is only half covered and keeps it.
    series.periods = {{2021, 7, 2022, 6, 1200000}};
    for (int month = 7; month <= 12; ++month) series.periods.push_back({2022, month, 2022, month, 150000});
    series.yearly = {{2021, 700000}, {2022, 1700000}};
    const auto mixed = uptake::sim::observations_of(series);
    REQUIRE(mixed.size() == 1 + 1 + 6);
    CHECK(mixed[0].time == Approx(2021.5));
    CHECK(mixed[0].volume == 700000);
    CHECK(mixed[1].time == Approx(2022.0));
    CHECK(mixed[1].volume == Approx(1200000.0));
    CHECK(mixed[2].time == Approx(2022 + 6.5 / 12));
    CHECK(mixed[2].volume == Approx(12 * 150000.0));
    for (const auto& observation : mixed) CHECK(observation.volume != 1700000);
  }
}

TEST_CASE("constraints_of gathers a series' constraints", "[growth][constraints]") {
  uptake::sim::Series series;
  series.yearly = {{2021, 100}, {2022, 300}};
  series.market_size = 5000;
  series.fixed = {{"q", 0.38}};

  auto constraints = uptake::sim::constraints_of(series);
  CHECK(constraints.market_size == 5000);
  CHECK(constraints.fixed == std::map<std::string, double>{{"q", 0.38}});
  CHECK(constraints.launch == 2021.0);

  SECTION("periods that start earlier move the default launch to their start") {
    series.periods = {{2020, 7, 2020, 12, 40}};
    CHECK(uptake::sim::constraints_of(series).launch == Approx(2020.5));
    series.yearly.clear();
    CHECK(uptake::sim::constraints_of(series).launch == Approx(2020.5));
  }
  SECTION("periods that start later leave it at the first yearly year") {
    series.periods = {{2023, 1, 2023, 6, 400}};
    CHECK(uptake::sim::constraints_of(series).launch == 2021.0);
  }
  SECTION("a stated launch wins") {
    series.launch = 2020.25;
    CHECK(uptake::sim::constraints_of(series).launch == 2020.25);
  }
}

TEST_CASE("bass with K and q fixed recovers p from one observation", "[growth][fixed]") {
  const double launch = 2022.5;
  const double market = 34e6;
  const double p = 0.012;
  const double q = 0.38;
  const std::vector<Observation> one = {{2022.75, bass_curve(market, p, q, launch, 2022.75)}};

  for (const auto& constraints : {CurveConstraints{.market_size = market, .launch = launch, .fixed = {{"q", q}}},
                                  CurveConstraints{.launch = launch, .fixed = {{"K", market}, {"q", q}}},
                                  CurveConstraints{.market_size = market, .launch = launch, .fixed = {{"K", market}, {"q", q}}}}) {
    const auto fit = uptake::sim::fit_growth(GrowthModelKind::bass, one, constraints);
    CHECK(fit.converged);
    CHECK(fit.free_parameters == 1);
    CHECK(fit.observations == 1);
    REQUIRE(fit.parameters.size() == 3);
    CHECK(fit.parameter("K") == market);
    CHECK(fit.parameter("q") == q);
    CHECK(relative_error(fit.parameter("p"), p) < 1e-9);
    CHECK(fit.log_rmse < 1e-12);
    CHECK_FALSE(fit.aicc.has_value());
    CHECK(std::isnan(fit.r_squared));
    CHECK(fit.constraints.fixed.at("q") == q);
    // One observation and one fitted parameter leave no degree of freedom: no interval.
    const auto years = uptake::sim::project_growth(fit, one, 2022, 2028, 0.9, 100, 1);
    CHECK(years.back().volume == Approx(market * uptake::sim::bass_density(p, q, 6.0)));
    CHECK_FALSE(years.back().lower.has_value());
  }

  SECTION("from a scenario series, through its period and its constraints") {
    uptake::sim::Series series;
    series.name = "mdl";
    series.periods = {{2022, 7, 2022, 12, 965068}};
    series.market_size = market;
    series.fixed = {{"q", q}};
    const auto observations = uptake::sim::observations_of(series);
    const auto choice = uptake::sim::choose_growth_model(GrowthModelKind::bass, observations, uptake::sim::constraints_of(series));
    CHECK(choice.chosen.launch == launch);
    CHECK(choice.chosen.free_parameters == 1);
    // The fitted curve passes through the annualised half year at its middle.
    CHECK(choice.chosen.predict(2022.75) == Approx(2 * 965068.0).epsilon(1e-9));
    CHECK(choice.chosen.parameter("p") > 0);
  }
  SECTION("without K fixed, one observation is too few for K and p") {
    CHECK_THROWS_WITH(uptake::sim::fit_growth(GrowthModelKind::bass, one, {.launch = launch, .fixed = {{"q", q}}}),
                      Catch::Contains("needs at least 2 observations"));
  }
}

TEST_CASE("exponential with b fixed fits only a", "[growth][fixed]") {
  const auto curve = [](double t) { return exponential_curve(2e5, 0.45, 2012.5, t); };
  const auto observations = observe(curve, 2012, 2023, 0.02);
  const auto fit = uptake::sim::fit_growth(GrowthModelKind::exponential, observations, {.fixed = {{"b", 0.45}}});
  CHECK(fit.converged);
  CHECK(fit.free_parameters == 1);
  CHECK(fit.parameter("b") == 0.45);
  // With b held, the least-squares ln a is the mean of ln y - b (t - t_ref).
  double log_scale = 0;
  for (const auto& observation : observations) {
    log_scale += (std::log(observation.volume) - 0.45 * (observation.time - 2012.5)) / static_cast<double>(observations.size());
  }
  CHECK(fit.parameter("a") == Approx(std::exp(log_scale)).epsilon(1e-9));
  CHECK(relative_error(fit.parameter("a"), 2e5) < 0.02);
  SECTION("the bootstrap refits hold b too") {
    // Every refit then has slope b, so the interval on the log scale is a constant band around
    // the line; were b refitted, the band would widen with the horizon.
    const auto years = uptake::sim::project_growth(fit, observations, 2020, 2040, 0.9, 300, 9);
    const double width = std::log(*years.front().upper / *years.front().lower);
    CHECK(width > 0.01);
    for (const auto& year : years) {
      CAPTURE(year.year);
      CHECK(std::log(*year.upper / *year.lower) == Approx(width).epsilon(1e-9));
    }
  }
  // One point is enough for one fitted parameter.
  CHECK_NOTHROW(uptake::sim::fit_growth(GrowthModelKind::exponential, {{2022.5, 8099791}}, {.fixed = {{"b", 1.3}}}));
  // A negative growth rate is a valid value for b.
  CHECK_NOTHROW(uptake::sim::fit_growth(GrowthModelKind::exponential, observations, {.fixed = {{"b", -0.1}}}));
}

TEST_CASE("fixed parameters are checked against the model", "[growth][fixed][errors]") {
  const auto field_of = [](const std::function<void()>& call) {
    try {
      call();
    } catch (const InputError& error) {
      return error.field() + ": " + error.problem();
    }
    return std::string("no error");
  };
  const auto& data = kElectronicCertificates;

  SECTION("an unknown name, listing the model's parameters") {
    const auto message = field_of([&] { uptake::sim::fit_growth(GrowthModelKind::bass, data, {.launch = 2020.0, .fixed = {{"r", 0.5}}}); });
    CHECK_THAT(message, Catch::StartsWith("fixed.r: ") && Catch::Contains("K, p and q"));
    CHECK_THAT(field_of([&] { uptake::sim::fit_growth(GrowthModelKind::exponential, data, {.fixed = {{"K", 4e7}}}); }),
               Catch::StartsWith("fixed.K: ") && Catch::Contains("a and b"));
    CHECK_THAT(field_of([&] { uptake::sim::choose_growth_model(GrowthModelKind::automatic, data, {.fixed = {{"z", 1}}}); }),
               Catch::StartsWith("fixed.z: "));
    // Each name exists, but no model has both.
    CHECK_THAT(field_of([&] { uptake::sim::choose_growth_model(GrowthModelKind::automatic, data, {.fixed = {{"r", 1}, {"p", 0.01}}}); }),
               Catch::StartsWith("fixed: ") && Catch::Contains("p and r"));
  }
  SECTION("a value outside its bound") {
    CHECK_THAT(field_of([&] { uptake::sim::fit_growth(GrowthModelKind::bass, data, {.launch = 2020.0, .fixed = {{"p", 0}}}); }),
               Catch::StartsWith("fixed.p: "));
    CHECK_THAT(field_of([&] { uptake::sim::fit_growth(GrowthModelKind::logistic, data, {.fixed = {{"r", -1}}}); }),
               Catch::StartsWith("fixed.r: "));
    CHECK_THAT(field_of([&] { uptake::sim::fit_growth(GrowthModelKind::gompertz, data, {.fixed = {{"K", -5}}}); }),
               Catch::StartsWith("fixed.K: "));
    CHECK_THAT(field_of([&] { uptake::sim::fit_growth(GrowthModelKind::exponential, data, {.fixed = {{"b", std::nan("")}}}); }),
               Catch::StartsWith("fixed.b: "));
    CHECK_THAT(field_of([&] { uptake::sim::fit_growth(GrowthModelKind::logistic, data, {.fixed = {{"t0", std::numeric_limits<double>::infinity()}}}); }),
               Catch::StartsWith("fixed.t0: "));
    // The automatic choice reports it too, rather than dropping the model that has the name.
    CHECK_THAT(field_of([&] { uptake::sim::choose_growth_model(GrowthModelKind::automatic, data, {.launch = 2020.0, .fixed = {{"q", -1}}}); }),
               Catch::StartsWith("fixed.q: "));
  }
  SECTION("a fixed K is the market size") {
    CHECK_THAT(field_of([&] { uptake::sim::fit_growth(GrowthModelKind::logistic, data, {.market_size = 4e7, .fixed = {{"K", 5e7}}}); }),
               Catch::StartsWith("fixed.K: "));
    CHECK_THAT(field_of([&] { uptake::sim::fit_growth(GrowthModelKind::logistic, data, {.fixed = {{"K", 5e6}}}); }),
               Catch::StartsWith("fixed.K: ") && Catch::Contains("must exceed the largest observed volume"));
    const auto by_market = uptake::sim::fit_growth(GrowthModelKind::logistic, data, {.market_size = 4e7});
    const auto by_fixed = uptake::sim::fit_growth(GrowthModelKind::logistic, data, {.fixed = {{"K", 4e7}}});
    CHECK(by_fixed.free_parameters == 2);
    CHECK(by_fixed.parameter("r") == Approx(by_market.parameter("r")).epsilon(1e-9));
    CHECK(by_fixed.parameter("t0") == Approx(by_market.parameter("t0")).epsilon(1e-9));
  }
}

TEST_CASE("AICc counts only the free parameters", "[growth][fixed][aicc]") {
  const double launch = 2010.0;
  const auto curve = [launch](double t) { return bass_curve(4e7, 0.02, 0.45, launch, t); };
  const auto observations = observe(curve, 2010, 2019, 0.02);
  const auto fit = uptake::sim::fit_growth(GrowthModelKind::bass, observations, {.launch = launch, .fixed = {{"q", 0.45}}});
  CHECK(fit.converged);
  CHECK(fit.free_parameters == 2);
  CHECK(fit.parameter("q") == 0.45);
  CHECK(relative_error(fit.parameter("p"), 0.02) < 0.05);
  double squared_residuals = 0;
  for (double residual : fit.log_residuals) squared_residuals += residual * residual;
  const double n = 10;
  const double k = 3;  // K, p and the residual variance
  REQUIRE(fit.aicc.has_value());
  CHECK(*fit.aicc == Approx(n * std::log(squared_residuals / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)));

  SECTION("the bootstrap keeps q fixed and still gives an interval") {
    const auto years = uptake::sim::project_growth(fit, observations, 2019, 2030, 0.9, 200, 5);
    for (const auto& year : years) {
      CAPTURE(year.year);
      REQUIRE(year.lower.has_value());
      CHECK(*year.lower < year.volume);
      CHECK(year.volume < *year.upper);
    }
  }
}

TEST_CASE("a model with every parameter fixed is evaluated, not fitted", "[growth][fixed]") {
  const auto curve = [](double t) { return logistic_curve(5e7, 0.9, 2019.0, t); };
  const auto observations = observe(curve, 2014, 2020, 0.01);
  const auto fit = uptake::sim::fit_growth(GrowthModelKind::logistic, observations,
                                           {.market_size = 5e7, .fixed = {{"r", 0.9}, {"t0", 2019.0}}});
  CHECK(fit.converged);
  CHECK(fit.free_parameters == 0);
  CHECK(fit.parameter("K") == 5e7);
  CHECK(fit.parameter("r") == 0.9);
  CHECK(fit.parameter("t0") == 2019.0);
  REQUIRE(fit.log_residuals.size() == observations.size());
  for (std::size_t i = 0; i < observations.size(); ++i) {
    CHECK(fit.log_residuals[i] == Approx(std::log(curve(observations[i].time) / observations[i].volume)).margin(1e-12));
  }
  REQUIRE(fit.aicc.has_value());  // k = 1, the residual variance alone
  const auto years = uptake::sim::project_growth(fit, observations, 2020, 2025, 0.9, 100, 1);
  CHECK(years.back().volume == Approx(curve(2025.5)));
  CHECK_FALSE(years.back().lower.has_value());
}

TEST_CASE("the automatic choice considers only models with every fixed name", "[growth][fixed][aicc]") {
  const double launch = 2013.0;
  const auto curve = [](double t) { return logistic_curve(2e7, 1.1, 2018.0, t); };
  const auto observations = observe(curve, 2014, 2023, 0.02, 11);

  const auto with_q = uptake::sim::choose_growth_model(GrowthModelKind::automatic, observations,
                                                       {.launch = launch, .fixed = {{"q", 0.38}}});
  CAPTURE(with_q.reason);
  CHECK(with_q.chosen.kind == GrowthModelKind::bass);
  CHECK(with_q.candidates.size() == 1);
  CHECK(with_q.chosen.parameter("q") == 0.38);
  CHECK_THAT(with_q.reason, Catch::Contains("only bass has the fixed parameters q"));

  const auto with_market = uptake::sim::choose_growth_model(GrowthModelKind::automatic, observations,
                                                            {.launch = launch, .fixed = {{"K", 2.2e7}}});
  CAPTURE(with_market.reason);
  CHECK(with_market.candidates.size() == 3);
  for (const auto& candidate : with_market.candidates) {
    CHECK(candidate.kind != GrowthModelKind::exponential);
    CHECK(candidate.parameter("K") == 2.2e7);
  }
  CHECK_THAT(with_market.reason, Catch::Contains("only logistic, gompertz and bass have the fixed parameters K"));
}

TEST_CASE("holding any one parameter at its true value still recovers the others", "[growth][fixed]") {
  struct Case {
    GrowthModelKind kind;
    std::map<std::string, double> truth;
    double launch;
    Curve curve;
  };
  const std::vector<Case> cases = {
      {GrowthModelKind::exponential, {{"a", 2e5}, {"b", 0.45}}, 0,
       [](double t) { return exponential_curve(2e5, 0.45, 2012.5, t); }},
      {GrowthModelKind::logistic, {{"K", 5e7}, {"r", 0.9}, {"t0", 2019.0}}, 0,
       [](double t) { return logistic_curve(5e7, 0.9, 2019.0, t); }},
      {GrowthModelKind::gompertz, {{"K", 3e7}, {"r", 0.6}, {"t0", 2018.0}}, 0,
       [](double t) { return gompertz_curve(3e7, 0.6, 2018.0, t); }},
      {GrowthModelKind::bass, {{"K", 4e7}, {"p", 0.02}, {"q", 0.45}}, 2010.0,
       [](double t) { return bass_curve(4e7, 0.02, 0.45, 2010.0, t); }},
  };
  for (const auto& example : cases) {
    const auto observations = observe(example.curve, 2012, 2024);
    for (const auto& [held, value] : example.truth) {
      CAPTURE(uptake::sim::to_string(example.kind), held);
      const auto fit = uptake::sim::fit_growth(example.kind, observations, {.launch = example.launch, .fixed = {{held, value}}});
      CHECK(fit.converged);
      CHECK(fit.free_parameters == static_cast<int>(example.truth.size()) - 1);
      CHECK(fit.parameter(held) == value);
      for (const auto& [name, expected] : example.truth) {
        CAPTURE(name);
        // t0 is a calendar year: its error is measured in years, every other one relatively.
        CHECK(std::abs(fit.parameter(name) - expected) <= 1e-6 * (name == "t0" ? 1.0 : std::abs(expected)));
      }
    }
  }
}

TEST_CASE("the exponential's interval is the Student-t prediction interval", "[growth][bootstrap]") {
  // ln y is a straight line in t, so the classical interval is exact: ln V(t0) +- t(0.95, n-2) s
  // sqrt(1 + 1/n + (t0 - mean t)^2 / Sxx). Four points leave two degrees of freedom.
  const std::vector<uptake::sim::Observation> observations = {
      {2018.5, 1.0e6}, {2019.5, 1.5e6}, {2020.5, 1.9e6}, {2021.5, 3.1e6}};
  const auto fit = uptake::sim::fit_growth(uptake::sim::GrowthModelKind::exponential, observations, {});
  double mean_time = 0;
  for (const auto& observation : observations) mean_time += observation.time / 4;
  double spread = 0;
  double squared_residuals = 0;
  for (std::size_t i = 0; i < observations.size(); ++i) {
    spread += (observations[i].time - mean_time) * (observations[i].time - mean_time);
    squared_residuals += fit.log_residuals[i] * fit.log_residuals[i];
  }
  const double s = std::sqrt(squared_residuals / 2);
  const double t_95_2 = 2.919985580;  // Student's t, 95th percentile, 2 degrees of freedom
  const auto years = uptake::sim::project_growth(fit, observations, 2022, 2024, 0.9, 40000, 7);
  for (const auto& year : years) {
    INFO("year " << year.year);
    const double t0 = year.year + 0.5;
    const double half_width = t_95_2 * s * std::sqrt(1 + 0.25 + (t0 - mean_time) * (t0 - mean_time) / spread);
    CHECK(std::log(*year.upper / year.volume) == Approx(half_width).epsilon(0.03));
    CHECK(std::log(year.volume / *year.lower) == Approx(half_width).epsilon(0.03));
  }
}

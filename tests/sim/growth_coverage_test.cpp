// Do the "90%" prediction intervals of the growth models hold the truth 90% of the time? Each
// case draws seeded histories from a known curve with known log-normal noise, fits the same
// model, and counts how often the interval holds the next observations 1 and 3 years on.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>
#include <functional>
#include <string>

#include "uptake/base/random.hpp"
#include "uptake/sim/growth.hpp"
#include "uptake/sim/projection.hpp"

namespace {

using uptake::Random;
using uptake::sim::CurveConstraints;
using uptake::sim::GrowthModelKind;
using uptake::sim::Observation;

constexpr double kNoise = 0.10;       // standard deviation of ln y around the curve
constexpr int kLastHistoryYear = 2017;

struct TrueCurve {
  GrowthModelKind kind;
  std::function<double(double)> volume;  // V(t) at fractional year t
  double market_size;                    // held when the history is too short to fit it
  double launch;                         // bass only
};

std::vector<TrueCurve> true_curves() {
  return {
      {GrowthModelKind::exponential, [](double t) { return 1e6 * std::exp(0.3 * (t - 2010.5)); }, 0, 0},
      {GrowthModelKind::logistic, [](double t) { return 1e8 / (1 + std::exp(-0.5 * (t - 2018.5))); }, 1e8, 0},
      {GrowthModelKind::gompertz, [](double t) { return 1e8 * std::exp(-std::exp(-0.4 * (t - 2017.0))); }, 1e8, 0},
      {GrowthModelKind::bass,
       [](double t) { return 1e8 * uptake::sim::bass_density(0.01, 0.5, t - 2010.0); }, 1e8, 2010.0},
  };
}

struct Coverage {
  int histories = 0;
  int with_interval = 0;
  int held_1 = 0;
  int held_3 = 0;
};

// With `automatic`, the model choice a scenario gets with `model: auto` and no market size: the
// curves are averaged by their weights (projection.hpp), not only the true one fitted.
Coverage simulate(const TrueCurve& truth, int observations, int histories, int draws, bool automatic = false) {
  const auto model = static_cast<std::uint64_t>(truth.kind);
  Coverage coverage;
  for (int history = 0; history < histories; ++history) {
    Random random(100000 * model + 1000 * static_cast<std::uint64_t>(observations) + static_cast<std::uint64_t>(history));
    std::vector<Observation> points;
    for (int year = kLastHistoryYear - observations + 1; year <= kLastHistoryYear; ++year) {
      points.push_back({year + 0.5, truth.volume(year + 0.5) * std::exp(kNoise * random.normal())});
    }
    const double future_1 = truth.volume(kLastHistoryYear + 1.5) * std::exp(kNoise * random.normal());
    const double future_3 = truth.volume(kLastHistoryYear + 3.5) * std::exp(kNoise * random.normal());
    CurveConstraints constraints;
    constraints.launch = truth.launch;
    // Three parameters from three points leave nothing to estimate the noise with: the planner
    // states the market size, as the scenarios do.
    if (truth.kind != GrowthModelKind::exponential && observations <= 3) constraints.market_size = truth.market_size;
    ++coverage.histories;
    std::vector<uptake::sim::YearProjection> years;
    if (automatic) {
      const auto choice = uptake::sim::choose_growth_model(GrowthModelKind::automatic, points, {.launch = truth.launch});
      years = uptake::sim::project_series(choice, points, {}, kLastHistoryYear + 1, kLastHistoryYear + 3, 0.9, draws,
                                          static_cast<std::uint64_t>(history + 1))
                  .years;
    } else {
      const auto fit = uptake::sim::fit_growth(truth.kind, points, constraints);
      years = uptake::sim::project_growth(fit, points, kLastHistoryYear + 1, kLastHistoryYear + 3, 0.9, draws,
                                          static_cast<std::uint64_t>(history + 1));
    }
    if (!years.front().lower) continue;
    ++coverage.with_interval;
    if (*years[0].lower <= future_1 && future_1 <= *years[0].upper) ++coverage.held_1;
    if (*years[2].lower <= future_3 && future_3 <= *years[2].upper) ++coverage.held_3;
  }
  return coverage;
}

}  // namespace

TEST_CASE("90% prediction intervals hold the truth 85-95% of the time, by simulation", "[growth][coverage]") {
#if defined(__SANITIZE_ADDRESS__)
  const int histories = 40;  // the sanitizers' cost: too few for the band, enough for a gross error
  const bool full = false;
#else
  const int histories = 500;  // the share held then has a standard error of 1.3 points
  const bool full = true;
#endif
  std::string table = "model        n  K        held 1 year  held 3 years\n";
  for (const auto& truth : true_curves()) {
    for (const int n : {3, 4, 5, 8}) {
      const auto coverage = simulate(truth, n, histories, 200);
      const bool held_k = truth.kind != GrowthModelKind::exponential && n <= 3;
      REQUIRE(coverage.with_interval == coverage.histories);
      const double share_1 = static_cast<double>(coverage.held_1) / coverage.with_interval;
      const double share_3 = static_cast<double>(coverage.held_3) / coverage.with_interval;
      table += fmt::format("{:<12} {}  {:<7}  {:>10.1f}%  {:>11.1f}%\n", uptake::sim::to_string(truth.kind), n,
                           held_k ? "stated" : truth.kind == GrowthModelKind::exponential ? "-" : "fitted", 100 * share_1,
                           100 * share_3);
      fmt::print(stderr, "{}", table.substr(table.rfind('\n', table.size() - 2) + 1));
      if (full) {
        CHECK(share_1 >= 0.85);
        CHECK(share_1 <= 0.95);
        CHECK(share_3 >= 0.85);
        CHECK(share_3 <= 0.95);
      } else {
        CHECK(share_1 >= 0.7);
        CHECK(share_3 >= 0.7);
      }
    }
  }
  WARN(table);
}

TEST_CASE("with auto, a logistic history's interval holds the truth although no curve is named", "[growth][coverage]") {
  // Short histories cannot rank the curves, so the exponential must not win by default: before
  // the curves were averaged, its interval held a logistic history's next year 13% of the time
  // at n = 5, and the year three on never.
#if defined(__SANITIZE_ADDRESS__)
  const int histories = 40;
#else
  const int histories = 300;
#endif
  const auto logistic = true_curves()[1];
  std::string table = "auto on logistic histories\nn  held 1 year  held 3 years\n";
  for (const int n : {5, 8}) {
    const auto coverage = simulate(logistic, n, histories, 200, true);
    REQUIRE(coverage.with_interval == coverage.histories);
    const double share_1 = static_cast<double>(coverage.held_1) / coverage.with_interval;
    const double share_3 = static_cast<double>(coverage.held_3) / coverage.with_interval;
    table += fmt::format("{}  {:>10.1f}%  {:>11.1f}%\n", n, 100 * share_1, 100 * share_3);
    if (n == 5) {
      // Too few points for the saturating curves' AICc: the curves share the weight, and the
      // interval is wide enough to hold the truth (if anything, wider than 90% asks).
      CHECK(share_1 >= 0.85);
      CHECK(share_3 >= 0.85);
    } else {
      // Eight points before the inflection: AICc can score every curve, and the exponential
      // fits them about as well with one parameter fewer, so it gets most of the weight. The
      // weights follow the evidence, and the evidence is wrong about the turn to come: the
      // interval holds the next year about 70% of the time and the third about 40%. A known
      // limit, not the band; the check keeps it from getting worse.
      CHECK(share_1 >= 0.6);
      CHECK(share_3 >= 0.3);
    }
  }
  WARN(table);
}

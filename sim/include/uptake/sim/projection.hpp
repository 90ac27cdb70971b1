#pragma once
// The projection of one series with everything uncertain about it: the noise and parameters of
// each fitted curve (growth.hpp's draws), which curve (the weights of a ModelChoice), and the
// planner's assumptions stated as ranges. Its draws are plausible futures of the series, year by
// year; the interval and every later probability (design peaks, exhaustion dates) come from them.
//
// How the uncertainty is combined:
//   - each candidate gets a share of the draws by its weight;
//   - a candidate with assumed ranges that are parameters of its model spreads its share over 16
//     values of them (a Latin hypercube: each range cut into 16 strata of equal probability, one
//     value in each, paired at random), refitting the free parameters at each;
//   - a range is uniform between low and high, or triangular with its peak at `likely`; on the
//     log scale for positive parameters (a market size of 50-200 million is as likely below 100
//     million as above), on the plain scale for b and t0.
// The ranges are the planner's: the data do not narrow them (check_assumptions says when the
// data contradict them).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "uptake/sim/growth.hpp"
#include "uptake/sim/scenario.hpp"

namespace uptake::sim {

struct SeriesProjection {
  // Every year of [from_year, to_year]: the point is the weighted geometric mean of the
  // candidates' curves (the one curve with one candidate); the interval, the draws' quantiles.
  std::vector<YearProjection> years;
  // draws[d][y]: the volume of year from_year + y in draw d. Empty with no interval.
  std::vector<std::vector<double>> draws;
  // Empty, or for people: why there is no interval.
  std::string interval_note;
};

// The value of `range` at cumulative probability `probability` in [0, 1] (log scale when
// `log_scale`).
double range_quantile(const ParameterRange& range, double probability, bool log_scale);

// The central value a range's fit is shown with: `likely`, or else the median of the range.
double range_centre(const ParameterRange& range, bool log_scale);

// Whether a parameter is spread on the log scale: every positive one (all but b and t0).
bool spreads_on_log_scale(const std::string& parameter);

SeriesProjection project_series(const ModelChoice& choice, const std::vector<Observation>& observations,
                                const std::map<std::string, ParameterRange>& ranges, int from_year, int to_year,
                                double level, int draws, std::uint64_t seed);

// Projects the fit over [from_year, to_year] with a two-sided prediction interval at `level`:
// the quantiles of `samples` draws of draw_log_volumes seeded with `seed` (same seed, same
// interval). Bounds are empty where draw_log_volumes gives no draws. One model alone: the
// projection of a ModelChoice of this fit with weight 1 and no ranges.
std::vector<YearProjection> project_growth(const GrowthFit& fit, const std::vector<Observation>& observations,
                                           int from_year, int to_year, double level, int samples,
                                           std::uint64_t seed);

// A backtest: the series refitted on every earlier cut of its history (the first 2, 3, ...
// observations, with the series' model choice, constraints and ranges), projected to the
// observations held back.
struct BacktestPoint {
  double time = 0;               // the held-back observation's time (fractional year)
  double actual = 0;             // its measured (annualised) volume
  double projected = 0;          // the cut's projection there
  std::optional<double> lower;   // the cut's interval there; empty with no interval
  std::optional<double> upper;
  std::optional<bool> held;      // the interval held the actual volume; empty with no interval
};

struct BacktestCut {
  int observations = 0;          // how many observations the cut keeps
  double last_known_time = 0;
  std::string model;             // the heaviest model of the cut's choice; empty with no fit
  std::string interval_note;     // why there is no interval or no fit; empty otherwise
  std::vector<BacktestPoint> points;
};

struct Backtest {
  std::string series;
  int observations = 0;           // of the whole history
  std::vector<BacktestCut> cuts;  // from 2 observations to all but the last
  int with_interval = 0;          // held-back points with an interval
  int held = 0;                   // of those, how many the interval held
};

// Every cut with at least 2 observations and at least one held back, at growth's interval level
// and draws, seeded with `seed`.
Backtest backtest_series(const Series& series, const Growth& growth, std::uint64_t seed);

// What the history says of an assumed market size (a fixed K or a range) of a saturating model:
// the profile likelihood of K, each K's fit with the other parameters refitted.
struct MarketSizeEvidence {
  GrowthModelKind kind = GrowthModelKind::logistic;
  double assumed_low = 0;   // the stated value, or the range's ends
  double assumed_high = 0;
  // The best fit over every K against the best with K in the assumed range: (SSR_assumed /
  // SSR_best)^(n/2), 1 when the best K lies in the range.
  double likelihood_ratio = 1;
  // The K the data support at 90% (2 ln LR <= 2.706, chi-squared with 1 degree of freedom);
  // supported_high empty: no upper end (the data do not show saturation).
  double supported_low = 0;
  std::optional<double> supported_high;
  bool contradicted = false;  // no assumed K is among the supported ones
};

// Empty for a model without K, or when K is fitted freely, or too few observations leave the
// profile flat (fewer than free parameters + 2).
std::optional<MarketSizeEvidence> check_market_size(GrowthModelKind kind, const std::vector<Observation>& observations,
                                                    const CurveConstraints& constraints,
                                                    const std::optional<ParameterRange>& range);

// One sentence for a warning: "the history contradicts the market size of 80,000,000 (logistic):
// ...". Empty unless evidence.contradicted.
std::string describe(const MarketSizeEvidence& evidence);

}  // namespace uptake::sim

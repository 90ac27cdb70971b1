#include "uptake/sim/projection.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>
#include <utility>

#include "sorted_quantile.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/base/random.hpp"

namespace uptake::sim {
namespace {

// Values of the ranged parameters per draw group of one candidate: a Latin hypercube of this
// many points covers each range's strata once, at a cost of this many extra fits.
constexpr int kRangePoints = 16;

// The chi-squared quantile with 1 degree of freedom at 0.90: a K is supported when 2 ln LR is
// below it.
constexpr double kSupportedAt90 = 2.705543454095404;

// "80 million", "4.35 million", "650,000": a market size as people say it.
std::string readable_count(double value) {
  if (value >= 1e6) return fmt::format("{:.3g} million", value / 1e6);
  const std::string digits = std::to_string(std::llround(value));
  std::string grouped;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return grouped;
}

// The constraints of `base` with `name` held at `value`. K is held by the market size, and by
// the fixed values too when it is among them, so the two never disagree.
CurveConstraints holding(CurveConstraints base, const std::string& name, double value) {
  if (name == "K") {
    base.market_size = value;
    if (base.fixed.count("K")) base.fixed["K"] = value;
  } else {
    base.fixed[name] = value;
  }
  return base;
}

// Shares of `total` in proportion to `weights`, whole numbers summing to total (largest remainders).
std::vector<int> apportion(const std::vector<double>& weights, int total) {
  std::vector<int> shares(weights.size(), 0);
  std::vector<std::pair<double, std::size_t>> remainders;
  int given = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double exact = weights[i] * total;
    shares[i] = static_cast<int>(std::floor(exact));
    given += shares[i];
    remainders.emplace_back(exact - shares[i], i);
  }
  std::stable_sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t k = 0; given < total && k < remainders.size(); ++k, ++given) ++shares[remainders[k].second];
  return shares;
}

// The draws of one candidate: its own fit's, or spread over its ranged parameters.
std::vector<std::vector<double>> candidate_draws(const GrowthFit& fit, const std::vector<Observation>& observations,
                                                 const std::map<std::string, ParameterRange>& ranges,
                                                 const std::vector<double>& times, int draws, Random& random) {
  std::vector<std::string> ranged;
  for (const auto& name : parameter_names(fit.kind)) {
    if (ranges.count(name)) ranged.push_back(name);
  }
  if (ranged.empty()) return draw_log_volumes(fit, observations, times, draws, random);

  const int points = std::min(kRangePoints, draws);
  // One random order of the strata per ranged parameter pairs them at random.
  std::vector<std::vector<int>> strata(ranged.size());
  for (auto& order : strata) {
    order.resize(static_cast<std::size_t>(points));
    std::iota(order.begin(), order.end(), 0);
    for (std::size_t i = order.size(); i > 1; --i) {
      std::swap(order[i - 1], order[static_cast<std::size_t>(random.uniform() * static_cast<double>(i))]);
    }
  }
  const auto shares = apportion(std::vector<double>(static_cast<std::size_t>(points), 1.0 / points), draws);
  std::vector<std::vector<double>> result;
  for (int point = 0; point < points; ++point) {
    CurveConstraints constraints = fit.constraints;
    for (std::size_t r = 0; r < ranged.size(); ++r) {
      const double probability = (strata[r][static_cast<std::size_t>(point)] + random.uniform()) / points;
      const auto& name = ranged[r];
      constraints = holding(constraints, name, range_quantile(ranges.at(name), probability, spreads_on_log_scale(name)));
    }
    GrowthFit refit;
    try {
      refit = fit_growth(fit.kind, observations, constraints);
    } catch (const InputError&) {
      continue;  // this combination has no finite fit; the other points carry the range
    }
    auto some = draw_log_volumes(refit, observations, times, shares[static_cast<std::size_t>(point)], random);
    for (auto& draw : some) result.push_back(std::move(draw));
  }
  return result;
}

}  // namespace

bool spreads_on_log_scale(const std::string& parameter) { return parameter != "b" && parameter != "t0"; }

double range_quantile(const ParameterRange& range, double probability, bool log_scale) {
  const auto scale = [log_scale](double value) { return log_scale ? std::log(value) : value; };
  const auto unscale = [log_scale](double value) { return log_scale ? std::exp(value) : value; };
  const double low = scale(range.low);
  const double high = scale(range.high);
  if (!(high > low)) return range.low;
  probability = std::clamp(probability, 0.0, 1.0);
  if (!range.likely) return unscale(low + probability * (high - low));
  // Triangular: the peak's share of the width is the probability below it.
  const double peak = scale(*range.likely);
  const double below = (peak - low) / (high - low);
  if (probability < below) return unscale(low + std::sqrt(probability * (high - low) * (peak - low)));
  return unscale(high - std::sqrt((1 - probability) * (high - low) * (high - peak)));
}

double range_centre(const ParameterRange& range, bool log_scale) {
  return range.likely ? *range.likely : range_quantile(range, 0.5, log_scale);
}

namespace {

// The projection at any times: the point (weighted geometric mean of the candidates' curves),
// and, when there is an interval, the log-volume draws [draw][time].
struct TimedProjection {
  std::vector<double> point;
  std::vector<std::vector<double>> log_draws;
  std::string interval_note;
};

// The interval at `level` of one column of draws [draw][column]: its (1 - level) / 2 and
// (1 + level) / 2 quantiles.
std::pair<double, double> column_interval(const std::vector<std::vector<double>>& draws, std::size_t column, double level) {
  std::vector<double> values;
  values.reserve(draws.size());
  for (const auto& draw : draws) values.push_back(draw[column]);
  std::sort(values.begin(), values.end());
  return {sorted_quantile(values, (1 - level) / 2), sorted_quantile(values, (1 + level) / 2)};
}

TimedProjection project_at(const ModelChoice& choice, const std::vector<Observation>& observations,
                           const std::map<std::string, ParameterRange>& ranges, const std::vector<double>& times,
                           int draws, std::uint64_t seed) {
  if (choice.weights.size() != choice.candidates.size()) throw std::invalid_argument("a model choice needs a weight per candidate");
  TimedProjection projection;
  for (double time : times) {
    double log_volume = 0;
    for (std::size_t i = 0; i < choice.candidates.size(); ++i) {
      if (choice.weights[i] > 0) log_volume += choice.weights[i] * std::log(choice.candidates[i].predict(time));
    }
    projection.point.push_back(std::exp(log_volume));
  }
  if (times.empty()) return projection;

  Random random(seed);
  const auto shares = apportion(choice.weights, draws);
  std::vector<std::vector<double>> log_draws;
  for (std::size_t i = 0; i < choice.candidates.size(); ++i) {
    if (shares[i] == 0) continue;
    const auto& fit = choice.candidates[i];
    auto some = candidate_draws(fit, observations, ranges, times, shares[i], random);
    if (some.empty()) {
      projection.interval_note =
          fit.free_parameters == 0
              ? fmt::format("no interval: every parameter of the {} model is held, nothing was fitted", to_string(fit.kind))
              : fmt::format("no interval: {} observations for the {} free parameters of the {} model leave no residual "
                            "degree of freedom to estimate the noise with",
                            fit.observations, fit.free_parameters, to_string(fit.kind));
      return projection;
    }
    for (auto& draw : some) log_draws.push_back(std::move(draw));
  }
  // Refits are kept even when they stop short, so only a draw with no finite fit in four tries
  // is missing; a projection that lost most of its draws would be no interval at all.
  if (static_cast<int>(log_draws.size()) < draws / 2) {
    projection.interval_note = fmt::format("no interval: only {} of {} draws found a finite curve", log_draws.size(), draws);
    return projection;
  }
  projection.log_draws = std::move(log_draws);
  return projection;
}

}  // namespace

SeriesProjection project_series(const ModelChoice& choice, const std::vector<Observation>& observations,
                                const std::map<std::string, ParameterRange>& ranges, int from_year, int to_year,
                                double level, int draws, std::uint64_t seed) {
  if (!(level > 0 && level < 1)) throw std::invalid_argument(fmt::format("interval level {} is not between 0 and 1", level));
  // A flow's year is its curve at mid-year; a stock's is what the year adds, the curve at the
  // year's end less the curve at its start, in every draw.
  const bool cumulative = choice.chosen.constraints.cumulative;
  std::vector<double> times;
  for (int year = from_year; year <= to_year; ++year) times.push_back(cumulative ? year : year + 0.5);
  if (cumulative) times.push_back(to_year + 1.0);
  auto timed = project_at(choice, observations, ranges, times, draws, seed);
  const auto year_of = [cumulative](const std::vector<double>& values, std::size_t y) {
    return cumulative ? values[y + 1] - values[y] : values[y];
  };
  SeriesProjection projection;
  projection.interval_note = std::move(timed.interval_note);
  const std::size_t years = static_cast<std::size_t>(std::max(to_year - from_year + 1, 0));
  for (std::size_t y = 0; y < years; ++y) projection.years.push_back({from_year + static_cast<int>(y), year_of(timed.point, y), {}, {}});
  if (timed.log_draws.empty()) return projection;
  for (auto& draw : timed.log_draws) {
    for (double& value : draw) value = std::exp(value);
    std::vector<double> volumes;
    for (std::size_t y = 0; y < years; ++y) volumes.push_back(year_of(draw, y));
    projection.draws.push_back(std::move(volumes));
  }
  for (std::size_t y = 0; y < years; ++y) {
    std::tie(projection.years[y].lower, projection.years[y].upper) = column_interval(projection.draws, y, level);
  }
  return projection;
}

Backtest backtest_series(const Series& series, const Growth& growth, std::uint64_t seed) {
  Backtest backtest;
  backtest.series = series.name;
  const auto observations = observations_of(series);
  backtest.observations = static_cast<int>(observations.size());
  const auto constraints = constraints_of(series);
  for (std::size_t cut = 2; cut < observations.size(); ++cut) {
    const std::vector<Observation> known(observations.begin(), observations.begin() + static_cast<std::ptrdiff_t>(cut));
    std::vector<double> times;
    for (std::size_t i = cut; i < observations.size(); ++i) times.push_back(observations[i].time);
    BacktestCut result;
    result.observations = static_cast<int>(cut);
    result.last_known_time = known.back().time;
    try {
      const auto choice = choose_growth_model(series.model, known, constraints);
      result.model = to_string(choice.chosen.kind);
      const auto projected = project_at(choice, known, series.ranges, times, growth.bootstrap_samples, seed);
      result.interval_note = projected.interval_note;
      for (std::size_t i = 0; i < times.size(); ++i) {
        BacktestPoint point;
        point.time = times[i];
        point.actual = observations[cut + i].volume;
        point.projected = projected.point[i];
        if (!projected.log_draws.empty()) {
          const auto [lower, upper] = column_interval(projected.log_draws, i, growth.interval_level);
          point.lower = std::exp(lower);
          point.upper = std::exp(upper);
          point.held = *point.lower <= point.actual && point.actual <= *point.upper;
          ++backtest.with_interval;
          backtest.held += *point.held ? 1 : 0;
        }
        result.points.push_back(point);
      }
    } catch (const InputError& error) {
      // Too few points for the model, or no fit: the cut is reported as such, not skipped.
      result.interval_note = fmt::format("no fit: {}", error.problem());
    }
    backtest.cuts.push_back(std::move(result));
  }
  return backtest;
}

std::vector<YearProjection> project_growth(const GrowthFit& fit, const std::vector<Observation>& observations,
                                           int from_year, int to_year, double level, int samples, std::uint64_t seed) {
  const ModelChoice alone{fit, {fit}, {1.0}, {}};
  return project_series(alone, observations, {}, from_year, to_year, level, samples, seed).years;
}

std::optional<MarketSizeEvidence> check_market_size(GrowthModelKind kind, const std::vector<Observation>& observations,
                                                    const CurveConstraints& constraints,
                                                    const std::optional<ParameterRange>& range) {
  if (kind == GrowthModelKind::exponential || kind == GrowthModelKind::automatic) return std::nullopt;
  const auto fixed = constraints.fixed.find("K");
  const std::optional<double> stated = fixed != constraints.fixed.end() ? std::optional(fixed->second) : constraints.market_size;
  if (!stated || observations.empty()) return std::nullopt;

  double largest = 0;
  for (const auto& observation : observations) largest = std::max(largest, observation.volume);
  // The sum of squares with K held, or infinity when that K has no fit.
  const auto squares_at = [&](double market_size) {
    try {
      const auto fit = fit_growth(kind, observations, holding(constraints, "K", market_size));
      if (fit.observations <= fit.free_parameters) return std::numeric_limits<double>::quiet_NaN();
      double sum = 0;
      for (double residual : fit.log_residuals) sum += residual * residual;
      return sum;
    } catch (const InputError&) {
      return std::numeric_limits<double>::infinity();
    }
  };

  MarketSizeEvidence evidence;
  evidence.kind = kind;
  evidence.assumed_low = range ? range->low : *stated;
  evidence.assumed_high = range ? range->high : *stated;

  // K from just above the data to ten thousand times it, 24 points a decade, and the assumed ones.
  std::vector<double> grid;
  for (double exponent = 0; exponent <= 4.0 + 1e-9; exponent += 1.0 / 24) grid.push_back(largest * 1.001 * std::pow(10.0, exponent));
  grid.push_back(evidence.assumed_low);
  grid.push_back(evidence.assumed_high);
  if (range) {
    for (int k = 1; k < 8; ++k) grid.push_back(range_quantile(*range, k / 8.0, true));
  }
  std::sort(grid.begin(), grid.end());
  std::vector<double> squares;
  for (double market_size : grid) {
    squares.push_back(squares_at(market_size));
    if (std::isnan(squares.back())) return std::nullopt;  // no residual degree of freedom: a flat profile
  }
  const auto n = static_cast<double>(observations.size());
  // Squares below a billionth per point are rounding: the floor keeps an exact fit from making
  // every other K infinitely unlikely.
  const double floor = 1e-18 * n;
  const double best = std::max(*std::min_element(squares.begin(), squares.end()), floor);
  const auto log_ratio = [&](double sum) { return n / 2 * std::log(std::max(sum, floor) / best); };

  double best_assumed = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < grid.size(); ++i) {
    if (grid[i] >= evidence.assumed_low && grid[i] <= evidence.assumed_high) best_assumed = std::min(best_assumed, squares[i]);
  }
  evidence.likelihood_ratio = std::exp(log_ratio(best_assumed));
  const auto supported = [&](double sum) { return 2 * log_ratio(sum) <= kSupportedAt90; };

  // The supported set's ends, refined by bisection between the grid points around each.
  std::optional<std::size_t> first;
  std::size_t last = 0;
  for (std::size_t i = 0; i < grid.size(); ++i) {
    if (!supported(squares[i])) continue;
    if (!first) first = i;
    last = i;
  }
  const auto refine = [&](double inside, double outside) {
    for (int step = 0; step < 30 && std::abs(std::log(outside / inside)) > 1e-3; ++step) {
      const double middle = std::sqrt(inside * outside);
      (supported(squares_at(middle)) ? inside : outside) = middle;
    }
    return inside;
  };
  evidence.supported_low = *first == 0 ? grid.front() : refine(grid[*first], grid[*first - 1]);
  if (last + 1 < grid.size()) evidence.supported_high = refine(grid[last], grid[last + 1]);
  evidence.contradicted = !supported(best_assumed);
  return evidence;
}

std::string describe(const MarketSizeEvidence& evidence) {
  if (!evidence.contradicted) return {};
  const std::string assumed =
      evidence.assumed_low == evidence.assumed_high
          ? fmt::format("the market size of {}", readable_count(evidence.assumed_low))
          : fmt::format("the market size range {} to {}", readable_count(evidence.assumed_low), readable_count(evidence.assumed_high));
  const std::string support =
      evidence.supported_high
          ? fmt::format("between {} and {}", readable_count(evidence.supported_low), readable_count(*evidence.supported_high))
          : fmt::format("of {} or more (no saturation shows in it)", readable_count(evidence.supported_low));
  return fmt::format("the history contradicts {} ({} model): the best fit is {:.3g} times as likely (2 ln LR = {:.1f}), "
                     "and at 90% the data support a market size {}; the projection keeps the assumption, which bounds its "
                     "interval",
                     assumed, to_string(evidence.kind), evidence.likelihood_ratio, 2 * std::log(evidence.likelihood_ratio), support);
}

}  // namespace uptake::sim

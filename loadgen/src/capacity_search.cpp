#include "uptake/loadgen/capacity_search.hpp"

#include "uptake/loadgen/slo.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <boost/math/distributions/normal.hpp>

#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/run_result.hpp"
#include "uptake/loadgen/step_statistics.hpp"

namespace uptake::loadgen {
namespace {

// A trial that carried at least this share of its offered rate kept up with it: its queue did
// not grow through the trial, so its mean response time describes a steady state.
constexpr double kSteadyAchievedRatio = 0.98;
// A second trial at one rate whose generator fell behind stops the search there.
constexpr int kUntrustedTrialsAtOneRate = 2;
// A step's first look holds at least this many times the responses that could show its
// percentile bound with none beyond it: a target near its bound has some beyond, and a look
// that could only pass without any would leave nearly every step near capacity undecided.
constexpr double kResponsesPerLook = 2;
// Each end of the interval is the extreme of several decided steps near the capacity (the
// highest of the passes, the lowest of the fails), and bisection makes about three on each
// side: each verdict's error is divided by as many, so that the end, not only each verdict,
// errs at most (1 - confidence) / 2 of the time. Checked by simulation (capacity_search_test).
constexpr double kDecisionsPerEnd = 3;

using sim::ThresholdMetric;

bool is_upper_bound(sim::Comparison comparison) {
  return comparison == sim::Comparison::less || comparison == sim::Comparison::less_equal;
}

const StepSeries* series_of(const sim::Threshold& threshold, const StepResult& result) {
  if (threshold.endpoint.empty()) return &result.total;
  for (const auto& endpoint : result.endpoints) {
    if (endpoint.name == threshold.endpoint) return &endpoint;
  }
  return nullptr;
}

enum class Call { pass, fail, undecided };

// One threshold on a step's pooled sample.
struct ThresholdCall {
  const sim::Threshold* threshold = nullptr;
  Call call = Call::undecided;
  std::optional<double> observed;
  double margin = -1;
  std::string interval;  // the confidence interval of the figure, formatted; empty when judged as measured
  // For a percentile: the share of responses on the wrong side of its bound, and the most it may be.
  std::optional<ConfidenceBounds> share;
  double allowed = 0;
};

// A percentile threshold pNN<X holds when at most 1 - NN/100 of the responses are beyond X
// (pNN>X: when fewer than NN/100 are at or below it). The responses on the wrong side of X,
// second by second, are the blocks of a proportion whose bounds decide; the interval shown is
// the quantile's, from the same effective sample.
// Per second of `series`, its responses and those for which `counts(nanoseconds)` holds.
template <class Predicate>
std::vector<ProportionBlock> blocks_where(const StepSeries& series, Predicate counts) {
  std::vector<ProportionBlock> blocks;
  for (const auto& second : series.seconds) {
    ProportionBlock block;
    for (const auto& bucket : second.response_times) {
      block.count += static_cast<double>(bucket.count);
      if (counts(bucket.nanoseconds)) block.hits += static_cast<double>(bucket.count);
    }
    blocks.push_back(block);
  }
  return blocks;
}

// The quantile's confidence interval, for people, by the same test the verdict uses: the upper
// bound is the smallest value of the sample beyond which the share of responses is shown to be
// at most `tail` (1 - q), the lower bound the largest beyond which it is shown to be more; "?"
// where the sample is too small to show it (p99.9 needs thousands of responses, and a clustered
// sample counts for fewer). A value X is shown to pass exactly when the upper bound is at most X.
std::string quantile_interval(const HdrHistogram& pooled, double tail, double design_effect, double alpha) {
  const auto total = static_cast<double>(pooled.total_count());
  std::vector<std::pair<double, double>> values;  // (seconds, responses above it), rising
  pooled.for_each_recorded_value([&](const RecordedValue& value) {
    values.emplace_back(static_cast<double>(value.highest) / 1e9, total - static_cast<double>(value.count_at_or_below));
  });
  const auto share_beyond = [&](std::size_t i) { return proportion_bounds({{total / design_effect, values[i].second / design_effect}}, alpha); };
  // Both tests are monotone in the value (fewer responses lie beyond a higher one): bisection.
  const auto first_where = [&](auto holds) {
    std::size_t low = 0, high = values.size();
    while (low < high) {
      const std::size_t middle = (low + high) / 2;
      if (holds(middle)) high = middle;
      else low = middle + 1;
    }
    return low;
  };
  const auto upper = first_where([&](std::size_t i) { return share_beyond(i).upper <= tail; });
  const auto above_lower = first_where([&](std::size_t i) { return !(share_beyond(i).lower > tail); });
  const auto shown = [&](bool found, std::size_t i) { return found ? format_latency(values[i].first) : std::string("?"); };
  return fmt::format("[{}, {}]", shown(above_lower > 0, above_lower - 1), shown(upper < values.size(), upper));
}

ThresholdCall call_percentile(const sim::Threshold& threshold, const StepSeries& series, double alpha) {
  ThresholdCall call;
  const bool upper = is_upper_bound(threshold.comparison);
  const auto bound_ns = threshold.bound * 1e9;
  const bool strict = threshold.comparison == sim::Comparison::less || threshold.comparison == sim::Comparison::greater;
  auto wrong_side = [&](std::int64_t nanoseconds) {
    const auto value = static_cast<double>(nanoseconds);
    if (upper) return strict ? value >= bound_ns : value > bound_ns;
    return strict ? value <= bound_ns : value < bound_ns;
  };
  const auto blocks = blocks_where(series, wrong_side);
  const double allowed = upper ? 1 - threshold.percentile / 100 : threshold.percentile / 100;
  // Beyond a rare bound there are too few hits to show how they cluster; the sample's own p50
  // to p98 are crossed often enough to, and a queue's slow spells cluster its tail at least as
  // much: their design effects are the floor. Not when the slowest response came nowhere near
  // the bound (under half of it): then no spell reached it, and the body's unevenness (timer
  // noise at low load, which made a p99.9 under 1 s undecided after 460 s of 4 ms answers) says
  // nothing of it. (The simulated searches never meet this case near capacity: same figures.)
  double floor = 1;
  const bool nowhere_near = upper && 2 * static_cast<double>(series.response_time.max()) < bound_ns;
  for (const double level : {50.0, 90.0, 95.0, 98.0}) {
    if (nowhere_near) break;
    const auto at = series.response_time.value_at_percentile(level);
    floor = std::max(floor, design_effect(blocks_where(series, [at](std::int64_t nanoseconds) { return nanoseconds > at; })));
  }
  const auto share = proportion_bounds(blocks, alpha, floor);
  call.share = share;
  call.allowed = allowed;
  if (share.count > 0) {
    if (share.upper <= allowed) call.call = Call::pass;
    else if (share.lower > allowed) call.call = Call::fail;
    call.interval = quantile_interval(series.response_time, 1 - threshold.percentile / 100, share.design_effect, alpha);
  } else {
    call.call = Call::fail;  // nothing answered: nothing shows the threshold holds
  }
  return call;
}

ThresholdCall call_mean(const sim::Threshold& threshold, const StepSeries& series, double alpha) {
  ThresholdCall call;
  std::vector<MeanBlock> blocks;
  for (const auto& second : series.seconds) {
    MeanBlock block;
    for (const auto& bucket : second.response_times) {
      block.count += static_cast<double>(bucket.count);
      block.sum += static_cast<double>(bucket.count) * static_cast<double>(bucket.nanoseconds) / 1e9;
    }
    blocks.push_back(block);
  }
  const double spread = series.response_time.stddev() / 1e9;
  const auto mean = mean_bounds(blocks, spread * spread, alpha);
  if (!(mean.count > 0)) {
    call.call = Call::fail;
    return call;
  }
  const bool upper = is_upper_bound(threshold.comparison);
  if (upper ? mean.upper < threshold.bound : mean.lower > threshold.bound) call.call = Call::pass;
  else if (upper ? mean.lower > threshold.bound : mean.upper < threshold.bound) call.call = Call::fail;
  call.interval = fmt::format("[{}, {}]", format_latency(std::max(mean.lower, 0.0)), std::isfinite(mean.upper) ? format_latency(mean.upper) : std::string("?"));
  return call;
}

// Errors per second over the responses completed in it: the engine keeps no per-second count
// of successes, and a request that failed unanswered is counted in the second it failed.
ThresholdCall call_error_rate(const sim::Threshold& threshold, const StepSeries& series, double alpha) {
  ThresholdCall call;
  std::vector<ProportionBlock> blocks;
  for (const auto& second : series.seconds) {
    const double errors = static_cast<double>(second.errors);
    blocks.push_back({std::max(static_cast<double>(second.completed), errors), errors});
  }
  const auto share = proportion_bounds(blocks, alpha);
  const bool upper = is_upper_bound(threshold.comparison);
  if (!(share.count > 0)) call.call = Call::fail;
  else if (upper ? share.upper <= threshold.bound : share.lower >= threshold.bound) call.call = Call::pass;
  else if (upper ? share.lower > threshold.bound : share.upper < threshold.bound) call.call = Call::fail;
  call.interval = fmt::format("[{}, {}]", format_percent(share.lower), format_percent(share.upper));
  return call;
}

// achieved_ratio >= b: the answers completed within the measured windows over the arrivals
// planned in them. While the target keeps up the two differ only by the requests in flight at
// the windows' edges, L = rate x mean response time on average (Little's law), and that number
// varies: by sqrt(L) if it were Poisson, by far more near saturation, where a queue's length
// is nearly geometric (variance L + L^2, the M/M/1 case, the widest). Each edge adds that
// variance; the ratio's interval is the count's, +-z sqrt(2 looks (L + L^2)), over the planned
// arrivals. An overloaded target's backlog grows with the window and soon leaves it.
ThresholdCall call_achieved_ratio(const sim::Threshold& threshold, const StepSeries& series, const StepResult& pooled, int looks, double alpha) {
  ThresholdCall call;
  const double planned = static_cast<double>(series.planned_in_window);
  if (!(planned > 0)) return call;
  const double completed = static_cast<double>(series.completed_in_window);
  const double mean_response = series.response_time.total_count() > 0 ? series.response_time.mean() / 1e9 : 0.0;
  const double in_flight = pooled.window.count() > 0 ? completed / pooled.window.count() * mean_response : 0.0;
  const double z = boost::math::quantile(boost::math::normal(), 1 - alpha);
  const double spread = z * std::sqrt(2 * looks * (in_flight + in_flight * in_flight));
  const double lower = std::max(0.0, (completed - spread) / planned), upper = (completed + spread) / planned;
  const bool at_least = !is_upper_bound(threshold.comparison);
  if (at_least ? lower >= threshold.bound : upper <= threshold.bound) call.call = Call::pass;
  else if (at_least ? upper < threshold.bound : lower > threshold.bound) call.call = Call::fail;
  call.interval = fmt::format("[{:.4f}, {:.4f}]", lower, upper);
  return call;
}

ThresholdCall call_threshold(const sim::Threshold& threshold, const StepResult& pooled, int looks, double alpha) {
  ThresholdCall call;
  const auto* series = series_of(threshold, pooled);
  if (series) {
    switch (threshold.metric) {
      case ThresholdMetric::latency_percentile: call = call_percentile(threshold, *series, alpha); break;
      case ThresholdMetric::latency_mean: call = call_mean(threshold, *series, alpha); break;
      case ThresholdMetric::error_rate: call = call_error_rate(threshold, *series, alpha); break;
      case ThresholdMetric::achieved_ratio: call = call_achieved_ratio(threshold, *series, pooled, looks, alpha); break;
      default: break;  // judged as measured, below
    }
  }
  call.threshold = &threshold;
  call.observed = observed_value(threshold, pooled);
  const bool holds = call.observed && threshold.holds(*call.observed);
  if (!series) call.call = Call::fail;
  else if (threshold.metric != ThresholdMetric::latency_percentile && threshold.metric != ThresholdMetric::latency_mean &&
           threshold.metric != ThresholdMetric::error_rate && threshold.metric != ThresholdMetric::achieved_ratio) {
    call.call = holds ? Call::pass : Call::fail;
  }
  // Nothing observed shows nothing holds: as far from passing as a threshold can be. A bound met
  // exactly by a strict comparison has a margin of 0 and does not hold.
  call.margin = call.observed ? threshold_margin(threshold, *call.observed) : -1.0;
  if (!holds) call.margin = std::min(call.margin, 0.0);
  return call;
}

struct StepCall {
  Call call = Call::pass;
  std::optional<ThresholdCall> binding;  // the SLO's first whole-run percentile bound, if it has one
  ThresholdCall deciding;  // the failed threshold, or an undecided one, or the closest pass
  bool failed_on_errors = false;  // an error threshold failed, and no latency threshold did
};

StepCall call_step(const std::vector<sim::Threshold>& slo, const StepResult& pooled, int looks, double alpha) {
  StepCall step;
  bool latency_failed = false, errors_failed = false;
  auto rank = [](Call call) { return call == Call::fail ? 0 : call == Call::undecided ? 1 : 2; };
  for (const auto& threshold : slo) {
    auto call = call_threshold(threshold, pooled, looks, alpha);
    if (!step.binding && call.share && threshold.endpoint.empty() && is_upper_bound(threshold.comparison)) step.binding = call;
    if (call.call == Call::fail) (threshold.metric == ThresholdMetric::error_rate ? errors_failed : latency_failed) = true;
    const bool first = step.deciding.threshold == nullptr;
    if (first || rank(call.call) < rank(step.deciding.call) || (rank(call.call) == rank(step.deciding.call) && call.margin < step.deciding.margin)) {
      step.deciding = std::move(call);
    }
  }
  step.call = step.deciding.threshold ? step.deciding.call : Call::pass;
  step.failed_on_errors = errors_failed && !latency_failed;
  return step;
}

// Error classes that more load does not cause, and less does not cure.
bool load_independent(ErrorClass error) {
  switch (error) {
    case ErrorClass::connect:
    case ErrorClass::tls:
    case ErrorClass::protocol:
    case ErrorClass::http_4xx:
    case ErrorClass::missing_capture:
    case ErrorClass::check_failed:
    case ErrorClass::unsafe_value:
    case ErrorClass::redirect: return true;
    default: return false;
  }
}

void check_options(const CapacitySearchOptions& options) {
  auto require = [](bool condition, const char* what) {
    if (!condition) throw std::invalid_argument(fmt::format("capacity search: {}", what));
  };
  require(options.start_rps > 0 && std::isfinite(options.start_rps), "start_rps must be positive and finite");
  require(options.growth_factor > 1 && std::isfinite(options.growth_factor), "growth_factor must be above 1");
  require(options.precision > 0 && std::isfinite(options.precision), "precision must be positive");
  require(options.min_rps > 0 && options.min_rps <= options.start_rps, "min_rps must be positive and at most start_rps");
  require(options.max_rps >= options.start_rps && std::isfinite(options.max_rps), "max_rps must be finite and at least start_rps");
  require(options.step_duration.count() >= 1, "step_duration must be at least 1 s");
  require(options.max_looks >= 1, "max_looks must be at least 1");
  require(options.confidence > 0 && options.confidence < 1, "confidence must be in (0, 1)");
  require(options.min_warm_up.count() >= 0 && options.max_warm_up >= options.min_warm_up, "warm-ups must satisfy 0 <= min_warm_up <= max_warm_up");
  require(options.warm_up_response_times >= 0, "warm_up_response_times must not be negative");
  require(options.max_trials >= 1, "max_trials must be at least 1");
  require(options.max_elapsed.count() > 0, "max_elapsed must be positive");
  require(options.default_achieved_ratio >= 0 && options.default_achieved_ratio <= 1, "default_achieved_ratio must be in [0, 1]");
  require(options.default_error_rate >= 0 && options.default_error_rate <= 1, "default_error_rate must be in [0, 1]");
}

// The SLO judged: the given thresholds, and the default achieved ratio and error rate unless
// thresholds of their kinds are given.
std::vector<sim::Threshold> judged_slo(const CapacitySearchOptions& options) {
  auto slo = options.slo;
  auto add_unless_given = [&](ThresholdMetric metric, const std::string& text) {
    const bool given = std::any_of(slo.begin(), slo.end(), [&](const sim::Threshold& threshold) { return threshold.metric == metric && threshold.endpoint.empty(); });
    if (given) return;
    std::string problem;
    auto parsed = sim::parse_threshold(text, problem);
    if (!parsed) throw std::logic_error(problem);
    slo.push_back(std::move(*parsed));
  };
  add_unless_given(ThresholdMetric::achieved_ratio, fmt::format("achieved_ratio>={}", options.default_achieved_ratio));
  add_unless_given(ThresholdMetric::error_rate, fmt::format("error_rate<{}%", options.default_error_rate * 100));
  return slo;
}

// Up to whole seconds (the engine counts per second); 0 for a negative time.
Seconds whole_seconds(double seconds) { return Seconds{std::ceil(std::max(seconds, 0.0) - 1e-9)}; }

class Search {
 public:
  Search(const CapacitySearchOptions& options, const TrialRunner& run_trial)
      : options_(options), run_trial_(run_trial), slo_(judged_slo(options)),
        alpha_per_look_((1 - options.confidence) / 2 / options.max_looks / kDecisionsPerEnd), responses_to_decide_(responses_to_decide()) {
    for (const auto& threshold : slo_) result_.slo.push_back(threshold.text);
    result_.confidence = options.confidence;
  }

  CapacitySearchResult run() {
    while (true) {
      const auto next = next_rate();
      if (!next) return finish();
      const auto [rate, phase] = *next;
      if (!decide(rate, phase)) return finish();
    }
  }

 private:
  struct Tried {
    double rate = 0;
    StepVerdict verdict = StepVerdict::undecided;
    double margin = 0;           // the deciding threshold's margin on the pooled sample
    Seconds mean_response{0};
    // The binding percentile's share beyond its bound on the pooled sample: hits of count,
    // worth count / design_effect independent responses (hits 0 with no such threshold).
    double hits = 0, count = 0, design_effect = 1, allowed = 0;
  };

  // The ends of the interval. Latency only grows with the rate, so a verdict that its
  // neighbours contradict is the likelier error of the two: a pass above a rate whose pooled
  // sample broke the bound (though not with confidence), or a fail below a rate whose sample
  // met it, does not set an end.
  bool contradicted(const Tried& decided) const {
    return std::any_of(tried_.begin(), tried_.end(), [&](const Tried& other) {
      if (other.verdict != StepVerdict::undecided) return false;
      return decided.verdict == StepVerdict::pass ? other.rate < decided.rate && other.margin < 0 : other.rate > decided.rate && other.margin >= 0;
    });
  }
  double highest_pass() const {
    double pass = 0;
    const double fail = lowest_fail();
    for (const auto& step : tried_) {
      if (step.verdict == StepVerdict::pass && (fail == 0 || step.rate < fail) && !contradicted(step)) pass = std::max(pass, step.rate);
    }
    return pass;
  }
  double lowest_fail() const {
    double fail = 0;
    for (const auto& step : tried_) {
      if (step.verdict == StepVerdict::fail && (fail == 0 || step.rate < fail) && !contradicted(step)) fail = step.rate;
    }
    return fail;
  }
  // The lowest rate above `pass` that did not pass (failed or undecided); 0: none.
  double lowest_non_pass_above(double pass) const {
    double rate = 0;
    for (const auto& step : tried_) {
      if (step.verdict != StepVerdict::pass && step.rate > pass && (rate == 0 || step.rate < rate)) rate = step.rate;
    }
    return rate;
  }

  // The highest rate below `fail` that did not fail (passed or undecided).
  double highest_non_fail_below(double fail) const {
    double rate = 0;
    for (const auto& step : tried_) {
      if (step.verdict != StepVerdict::fail && step.rate < fail) rate = std::max(rate, step.rate);
    }
    return rate;
  }

  // The next rate by rule 3 of the header, or nothing when the search is over (outcome_ set).
  std::optional<std::pair<double, CapacityPhase>> next_rate() {
    if (tried_.empty()) return std::pair{options_.start_rps, CapacityPhase::grow};
    const double pass = highest_pass(), fail = lowest_fail();
    if (pass == 0) {
      double lowest = tried_.front().rate;
      for (const auto& step : tried_) lowest = std::min(lowest, step.rate);
      const double rate = lowest / options_.growth_factor;
      if (rate < options_.min_rps) return stop(CapacityOutcome::no_passing_rate);
      return std::pair{rate, CapacityPhase::descend};
    }
    if (fail == 0) {
      double highest = 0;
      for (const auto& step : tried_) highest = std::max(highest, step.rate);
      if (highest >= options_.max_rps) return stop(CapacityOutcome::ceiling);
      return std::pair{std::min(highest * options_.growth_factor, options_.max_rps), CapacityPhase::grow};
    }
    const double above = lowest_non_pass_above(pass);
    if ((above - pass) / pass > options_.precision) return std::pair{(pass + above) / 2, CapacityPhase::bisect};
    // The lower end is settled; steps that stayed undecided above it leave the upper end far
    // off: bisect between the highest rate tried below the fail that did not fail, and the fail.
    const double open = highest_non_fail_below(fail);
    if ((fail - open) / open > options_.precision) return std::pair{(open + fail) / 2, CapacityPhase::bisect};
    return stop(CapacityOutcome::found);
  }

  std::nullopt_t stop(CapacityOutcome outcome) {
    outcome_ = outcome;
    return std::nullopt;
  }

  bool budget_left() const { return result_.trials < options_.max_trials && result_.elapsed < options_.max_elapsed; }

  // Rule 1: the warm-up before a trial at `rate`.
  Seconds warm_up_for(double rate) const {
    Seconds slowest{0};
    for (const auto& step : tried_) {
      if (step.rate <= rate && step.verdict != StepVerdict::fail) slowest = std::max(slowest, step.mean_response);
    }
    const double seconds = std::clamp(options_.warm_up_response_times * slowest.count(), options_.min_warm_up.count(), options_.max_warm_up.count());
    return whole_seconds(seconds);
  }

  // Look `look` (1-based) of a step at `rate`: a base length, then as long again, then
  // doubling. The base is step_duration, or longer when the rate brings too few responses in it
  // to decide: the SLO's responses_to_decide.
  Seconds look_length(double rate, int look) const {
    const Seconds base = std::max(options_.step_duration, whole_seconds(kResponsesPerLook * responses_to_decide_ / rate));
    return base * (look <= 2 ? 1.0 : std::pow(2.0, look - 2));
  }

  // The fewest responses in which a share of at most `allowed` can be shown at alpha_per_look_:
  // when none of them is on the wrong side, the Clopper-Pearson upper bound 1 - alpha^(1/n)
  // falls to `allowed` at n = ln(alpha) / ln(1 - allowed). p99 at the default 0.33% per look
  // needs 568.
  double responses_needed(double allowed) const {
    if (!(allowed > 0 && allowed < 1)) return 0;
    return std::ceil(std::log(alpha_per_look_) / std::log1p(-allowed));
  }
  double responses_to_decide() const {
    double most = 0;
    for (const auto& threshold : slo_) {
      if (threshold.metric == ThresholdMetric::latency_percentile && is_upper_bound(threshold.comparison)) most = std::max(most, responses_needed(1 - threshold.percentile / 100));
      if (threshold.metric == ThresholdMetric::error_rate && is_upper_bound(threshold.comparison)) most = std::max(most, responses_needed(threshold.bound));
    }
    return most;
  }

  // Runs looks at `rate` until the step is decided (rule 2); false when the search must stop.
  bool decide(double rate, CapacityPhase phase) {
    ++step_number_;
    std::optional<StepResult> pooled;
    int untrusted = 0, looks = 0;
    Tried tried{rate, StepVerdict::undecided, -1, Seconds{0}};
    for (int trial = 1;; ++trial) {
      if (!budget_left()) return stop_search(CapacityOutcome::budget_exhausted);
      // No look longer than what is left of the budget (but a step's duration at least): a
      // slow rate's look may need many minutes, and a search told to take ten seconds must not
      // spend them on one trial.
      const auto warm_up = warm_up_for(rate);
      const auto left = whole_seconds((options_.max_elapsed - result_.elapsed - warm_up).count());
      const TrialLength length{warm_up, std::min(look_length(rate, looks + 1), std::max(options_.step_duration, left))};
      auto measured = run_trial_(rate, length);
      ++result_.trials;
      result_.elapsed += measured.elapsed;
      if (measured.interrupted) {
        auto step = record(measured, phase, trial, length);
        step.verdict = StepVerdict::interrupted;
        publish(std::move(step));
        return stop_search(CapacityOutcome::interrupted);
      }
      if (!measured.generator_trusted) {
        auto step = record(measured, phase, trial, length);
        step.generator_trusted = false;
        step.generator_problem = measured.generator_problem;
        if (++untrusted < kUntrustedTrialsAtOneRate) {
          publish(std::move(step));
          continue;
        }
        step.verdict = StepVerdict::generator_limit;
        generator_problem_ = measured.generator_problem;
        generator_rate_ = rate;
        publish(std::move(step));
        return stop_search(CapacityOutcome::generator_limit);
      }
      // The models want the target's own service time, which queueing inside the target
      // inflates as load grows: keep the lowest-rate trusted trial's, wherever the search went.
      if (result_.low_load_rps == 0 || rate < result_.low_load_rps) {
        result_.low_load_service_times = measured.service_times;
        result_.low_load_server_times = measured.server_times;
        result_.low_load_rps = rate;
      }
      ++looks;
      if (pooled) pooled->pool(measured);
      else pooled = measured;
      const auto call = call_step(slo_, *pooled, looks, alpha_per_look_);
      auto step = record(*pooled, phase, trial, length);
      step.trial_passed = call.call == Call::pass;
      step.worst_margin = call.deciding.margin;
      if (call.deciding.threshold) {
        step.worst_threshold = call.deciding.threshold->text;
        step.worst_observed = format_observed(*call.deciding.threshold, call.deciding.observed);
        step.worst_interval = call.deciding.interval;
      }
      if (call.call == Call::pass) step.verdict = StepVerdict::pass;
      else if (call.call == Call::fail) step.verdict = StepVerdict::fail;
      else if (looks >= options_.max_looks) step.verdict = StepVerdict::undecided;
      // Rule 5: before any pass, errors that load does not cause end the search.
      if (call.call == Call::fail && call.failed_on_errors && highest_pass() == 0 && mostly_load_independent(measured)) {
        step.verdict = StepVerdict::load_independent;
        for (std::size_t i = 0; i < measured.errors.size(); ++i) {
          if (measured.errors[i] > 0) result_.failure_classes.emplace_back(to_string(static_cast<ErrorClass>(i)), measured.errors[i]);
        }
        result_.sample_error = measured.sample_error;
        last_failure_ = fmt::format("{} was {}", step.worst_threshold, step.worst_observed);
        publish(std::move(step));
        return stop_search(CapacityOutcome::load_independent);
      }
      if (step.verdict == StepVerdict::fail) last_failure_ = fmt::format("{} was {}", step.worst_threshold, step.worst_observed);
      tried.verdict = step.verdict;
      tried.margin = step.worst_margin;
      tried.mean_response = step.mean;
      if (call.binding && call.binding->share) {
        tried.hits = call.binding->share->estimate * call.binding->share->count;
        tried.count = call.binding->share->count;
        tried.design_effect = call.binding->share->design_effect;
        tried.allowed = call.binding->allowed;
      }
      const auto verdict = step.verdict;
      publish(std::move(step));
      if (verdict != StepVerdict::pending) break;
    }
    if (tried.verdict == StepVerdict::undecided) ++result_.undecided_steps;
    tried_.push_back(tried);
    return true;
  }

  static bool mostly_load_independent(const StepResult& measured) {
    std::uint64_t independent = 0, all = 0;
    for (std::size_t i = 0; i < measured.errors.size(); ++i) {
      all += measured.errors[i];
      if (load_independent(static_cast<ErrorClass>(i))) independent += measured.errors[i];
    }
    return all > 0 && 2 * independent > all;
  }

  bool stop_search(CapacityOutcome outcome) {
    outcome_ = outcome;
    return false;
  }

  CapacityStep record(const StepResult& measured, CapacityPhase phase, int trial, const TrialLength& length) const {
    CapacityStep step;
    step.step = step_number_;
    step.trial = trial;
    step.phase = phase;
    step.offered_rps = measured.offered_rps;
    step.planned_rps = measured.planned_rps();
    step.achieved_rps = measured.achieved_rps();
    step.planned = measured.total.planned;
    step.completed = measured.total.completed;
    step.errors = measured.total.errors;
    step.error_rate = measured.total.error_rate();
    step.p50 = measured.total.latency_at(50);
    step.p90 = measured.total.latency_at(90);
    step.p99 = measured.total.latency_at(99);
    step.p999 = measured.total.latency_at(99.9);
    step.mean = Seconds{measured.total.response_time.total_count() ? measured.total.response_time.mean() / 1e9 : 0.0};
    step.schedule_lag_p99 = measured.schedule_lag_p99;
    step.warm_up = length.warm_up;
    step.measured = measured.window;
    return step;
  }

  void publish(CapacityStep step) {
    if (options_.on_step) options_.on_step(step);
    result_.steps.push_back(std::move(step));
  }

  // Rule 4, the estimate within [pass, fail]. With a whole-run percentile bound pNN<X, where the
  // share of responses beyond X reaches 1 - NN/100: the log of that share grows about linearly
  // with the rate near capacity (exactly, for M/M/1: P(R > X) = exp(-(mu - lambda) X)), so a
  // straight line is fitted to log(share) against the rate over the steps tried in [pass, fail]
  // with hits beyond X (and not overloaded: a share above 20% is a growing backlog, not a
  // steady tail), each weighted by its hits over its design effect (the inverse variance of a
  // log share). Every step's pooled sample counts, which matters where the percentile moves
  // slowly with the rate (one server: +10% of rate, +7% of p99) and a single step's p99 is
  // noisier than the difference between neighbours. Otherwise, or when the fit does not rise:
  // where the deciding margin crosses zero between neighbouring rates.
  double interpolated(double pass, double fail) const {
    std::vector<Tried> within;
    for (const auto& step : tried_) {
      if (step.rate >= pass && step.rate <= fail) within.push_back(step);
    }
    std::sort(within.begin(), within.end(), [](const Tried& a, const Tried& b) { return a.rate < b.rate; });
    if (const auto fitted = fitted_crossing(within)) return std::clamp(*fitted, pass, fail);
    for (std::size_t i = 0; i + 1 < within.size(); ++i) {
      const auto& below = within[i];
      const auto& above = within[i + 1];
      if (below.margin >= 0 && above.margin < 0) {
        const double share = below.margin / (below.margin - above.margin);
        return std::clamp(below.rate + share * (above.rate - below.rate), pass, fail);
      }
    }
    return pass;
  }

  static std::optional<double> fitted_crossing(const std::vector<Tried>& steps) {
    constexpr double kOverloadedShare = 0.2;
    double weight = 0, mean_rate = 0, mean_log = 0, allowed = 0;
    std::vector<std::pair<double, double>> points;  // (rate, log share), with weights below
    std::vector<double> weights;
    for (const auto& step : steps) {
      if (!(step.hits > 0 && step.count > 0 && step.allowed > 0) || step.hits / step.count > kOverloadedShare) continue;
      const double w = step.hits / step.design_effect;
      points.emplace_back(step.rate, std::log(step.hits / step.count));
      weights.push_back(w);
      weight += w;
      mean_rate += w * step.rate;
      mean_log += w * points.back().second;
      allowed = step.allowed;
    }
    if (points.size() < 2) return std::nullopt;
    mean_rate /= weight;
    mean_log /= weight;
    double covariance = 0, variance = 0;
    for (std::size_t i = 0; i < points.size(); ++i) {
      covariance += weights[i] * (points[i].first - mean_rate) * (points[i].second - mean_log);
      variance += weights[i] * (points[i].first - mean_rate) * (points[i].first - mean_rate);
    }
    if (!(variance > 0) || !(covariance > 0)) return std::nullopt;
    const double slope = covariance / variance;
    const double crossing = mean_rate + (std::log(allowed) - mean_log) / slope;
    // Interpolation only: past the rates fitted the share climbs faster than any line (a
    // queue's tail steepens toward saturation), and a line would claim too much.
    const auto [lowest, highest] = std::minmax_element(points.begin(), points.end());
    if (crossing < lowest->first || crossing > highest->first) return std::nullopt;
    return crossing;
  }

  CapacitySearchResult finish() {
    result_.outcome = outcome_;
    const double pass = highest_pass(), fail = lowest_fail();
    result_.lower_rps = pass;
    result_.upper_rps = fail;
    switch (outcome_) {
      case CapacityOutcome::found: result_.capacity_rps = interpolated(pass, fail); break;
      case CapacityOutcome::ceiling: result_.capacity_rps = options_.max_rps; break;
      case CapacityOutcome::no_passing_rate:
      case CapacityOutcome::load_independent: result_.capacity_rps = 0; break;
      default: result_.capacity_rps = pass; break;
    }
    std::string slo;
    for (const auto& text : result_.slo) slo += (slo.empty() ? "" : ", ") + text;
    const auto at_least = pass > 0 ? fmt::format("the target carried {} within the SLO, so its capacity is at least that", format_rate(pass))
                                   : std::string("no rate passed before that");
    const auto undecided = result_.undecided_steps > 0
                               ? fmt::format("; {} step(s) stayed undecided after {} looks (counted as not passed)", result_.undecided_steps, options_.max_looks)
                               : std::string();
    switch (outcome_) {
      case CapacityOutcome::found:
        result_.explanation = fmt::format("capacity {} with {}: {} passed and {} failed, each with {:.0f}% confidence, so the capacity lies in [{}, {}] "
                                          "with {:.0f}% confidence{}",
                                          format_rate(result_.capacity_rps), slo, format_rate(pass), format_rate(fail), (1 + options_.confidence) / 2 * 100,
                                          format_rate(pass), format_rate(fail), options_.confidence * 100, undecided);
        break;
      case CapacityOutcome::generator_limit:
        result_.explanation = fmt::format("stopped at the generator's limit: it could not offer {} ({}); {}", format_rate(generator_rate_),
                                          generator_problem_, at_least);
        break;
      case CapacityOutcome::ceiling:
        result_.explanation = fmt::format("the SLO held up to the search's ceiling of {}: the capacity is at least that", format_rate(options_.max_rps));
        break;
      case CapacityOutcome::no_passing_rate:
        result_.explanation = fmt::format("no rate down to {} met the SLO ({}){}", format_rate(options_.min_rps), last_failure_, undecided);
        break;
      case CapacityOutcome::load_independent: {
        std::string classes;
        for (const auto& [name, count] : result_.failure_classes) classes += fmt::format("{}{} {}", classes.empty() ? "" : ", ", count, name);
        result_.explanation = fmt::format("the target failed at {} on errors that load does not cause ({}: {}); no lower rate would pass, so the search "
                                          "stopped after one step{}",
                                          format_rate(tried_.empty() ? options_.start_rps : tried_.back().rate), last_failure_, classes,
                                          result_.sample_error.empty() ? std::string() : "; a failed answer: " + result_.sample_error);
        break;
      }
      case CapacityOutcome::budget_exhausted:
        result_.explanation = fmt::format("stopped after {} trial(s) and {} of trials, the search's budget; {}", result_.trials,
                                          format_duration(result_.elapsed), at_least);
        break;
      case CapacityOutcome::interrupted:
        result_.explanation = fmt::format("interrupted; {}", at_least);
        break;
    }
    return std::move(result_);
  }

  const CapacitySearchOptions& options_;
  const TrialRunner& run_trial_;
  std::vector<sim::Threshold> slo_;
  double alpha_per_look_;
  double responses_to_decide_;  // see responses_to_decide
  CapacitySearchResult result_;
  CapacityOutcome outcome_ = CapacityOutcome::budget_exhausted;
  std::vector<Tried> tried_;  // every decided (or undecided) step, in order
  int step_number_ = 0;
  std::string generator_problem_;
  double generator_rate_ = 0;
  std::string last_failure_;
};

}  // namespace

StepSeries::StepSeries() : response_time(make_latency_histogram()) {}

double StepSeries::error_rate() const { return loadgen::error_rate(ok, errors); }

Seconds StepSeries::latency_at(double percentile) const {
  return Seconds{static_cast<double>(response_time.value_at_percentile(percentile)) / 1e9};
}

double StepSeries::achieved_ratio() const { return loadgen::achieved_ratio(completed_in_window, planned_in_window); }

void StepSeries::pool(const StepSeries& other) {
  static_cast<RequestCounts&>(*this) += other;
  planned_in_window += other.planned_in_window;
  completed_in_window += other.completed_in_window;
  response_time.add(other.response_time);
  seconds.insert(seconds.end(), other.seconds.begin(), other.seconds.end());
}

void StepResult::pool(const StepResult& other) {
  window += other.window;
  warm_up = other.warm_up;
  elapsed += other.elapsed;
  schedule_lag_p99 = std::max(schedule_lag_p99, other.schedule_lag_p99);
  total.pool(other.total);
  for (const auto& series : other.endpoints) {
    const auto same = std::find_if(endpoints.begin(), endpoints.end(), [&](const StepSeries& mine) { return mine.name == series.name; });
    if (same == endpoints.end()) endpoints.push_back(series);
    else same->pool(series);
  }
  for (std::size_t i = 0; i < errors.size(); ++i) errors[i] += other.errors[i];
  if (sample_error.empty()) sample_error = other.sample_error;
}

bool is_lower_bound(CapacityOutcome outcome) {
  return outcome == CapacityOutcome::generator_limit || outcome == CapacityOutcome::ceiling || outcome == CapacityOutcome::budget_exhausted ||
         outcome == CapacityOutcome::interrupted;
}

double StepResult::planned_rps() const {
  return window.count() > 0 ? static_cast<double>(total.planned_in_window) / window.count() : 0.0;
}

double StepResult::achieved_rps() const {
  return window.count() > 0 ? static_cast<double>(total.completed_in_window) / window.count() : 0.0;
}

const char* to_string(CapacityPhase phase) {
  switch (phase) {
    case CapacityPhase::grow: return "grow";
    case CapacityPhase::descend: return "descend";
    case CapacityPhase::bisect: return "bisect";
  }
  return "?";
}

const char* to_string(StepVerdict verdict) {
  switch (verdict) {
    case StepVerdict::pending: return "pending";
    case StepVerdict::pass: return "pass";
    case StepVerdict::fail: return "fail";
    case StepVerdict::generator_limit: return "generator_limit";
    case StepVerdict::undecided: return "undecided";
    case StepVerdict::interrupted: return "interrupted";
    case StepVerdict::load_independent: return "load_independent";
  }
  return "?";
}

const char* to_string(CapacityOutcome outcome) {
  switch (outcome) {
    case CapacityOutcome::found: return "found";
    case CapacityOutcome::generator_limit: return "generator_limit";
    case CapacityOutcome::ceiling: return "ceiling";
    case CapacityOutcome::no_passing_rate: return "no_passing_rate";
    case CapacityOutcome::load_independent: return "load_independent";
    case CapacityOutcome::budget_exhausted: return "budget_exhausted";
    case CapacityOutcome::interrupted: return "interrupted";
  }
  return "?";
}

void check_capacity_slo(const std::vector<sim::Threshold>& slo, const std::vector<std::string>& endpoints, const std::string& field) {
  for (const auto& threshold : slo) {
    if (threshold.metric == ThresholdMetric::throughput) {
      throw InputError({}, field, fmt::format("'{}' is a throughput threshold, which a capacity search cannot use: a higher offered rate only makes it easier to meet", threshold.text),
                       "latency (p99<300ms, mean<50ms, max<2s), error_rate<0.1% or achieved_ratio>0.99");
    }
    if (!endpoints.empty()) check_endpoint_of(threshold, endpoints, {}, field, "the target");
  }
}

double threshold_margin(const sim::Threshold& threshold, double observed) {
  const bool holds = threshold.holds(observed);
  if (threshold.metric == ThresholdMetric::achieved_ratio && !is_upper_bound(threshold.comparison) && threshold.bound <= 1) {
    const double allowed_shortfall = 1 - threshold.bound;
    if (allowed_shortfall <= 0) return holds ? 1.0 : -1.0;
    return std::min(1.0, (allowed_shortfall - (1 - observed)) / allowed_shortfall);
  }
  if (threshold.bound <= 0) return holds ? 1.0 : -1.0;
  const double margin = is_upper_bound(threshold.comparison) ? (threshold.bound - observed) / threshold.bound : (observed - threshold.bound) / threshold.bound;
  return std::min(1.0, margin);
}

std::optional<double> observed_value(const sim::Threshold& threshold, const StepResult& result) {
  const auto* series = series_of(threshold, result);
  if (!series) return std::nullopt;
  // A step's counts are its window's (StepSeries::achieved_ratio says why); the definitions of
  // the metrics are the SLO module's, the same as for a run.
  const double window = result.window.count();
  RequestCounts in_window = *series;
  in_window.planned = series->planned_in_window;
  in_window.completed = series->completed_in_window;
  return loadgen::observed_value(threshold, {in_window, window > 0 ? static_cast<double>(series->completed_in_window) / window : 0.0, &series->response_time,
                                             series->completed_in_window});
}

CapacitySearchResult search_capacity(const CapacitySearchOptions& options, const TrialRunner& run_trial) {
  check_options(options);
  check_capacity_slo(options.slo, {}, "slo");
  return Search(options, run_trial).run();
}

std::string format_step_line(const CapacityStep& step) {
  std::string verdict;
  switch (step.verdict) {
    case StepVerdict::pending: verdict = !step.generator_trusted ? "generator behind, again" : "undecided, longer"; break;
    case StepVerdict::pass: verdict = "PASS"; break;
    case StepVerdict::fail: verdict = "FAIL"; break;
    case StepVerdict::undecided: verdict = "UNDECIDED (not passed)"; break;
    case StepVerdict::generator_limit: verdict = "GENERATOR LIMIT"; break;
    case StepVerdict::interrupted: verdict = "interrupted"; break;
    case StepVerdict::load_independent: verdict = "FAIL, at any load"; break;
  }
  const auto interval = step.worst_interval.empty() ? std::string() : " " + step.worst_interval;
  const auto why = !step.generator_trusted       ? fmt::format("  ({})", step.generator_problem)
                   : step.worst_threshold.empty() ? std::string()
                                                  : fmt::format("  ({} was {}{})", step.worst_threshold, step.worst_observed, interval);
  return fmt::format("  step {:>2}.{} {:<7} {:>10} offered {:>10} achieved  {:>4.0f} s  p50 {:>9}  p99 {:>9}  errors {:.2f}%  {}{}", step.step, step.trial,
                     to_string(step.phase), format_rate(step.offered_rps), format_rate(step.achieved_rps), step.measured.count(),
                     format_duration(step.p50), format_duration(step.p99), step.error_rate * 100, verdict, why);
}

std::optional<sim::ScalabilityFit> fit_scalability_to_steps(const std::vector<CapacityStep>& steps) {
  std::vector<sim::ScalabilityPoint> points;
  for (const auto& step : steps) {
    const double load = step.achieved_rps * step.mean.count();  // Little's law: mean requests in the system
    if (!step.generator_trusted || !(load > 0) || !(step.achieved_rps > 0)) continue;
    // An overloaded open-loop trial is not in a steady state: its queue, and so its load by
    // Little's law, grows for as long as the trial lasts. Only steady trials are points of X(N).
    if (step.achieved_rps < kSteadyAchievedRatio * step.offered_rps) continue;
    points.push_back({load, step.achieved_rps});
  }
  try {
    auto fit = sim::fit_scalability(points);
    if (!fit.converged) return std::nullopt;
    return fit;
  } catch (const std::invalid_argument&) {
    return std::nullopt;  // fewer than three distinct loads: nothing to fit
  }
}

}  // namespace uptake::loadgen

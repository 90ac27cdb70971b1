#include "uptake/loadgen/capacity_search.hpp"

#include "uptake/loadgen/slo.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/run_result.hpp"

namespace uptake::loadgen {
namespace {

// A trial that carried at least this share of its offered rate kept up with it: its queue did
// not grow through the trial, so its mean response time describes a steady state.
constexpr double kSteadyAchievedRatio = 0.98;

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

struct TrialJudgement {
  bool passed = true;
  double worst_margin = 1;
  const sim::Threshold* worst = nullptr;
  std::optional<double> worst_observed;
};

TrialJudgement judge(const std::vector<sim::Threshold>& slo, const StepResult& result) {
  TrialJudgement judgement;
  for (const auto& threshold : slo) {
    const auto observed = observed_value(threshold, result);
    const bool holds = observed && threshold.holds(*observed);
    // Nothing observed shows nothing holds: as far from passing as a threshold can be.
    double margin = observed ? threshold_margin(threshold, *observed) : -1.0;
    // A bound met exactly by a strict comparison fails with a margin of 0: still a fail.
    if (!holds) margin = std::min(margin, 0.0);
    judgement.passed = judgement.passed && holds;
    if (!judgement.worst || margin < judgement.worst_margin || (margin == judgement.worst_margin && !holds)) {
      judgement.worst_margin = margin;
      judgement.worst = &threshold;
      judgement.worst_observed = observed;
    }
  }
  return judgement;
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
  require(options.confirmation_duration.count() >= 1, "confirmation_duration must be at least 1 s");
  require(options.confirmation_step_down > 0 && options.confirmation_step_down < 1, "confirmation_step_down must be in (0, 1)");
  require(options.confirmation_attempts >= 1, "confirmation_attempts must be at least 1");
  require(options.close_margin >= 0, "close_margin must not be negative");
  require(options.trials_per_close_step >= 1 && options.trials_per_close_step % 2 == 1, "trials_per_close_step must be odd and at least 1");
  require(options.max_trials >= 1, "max_trials must be at least 1");
  require(options.max_elapsed.count() > 0, "max_elapsed must be positive");
  require(options.default_achieved_ratio >= 0 && options.default_achieved_ratio <= 1, "default_achieved_ratio must be in [0, 1]");
}

// The SLO judged: the given thresholds, and the default achieved ratio unless one is given.
std::vector<sim::Threshold> judged_slo(const CapacitySearchOptions& options) {
  auto slo = options.slo;
  const bool has_ratio = std::any_of(slo.begin(), slo.end(), [](const sim::Threshold& threshold) {
    return threshold.metric == ThresholdMetric::achieved_ratio && threshold.endpoint.empty();
  });
  if (!has_ratio) {
    std::string problem;
    auto ratio = sim::parse_threshold(fmt::format("achieved_ratio>={}", options.default_achieved_ratio), problem);
    if (!ratio) throw std::logic_error(problem);
    slo.push_back(std::move(*ratio));
  }
  return slo;
}

class Search {
 public:
  enum class Decision { pass, fail, generator_limit, budget_exhausted, interrupted };

  Search(const CapacitySearchOptions& options, const TrialRunner& run_trial) : options_(options), run_trial_(run_trial), slo_(judged_slo(options)) {
    for (const auto& threshold : slo_) result_.slo.push_back(threshold.text);
  }

  CapacitySearchResult run() {
    if (!find_bracket()) return finish();
    while (fail_ > 0 && (fail_ - pass_) / pass_ > options_.precision) {
      const double middle = (pass_ + fail_) / 2;
      if (!take(middle, decide(middle, CapacityPhase::bisect, options_.step_duration))) return finish();
    }
    confirm();
    return finish();
  }

 private:
  // Growth from start_rps (or descent when it fails) until a pass and a fail bracket the
  // capacity. False when the search ends there.
  bool find_bracket() {
    double rate = options_.start_rps;
    auto decision = decide(rate, CapacityPhase::grow, options_.step_duration);
    if (!take(rate, decision)) return false;
    if (decision == Decision::pass) {
      while (true) {
        if (rate >= options_.max_rps) return stop(CapacityOutcome::ceiling);
        rate = std::min(rate * options_.growth_factor, options_.max_rps);
        decision = decide(rate, CapacityPhase::grow, options_.step_duration);
        if (!take(rate, decision)) return false;
        if (decision == Decision::fail) return true;
      }
    }
    while (true) {
      rate /= options_.growth_factor;
      if (rate < options_.min_rps) return stop(CapacityOutcome::no_passing_rate);
      decision = decide(rate, CapacityPhase::descend, options_.step_duration);
      if (!take(rate, decision)) return false;
      if (decision == Decision::pass) return true;
    }
  }

  void confirm() {
    double rate = pass_;
    for (int attempt = 0; attempt < options_.confirmation_attempts; ++attempt) {
      if (attempt > 0) rate *= 1 - options_.confirmation_step_down;
      if (rate < options_.min_rps) break;
      const auto decision = decide(rate, CapacityPhase::confirm, options_.confirmation_duration);
      if (!take(rate, decision)) return;
      if (decision == Decision::pass) {
        outcome_ = CapacityOutcome::found;
        result_.capacity_rps = rate;
        return;
      }
    }
    outcome_ = CapacityOutcome::confirmation_failed;
  }

  // Records a decision in the bracket; false when the search must stop (generator limit, budget).
  bool take(double rate, Decision decision) {
    switch (decision) {
      case Decision::pass:
        passed_.push_back(rate);
        pass_ = std::max(pass_, rate);
        return true;
      case Decision::fail:
        fail_ = fail_ > 0 ? std::min(fail_, rate) : rate;
        // A pass at or above a fail was noise that the later, lower fail disproves (a failed
        // confirmation): the bracket keeps the highest pass below the lowest fail.
        pass_ = 0;
        for (double passed : passed_) {
          if (passed < fail_) pass_ = std::max(pass_, passed);
        }
        return true;
      case Decision::generator_limit: return stop(CapacityOutcome::generator_limit);
      case Decision::budget_exhausted: return stop(CapacityOutcome::budget_exhausted);
      case Decision::interrupted: return stop(CapacityOutcome::interrupted);
    }
    return false;
  }

  bool stop(CapacityOutcome outcome) {
    outcome_ = outcome;
    return false;
  }

  bool budget_left() const { return result_.trials < options_.max_trials && result_.elapsed < options_.max_elapsed; }

  // Runs trials at `rate` until the step is decided by the rule in the header.
  Decision decide(double rate, CapacityPhase phase, Seconds duration) {
    ++step_number_;
    const int majority = options_.trials_per_close_step / 2 + 1;
    int passes = 0, fails = 0, untrusted = 0;
    for (int trial = 1;; ++trial) {
      if (!budget_left()) return Decision::budget_exhausted;
      const auto measured = run_trial_(rate, duration);
      ++result_.trials;
      result_.elapsed += measured.elapsed;
      auto step = record(measured, phase, trial);
      if (measured.interrupted) {
        step.verdict = StepVerdict::interrupted;
        publish(std::move(step));
        return Decision::interrupted;
      }
      if (!measured.generator_trusted) {
        step.generator_trusted = false;
        step.generator_problem = measured.generator_problem;
        if (++untrusted < majority) {
          publish(std::move(step));
          continue;
        }
        step.verdict = StepVerdict::generator_limit;
        generator_problem_ = measured.generator_problem;
        generator_rate_ = rate;
        publish(std::move(step));
        return Decision::generator_limit;
      }
      // The models want the target's own service time, which queueing inside the target
      // inflates as load grows: keep the lowest-rate trusted trial's, wherever the search went.
      if (result_.low_load_rps == 0 || rate < result_.low_load_rps) {
        result_.low_load_service_times = measured.service_times;
        result_.low_load_rps = rate;
      }
      const auto judgement = judge(slo_, measured);
      step.trial_passed = judgement.passed;
      step.worst_margin = judgement.worst_margin;
      if (judgement.worst) {
        step.worst_threshold = judgement.worst->text;
        step.worst_observed = format_observed(*judgement.worst, judgement.worst_observed);
      }
      judgement.passed ? ++passes : ++fails;
      const bool clear_first_pass = passes + fails == 1 && judgement.passed && judgement.worst_margin > options_.close_margin;
      if (clear_first_pass || passes >= majority) step.verdict = StepVerdict::pass;
      else if (fails >= majority) step.verdict = StepVerdict::fail;
      if (!judgement.passed) last_failure_ = fmt::format("{} was {}", step.worst_threshold, step.worst_observed);
      const auto verdict = step.verdict;
      publish(std::move(step));
      if (verdict == StepVerdict::pass) return Decision::pass;
      if (verdict == StepVerdict::fail) return Decision::fail;
    }
  }

  CapacityStep record(const StepResult& measured, CapacityPhase phase, int trial) const {
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
    return step;
  }

  void publish(CapacityStep step) {
    if (options_.on_step) options_.on_step(step);
    result_.steps.push_back(std::move(step));
  }

  CapacitySearchResult finish() {
    result_.outcome = outcome_;
    result_.highest_pass_rps = pass_;
    result_.lowest_fail_rps = fail_;
    if (outcome_ != CapacityOutcome::found) result_.capacity_rps = outcome_ == CapacityOutcome::ceiling ? options_.max_rps : pass_;
    if (outcome_ == CapacityOutcome::no_passing_rate || outcome_ == CapacityOutcome::confirmation_failed) result_.capacity_rps = 0;
    std::string slo;
    for (const auto& text : result_.slo) slo += (slo.empty() ? "" : ", ") + text;
    const auto at_least = pass_ > 0 ? fmt::format("the target carried {} within the SLO, so its capacity is at least that", format_rate(pass_))
                                    : std::string("no rate passed before that");
    switch (outcome_) {
      case CapacityOutcome::found:
        result_.explanation = fmt::format("capacity {} with {} (confirmed over {}){}", format_rate(result_.capacity_rps), slo,
                                          format_duration(options_.confirmation_duration),
                                          fail_ > 0 ? fmt::format("; {} broke it", format_rate(fail_)) : std::string());
        break;
      case CapacityOutcome::generator_limit:
        result_.explanation = fmt::format("stopped at the generator's limit: it could not offer {} ({}); {}", format_rate(generator_rate_),
                                          generator_problem_, at_least);
        break;
      case CapacityOutcome::ceiling:
        result_.explanation = fmt::format("the SLO held up to the search's ceiling of {}: the capacity is at least that", format_rate(options_.max_rps));
        break;
      case CapacityOutcome::no_passing_rate:
        result_.explanation = fmt::format("no rate down to {} met the SLO ({})", format_rate(options_.min_rps), last_failure_);
        break;
      case CapacityOutcome::confirmation_failed:
        result_.explanation = fmt::format("the bisection's answer and {} step(s) of {:.0f}% below it all failed their confirmation ({}): no capacity is confirmed",
                                          options_.confirmation_attempts - 1, options_.confirmation_step_down * 100, last_failure_);
        break;
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
  CapacitySearchResult result_;
  CapacityOutcome outcome_ = CapacityOutcome::budget_exhausted;
  double pass_ = 0;  // highest decided pass below the lowest fail; 0: none
  double fail_ = 0;  // lowest decided fail; 0: none
  std::vector<double> passed_;
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
    case CapacityPhase::confirm: return "confirm";
  }
  return "?";
}

const char* to_string(StepVerdict verdict) {
  switch (verdict) {
    case StepVerdict::pending: return "pending";
    case StepVerdict::pass: return "pass";
    case StepVerdict::fail: return "fail";
    case StepVerdict::generator_limit: return "generator_limit";
    case StepVerdict::interrupted: return "interrupted";
  }
  return "?";
}

const char* to_string(CapacityOutcome outcome) {
  switch (outcome) {
    case CapacityOutcome::found: return "found";
    case CapacityOutcome::generator_limit: return "generator_limit";
    case CapacityOutcome::ceiling: return "ceiling";
    case CapacityOutcome::no_passing_rate: return "no_passing_rate";
    case CapacityOutcome::confirmation_failed: return "confirmation_failed";
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
    case StepVerdict::pending:
      verdict = !step.generator_trusted ? "generator behind, again" : step.trial_passed ? "pass, again" : "fail, again";
      break;
    case StepVerdict::pass: verdict = "PASS"; break;
    case StepVerdict::fail: verdict = "FAIL"; break;
    case StepVerdict::generator_limit: verdict = "GENERATOR LIMIT"; break;
    case StepVerdict::interrupted: verdict = "interrupted"; break;
  }
  const auto why = !step.generator_trusted       ? fmt::format("  ({})", step.generator_problem)
                   : step.worst_threshold.empty() ? std::string()
                                                  : fmt::format("  ({} was {}, margin {:+.0f}%)", step.worst_threshold, step.worst_observed, step.worst_margin * 100);
  return fmt::format("  step {:>2}.{} {:<7} {:>10} offered {:>10} achieved  p50 {:>9}  p99 {:>9}  errors {:.2f}%  {}{}", step.step, step.trial,
                     to_string(step.phase), format_rate(step.offered_rps), format_rate(step.achieved_rps), format_duration(step.p50),
                     format_duration(step.p99), step.error_rate * 100, verdict, why);
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

#pragma once
// The adaptive capacity search of `uptake capacity`: the highest steady open-loop rate at which
// the target meets its SLO, found by growing the rate geometrically until a step fails, then
// bisecting between the last pass and the first fail, and confirming the answer with a longer run.
//
// The search is pure: it never sends a request nor reads a clock. Each step is run by an injected
// TrialRunner (capacity_trial.hpp has the one that drives the engine; unit tests pass a fake
// target in simulated time), so the same offers and verdicts give the same steps, always.
//
// The rule, in full (docs/capacity-models.md, "Capacity search", says the same):
//   1. Growth: the first step is at start_rps; after each pass the rate is multiplied by
//      growth_factor, until a step fails or the rate would pass max_rps (the ceiling). If the
//      very first step fails, the rate is divided by growth_factor until a step passes, or
//      falls below min_rps (no passing rate).
//   2. Bisection: between the highest pass P and the lowest fail F, the next step is at
//      (P + F) / 2, until (F - P) / P <= precision (2% by default). The answer is P.
//   3. Confirmation: P is run again for confirmation_duration and must pass; if it fails, P is
//      a fail, the rate steps down by confirmation_step_down (2%) and is confirmed again, at most
//      confirmation_attempts times.
//   Every step (of any phase) is decided by one or more trials at its rate:
//   - a trial passes when every threshold of the SLO holds on it;
//   - the step's first judged trial, if it passes with a clear margin, decides the step alone:
//     every threshold is more than close_margin (10%) from its bound (see threshold_margin);
//   - otherwise (a failed trial, however far it failed, or a close pass) further trials run until
//     a majority of trials_per_close_step (2 of 3) agree, and that majority decides.
//   Why a failed trial never decides alone: the disturbances of a shared machine (a stall, a
//   neighbour's burst) only ever make latency worse, and one stall of 50 ms in a step of 2 s at
//   1000/s puts 2.5% of its responses beyond any p99 bound; a pass with a clear margin cannot be
//   made by such a disturbance, and a pass that is too optimistic is caught by the confirmation.
//   A trial whose generator fell behind its schedule (generator_trusted false) is no verdict on
//   the target, neither pass nor fail: the step runs another trial instead, and when a majority
//   of trials_per_close_step trials at one rate (2 of 3) fell behind, the search stops there
//   with the outcome generator_limit. One stalled trial does not end the search any more than it
//   fails a step. (An interrupted trial stops the search at once, with the outcome interrupted.)
//   The search is bounded: at most max_trials trials and max_elapsed of trial time (each trial's
//   StepResult::elapsed, so the bound holds in simulated time too); reaching either stops it with
//   the outcome budget_exhausted.
//
// Units: rates in requests per second (double), durations uptake::Seconds, latencies Seconds,
// error rates and ratios fractions (0.001, not 0.1%).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "uptake/base/civil_time.hpp"
#include "uptake/loadgen/hdr_histogram.hpp"
#include "uptake/loadgen/run_result.hpp"
#include "uptake/sim/station_simulation.hpp"
#include "uptake/sim/threshold.hpp"
#include "uptake/sim/usl.hpp"

namespace uptake::loadgen {

// The figures of one series of a trial: the whole step, or one endpoint of it.
struct StepSeries : RequestCounts {  // the whole trial's counts
  std::string name;             // endpoint name; "total" for the whole step
  // A flow balance over the trial's window (StepResult::window): the arrivals planned in it, and
  // the answers completed by its end. While the target keeps up they differ only by the few in
  // flight at the end; when it falls behind, by its growing backlog.
  std::uint64_t planned_in_window = 0;
  std::uint64_t completed_in_window = 0;
  HdrHistogram response_time;   // nanoseconds, from the intended send time (no coordinated omission)

  StepSeries();
  // As summary.json's error_rate: errors over ok + errors (loadgen::error_rate).
  double error_rate() const;
  // completed_in_window / planned_in_window; 0 when nothing was planned. Counted against what
  // the schedule drew, not the offered rate: a Poisson schedule of 200 arrivals around 100/s
  // for 2 s misses its mean by 7% as often as not, and that is no fault of the target. Counted
  // within the window, not up to the last answer: one slow answer at the end says nothing of
  // throughput (the latency thresholds judge it).
  double achieved_ratio() const;
  // The response time at `percentile` (0..100); 0 s when nothing completed.
  Seconds latency_at(double percentile) const;
};

// What one trial measured: a constant open-loop rate held for a step's duration.
struct StepResult {
  double offered_rps = 0;       // the rate the search asked for
  // The whole seconds of the schedule, from its start, over which the *_in_window counts run
  // (the engine counts per second).
  Seconds window{0};
  Seconds elapsed{0};           // what the trial cost (warm-up and drain included), for the time bound
  bool generator_trusted = true;  // false: the generator fell behind; the figures measure it, not the target
  std::string generator_problem;  // why, for people, when not trusted
  Seconds schedule_lag_p99{0};    // how late the generator sent, against the schedule (part of every response time)
  bool interrupted = false;       // stopped early (SIGINT): partial figures; the search stops
  StepSeries total;
  std::vector<StepSeries> endpoints;  // may be empty (a fake target, or one endpoint: total is it)
  // Service times of the whole step (from the actual send), for the station simulation; may be
  // empty (capacity_trial.hpp's service_time_buckets fills it).
  std::vector<sim::ServiceTimeBucket> service_times;

  // The whole step's planned_in_window and completed_in_window per second of the window.
  double planned_rps() const;
  double achieved_rps() const;
};

// Runs one trial: `offered_rps` for `duration`. Called from the searching thread, one at a time.
using TrialRunner = std::function<StepResult(double offered_rps, Seconds duration)>;

enum class CapacityPhase { grow, descend, bisect, confirm };
const char* to_string(CapacityPhase phase);

// The state of a step after one of its trials.
enum class StepVerdict { pending, pass, fail, generator_limit, interrupted };
const char* to_string(StepVerdict verdict);

// One trial, as recorded for the capacity curve (summary.json's capacity.steps[], the report).
struct CapacityStep {
  int step = 0;                 // 1-based: the rates tried, in order
  int trial = 0;                // 1-based within the step
  CapacityPhase phase = CapacityPhase::grow;
  double offered_rps = 0;
  double planned_rps = 0;
  double achieved_rps = 0;
  std::uint64_t planned = 0;
  std::uint64_t completed = 0;
  std::uint64_t errors = 0;
  double error_rate = 0;
  Seconds p50{0}, p90{0}, p99{0}, p999{0};
  Seconds mean{0};              // mean response time (for Little's law: load = achieved_rps x mean)
  Seconds schedule_lag_p99{0};
  bool generator_trusted = true;  // false: this trial counts neither way (the generator fell behind)
  std::string generator_problem;  // why, when not trusted
  bool trial_passed = false;    // every threshold held on this trial
  // The smallest threshold_margin of the trial and the threshold that has it (the one that
  // decides how close the call was, or why the trial failed).
  double worst_margin = 0;
  std::string worst_threshold;
  std::string worst_observed;   // that threshold's observed value, formatted with its unit
  // pending: more trials follow at this rate; pass or fail: the step is decided by this trial;
  // generator_limit: the generator fell behind on a majority of trials at this rate and the
  // search stopped; interrupted: the user stopped it.
  StepVerdict verdict = StepVerdict::pending;
};

struct CapacitySearchOptions {
  // What every step must meet. Latency percentiles, mean and max, error_rate and achieved_ratio
  // are allowed (check_capacity_slo); throughput thresholds (rps>=...) are not, since a higher
  // offered rate would only make them easier to meet.
  std::vector<sim::Threshold> slo;
  // Added to the SLO unless it already has a whole-run achieved_ratio threshold: a target that
  // does not keep up with the offered rate has not carried it, whatever its latencies.
  double default_achieved_ratio = 0.98;

  double start_rps = 100;        // > 0
  double growth_factor = 2.0;    // > 1
  double precision = 0.02;       // bisection ends at (fail - pass) / pass <= precision; > 0
  double min_rps = 1;            // > 0: descending below it means no rate passes
  double max_rps = 1e6;          // >= start_rps: the search does not offer more than this
  // Trials last whole seconds or more (>= 1 s), since the engine counts completions per second.
  Seconds step_duration{3};
  Seconds confirmation_duration{6};
  double confirmation_step_down = 0.02;  // in (0, 1)
  int confirmation_attempts = 3;         // >= 1
  double close_margin = 0.10;    // a pass this close to any bound (or closer) is repeated; >= 0
  int trials_per_close_step = 3; // odd, >= 1: the majority of these decides a step that is repeated
  int max_trials = 60;           // >= 1, every trial counted, confirmation included
  Seconds max_elapsed{900};      // > 0, sum of StepResult::elapsed

  // One call per trial, after it is judged (from the searching thread): for the terminal, one
  // line each with format_step_line.
  std::function<void(const CapacityStep&)> on_step;
};

enum class CapacityOutcome {
  found,                // capacity_rps passed its confirmation
  generator_limit,      // the generator fell behind at one rate: capacity_rps is a lower bound
  ceiling,              // max_rps passed: the capacity is at least capacity_rps = max_rps
  no_passing_rate,      // even min_rps failed: capacity_rps is 0
  confirmation_failed,  // every confirmation attempt failed: capacity_rps is 0
  budget_exhausted,     // max_trials or max_elapsed reached: capacity_rps is a lower bound
  interrupted,          // a trial was interrupted (SIGINT): capacity_rps is a lower bound
};
const char* to_string(CapacityOutcome outcome);

struct CapacitySearchResult {
  CapacityOutcome outcome = CapacityOutcome::found;
  // The answer in requests per second: with `found`, the confirmed rate; otherwise the best lower
  // bound the search established (the highest rate a decided step passed; 0 if none did, and 0
  // for confirmation_failed).
  double capacity_rps = 0;
  double highest_pass_rps = 0;   // the bracket at the end: highest rate a decided step passed (0: none)
  double lowest_fail_rps = 0;    // and lowest it failed (0: none)
  std::string explanation;       // one sentence for people: what was found, or why the search stopped
  std::vector<std::string> slo;  // the thresholds judged, as written, the default achieved ratio included
  std::vector<CapacityStep> steps;  // every trial, in order
  int trials = 0;
  Seconds elapsed{0};            // sum of the trials' elapsed time
  // The first trusted trial's service times (the lowest load of a search that grows), for the
  // station simulation, and its offered rate; empty when the runner gave none.
  std::vector<sim::ServiceTimeBucket> low_load_service_times;
  double low_load_rps = 0;
};

// What the models say about a target of `servers` servers whose service times are those
// measured in the search's low-load trial, for the SLO's latency objective.
struct CapacityPrediction {
  int servers = 0;
  bool servers_estimated = false;    // no server count was given: see predict_capacity
  double mean_service_seconds = 0;   // E[S] of the measured service times
  std::string objective;             // the threshold judged, as written ("p99<15ms")
  double objective_percentile = 0;   // 99 for p99
  Seconds objective_bound{0};
  double measured_capacity_rps = 0;
  // M/M/c (Erlang C) with mu = 1 / E[S]: the largest rate meeting the objective, and the
  // objective's percentile it predicts at the measured capacity (+infinity beyond c mu).
  double erlang_capacity_rps = 0;
  Seconds erlang_percentile_at_measured{0};
  // M/G/c simulated with the measured service times (same two figures); empty when the
  // objective's percentile is not one the simulation reports (50, 90, 99, 99.9).
  std::optional<double> simulated_capacity_rps;
  std::optional<Seconds> simulated_percentile_at_measured;
};

// The Universal Scalability Law fitted to a search's trusted, steady trials (achieved at least
// 98% of offered: an overloaded trial's queue grows for as long as it lasts, so its N says more
// about the trial's length than about the target), each a point (N, X) with X
// its achieved rate and N = X x its mean response time, the mean number of requests in the
// target by Little's law: the load an open-loop rate puts on it. std::nullopt with fewer than
// three distinct loads or a fit that did not converge. Open-loop steps below saturation only
// measure the rising part of the curve, so a peak beyond the largest load tried is a guess
// (docs/capacity-models.md).
std::optional<sim::ScalabilityFit> fit_scalability_to_steps(const std::vector<CapacityStep>& steps);

// Checks that thresholds can judge a capacity step: throws InputError naming `field` ("--slo",
// "slo[2]") for a throughput threshold, and for one naming an endpoint not in `endpoints` (when
// `endpoints` is not empty).
void check_capacity_slo(const std::vector<sim::Threshold>& slo, const std::vector<std::string>& endpoints, const std::string& field);

// How far an observed value is from a threshold's bound, as a fraction of the room the bound
// allows: positive when it holds, negative when not, 1 at best. Latencies and error rates:
// (bound - observed) / bound. Ratios (achieved_ratio > b) compare the shortfalls from 1:
// ((1 - b) - (1 - observed)) / (1 - b), so that 0.997 against 0.98 is a clear 0.85, not a close
// 0.017. A bound of 0 leaves no room: 1 when the threshold holds, -1 when not.
double threshold_margin(const sim::Threshold& threshold, double observed);

// The value a threshold compares, on one trial (seconds, fraction); std::nullopt for a latency
// figure of a series that completed nothing, or an endpoint the trial did not have.
std::optional<double> observed_value(const sim::Threshold& threshold, const StepResult& result);

// Runs the search. Throws std::invalid_argument for options outside the bounds given above (the
// command validates user input first), and InputError as check_capacity_slo does.
CapacitySearchResult search_capacity(const CapacitySearchOptions& options, const TrialRunner& run_trial);

// One line for the terminal: "  step 4.2 bisect  1,700/s -> 1,698/s  p50 2.1 ms  p99 14.2 ms  errors 0.00%  pass (p99<15ms: 14.2 ms, margin 5%)".
std::string format_step_line(const CapacityStep& step);

}  // namespace uptake::loadgen

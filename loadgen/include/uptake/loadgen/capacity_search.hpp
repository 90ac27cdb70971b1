#pragma once
// The adaptive capacity search of `uptake capacity`: the highest steady open-loop rate at which
// the target meets its SLO, as an interval with a stated confidence. The rate grows
// geometrically until a step fails, then bisects between the highest pass and the lowest rate
// that did not pass; every step is a statistical test, not a single measurement.
//
// The search is pure: it never sends a request nor reads a clock. Each trial is run by an
// injected TrialRunner (capacity_trial.hpp has the one that drives the engine; unit tests pass a
// simulated target), so the same offers and verdicts give the same steps, always.
//
// The rule, in full (docs/capacity-models.md, "Capacity search", says the same):
//   1. Steady state first: each trial starts with a warm-up that is not judged, long enough for
//      the queue to settle: warm_up_response_times (50) mean response times of the slowest
//      step below this rate so far, between min_warm_up (1 s) and max_warm_up (10 s), in
//      whole seconds.
//   2. A step is a sequential test: its trials (looks) are pooled, and after each the SLO is
//      judged with confidence bounds (step_statistics.hpp): a percentile pNN<X from the share
//      of responses beyond X (binomial order statistics, widened for the correlation of a
//      queue's responses), a mean from Student's t, an error rate as a proportion,
//      achieved_ratio from the requests in flight at the windows' edges; max is judged as
//      measured. The step passes when every threshold's bound is on the right side, fails when
//      one threshold's is on the wrong side, and is extended otherwise: looks of
//      step_duration, step_duration, 2x, 4x ... up to max_looks, the first at least long
//      enough for twice the responses that could show the bound (p99: 1,136 at the defaults).
//      Still undecided then, it counts as not passed, and says so. Each look may err with
//      (1 - confidence) / 2 / max_looks / 3 (Bonferroni over the looks, and over the three or
//      so verdicts near the capacity that each end of the interval is the extreme of).
//   3. Rates: the first step is at start_rps. Without a pass, the rate is divided by
//      growth_factor (down to min_rps: no passing rate); without a decided fail above the
//      highest pass, the highest rate tried is multiplied by growth_factor (up to max_rps: the
//      ceiling); with both, the next rate bisects the highest pass P and the lowest rate N
//      above it that did not pass (failed or undecided), until (N - P) / P <= precision, then
//      the highest rate H below the lowest fail F that did not fail and F, until (F - H) / H
//      <= precision. A pass above a rate whose pooled sample broke the bound (undecided), or a
//      fail below one whose sample met it, contradicts its neighbour and sets no end.
//   4. The answer: capacity.lower_rps is P and capacity.upper_rps F, so [P, F] holds the true
//      capacity with probability `confidence` or more; capacity_rps is the rate where the
//      share beyond the binding percentile's bound reaches what it allows, from a line fitted
//      to the log of that share over the steps in [P, F] (interpolating only), else where the
//      deciding margin crosses zero between neighbouring steps, else P.
//   5. Load-independent failures end the search at once: when a trial before any pass fails
//      an error threshold and most of its errors are of classes load does not cause (4xx,
//      missing captures, protocol, TLS, connect), lowering the rate cannot help.
//   A trial whose generator fell behind its schedule (generator_trusted false) is no verdict on
//   the target: the step runs another instead, and a second one at the same rate stops the
//   search with the outcome generator_limit. (An interrupted trial stops it with the outcome
//   interrupted.) The search is bounded: at most max_trials trials and max_elapsed of trial
//   time (StepResult::elapsed, so the bound holds in simulated time too); reaching either
//   stops it with the outcome budget_exhausted.
//
// Units: rates in requests per second (double), durations uptake::Seconds, latencies Seconds,
// error rates and ratios fractions (0.001, not 0.1%).
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "uptake/base/civil_time.hpp"
#include "uptake/loadgen/hdr_histogram.hpp"
#include "uptake/loadgen/run_result.hpp"
#include "uptake/sim/station_simulation.hpp"
#include "uptake/sim/threshold.hpp"
#include "uptake/sim/usl.hpp"

namespace uptake::loadgen {

// One response-time bucket of a second: `count` responses of about `nanoseconds` each (the
// value the histogram reports for the bucket, as percentiles do).
struct LatencyCount {
  std::int64_t nanoseconds = 0;
  std::int64_t count = 0;
};

// One second of a trial's measured window: its counts (planned by intended send time, the rest
// by completion time) and the response times completed in it, in increasing order. The blocks
// of the step's statistics (step_statistics.hpp).
struct SampleSecond : RequestCounts {
  std::vector<LatencyCount> response_times;
};

// The figures of one series of a trial: the whole step, or one endpoint of it.
struct StepSeries : RequestCounts {  // the measured window's counts
  std::string name;             // endpoint name; "total" for the whole step
  // A flow balance over the trial's measured window (StepResult::window): the arrivals planned
  // in it, and the answers completed by its end. While the target keeps up they differ only by
  // the few in flight at the end; when it falls behind, by its growing backlog.
  std::uint64_t planned_in_window = 0;
  std::uint64_t completed_in_window = 0;
  HdrHistogram response_time;   // nanoseconds, from the intended send time (no coordinated omission)
  std::vector<SampleSecond> seconds;  // the measured window, second by second

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
  // Adds `other`, a later sample of the same series at the same rate: counts, histogram, seconds.
  void pool(const StepSeries& other);
};

// How long a trial runs: a warm-up that is not judged, then the measured window.
struct TrialLength {
  Seconds warm_up{0};   // whole seconds, >= 0
  Seconds measured{1};  // whole seconds, >= 1
};

// What one trial measured: a constant open-loop rate held for a warm-up and a measured window.
struct StepResult {
  double offered_rps = 0;       // the rate the search asked for
  // The whole seconds of the measured window, over which every figure and count runs (the
  // engine counts per second); after pooling, the sum of the trials' windows.
  Seconds window{0};
  Seconds warm_up{0};           // left out before the window
  Seconds elapsed{0};           // what the trial cost (warm-up and drain included), for the time bound
  bool generator_trusted = true;  // false: the generator fell behind; the figures measure it, not the target
  std::string generator_problem;  // why, for people, when not trusted
  Seconds schedule_lag_p99{0};    // how late the generator sent, against the schedule (part of every response time)
  bool interrupted = false;       // stopped early (SIGINT): partial figures; the search stops
  StepSeries total;
  std::vector<StepSeries> endpoints;  // may be empty (a simulated target, or one endpoint: total is it)
  // Errors by class over the whole trial, and one failed answer as the target gave it (status
  // line and the start of its body), for a search that stops on errors load does not cause.
  std::array<std::uint64_t, static_cast<std::size_t>(ErrorClass::count)> errors{};
  std::string sample_error;
  // Service times of the whole step (from the actual send), for the station simulation; may be
  // empty (capacity_trial.hpp's service_time_buckets fills it). And the target's own times, from
  // its Server-Timing header; empty when it sends none.
  std::vector<sim::ServiceTimeBucket> service_times;
  std::vector<sim::ServiceTimeBucket> server_times;

  // The whole step's planned_in_window and completed_in_window per second of the window.
  double planned_rps() const;
  double achieved_rps() const;
  // Adds a later trial at the same rate (the looks of one step are judged together).
  void pool(const StepResult& other);
};

// Runs one trial at `offered_rps`. Called from the searching thread, one at a time.
using TrialRunner = std::function<StepResult(double offered_rps, TrialLength length)>;

enum class CapacityPhase { grow, descend, bisect };
const char* to_string(CapacityPhase phase);

// The state of a step after one of its trials.
//   pending: undecided, another look follows; pass, fail: decided with confidence; undecided:
//   still undecided after max_looks (counts as not passed); generator_limit: the generator fell
//   behind twice at this rate and the search stopped; interrupted: the user stopped it;
//   load_independent: it failed on errors that lowering the rate cannot cure, and the search stopped.
enum class StepVerdict { pending, pass, fail, undecided, generator_limit, interrupted, load_independent };
const char* to_string(StepVerdict verdict);

// One trial, as recorded for the capacity curve (summary.json's capacity.steps[], the report).
// The figures are the step's so far: this trial pooled with the earlier looks at its rate.
struct CapacityStep {
  int step = 0;                 // 1-based: the rates tried, in order
  int trial = 0;                // 1-based within the step (its looks, and any rerun for the generator)
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
  Seconds warm_up{0};           // this trial's warm-up, left out
  Seconds measured{0};          // the measured seconds pooled so far at this rate
  bool generator_trusted = true;  // false: this trial counts neither way (the generator fell behind)
  std::string generator_problem;  // why, when not trusted
  bool trial_passed = false;    // every threshold held with confidence on the pooled sample
  // The threshold that decides the step (the one that failed, or else the closest to its
  // bound), its observed value and confidence interval formatted with its unit, and its margin
  // (threshold_margin of the observed value: positive inside the bound).
  double worst_margin = 0;
  std::string worst_threshold;
  std::string worst_observed;
  std::string worst_interval;   // "[12.1 ms, 15.3 ms]"; empty for figures judged as measured
  StepVerdict verdict = StepVerdict::pending;
};

struct CapacitySearchOptions {
  // What every step must meet. Latency percentiles, mean and max, error_rate and achieved_ratio
  // are allowed (check_capacity_slo); throughput thresholds (rps>=...) are not, since a higher
  // offered rate would only make them easier to meet.
  std::vector<sim::Threshold> slo;
  // Added to the SLO unless it already has a whole-run threshold of its kind: a target that does
  // not keep up with the offered rate has not carried it, whatever its latencies, and answers
  // that are errors are not capacity, however fast.
  double default_achieved_ratio = 0.98;
  double default_error_rate = 0.01;

  double start_rps = 100;        // > 0
  double growth_factor = 2.0;    // > 1
  double precision = 0.02;       // bisection ends at (N - P) / P <= precision; > 0
  double min_rps = 1;            // > 0: descending below it means no rate passes
  double max_rps = 1e6;          // >= start_rps: the search does not offer more than this
  // A step's first look; later looks are as long, then twice, four times... (whole seconds,
  // >= 1 s, since the engine counts completions per second).
  Seconds step_duration{3};
  int max_looks = 5;             // >= 1
  double confidence = 0.90;      // of the interval [lower_rps, upper_rps]; in (0, 1)
  Seconds min_warm_up{1};        // >= 0
  Seconds max_warm_up{10};       // >= min_warm_up
  double warm_up_response_times = 50;  // >= 0
  int max_trials = 80;           // >= 1, every trial counted
  Seconds max_elapsed{900};      // > 0, sum of StepResult::elapsed

  // One call per trial, after it is judged (from the searching thread): for the terminal, one
  // line each with format_step_line.
  std::function<void(const CapacityStep&)> on_step;
};

enum class CapacityOutcome {
  found,                // a pass and a decided fail bracket the capacity within the precision
  generator_limit,      // the generator fell behind at one rate: capacity_rps is a lower bound
  ceiling,              // max_rps passed: the capacity is at least capacity_rps = max_rps
  no_passing_rate,      // even min_rps failed: capacity_rps is 0
  load_independent,     // a trial failed on errors that no lower rate cures: capacity_rps is 0
  budget_exhausted,     // max_trials or max_elapsed reached: capacity_rps is a lower bound
  interrupted,          // a trial was interrupted (SIGINT): capacity_rps is a lower bound
};
const char* to_string(CapacityOutcome outcome);
// Whether capacity_rps of this outcome is only a lower bound on the capacity.
bool is_lower_bound(CapacityOutcome outcome);

struct CapacitySearchResult {
  CapacityOutcome outcome = CapacityOutcome::found;
  // The answer in requests per second: with `found`, the estimate within [lower_rps,
  // upper_rps]; with ceiling, max_rps; otherwise the best lower bound the search established
  // (the highest rate a step passed; 0 if none did).
  double capacity_rps = 0;
  double lower_rps = 0;          // the highest rate a step passed (0: none)
  double upper_rps = 0;          // the lowest rate a step failed with confidence (0: none, unbounded)
  double confidence = 0;         // that [lower_rps, upper_rps] holds the capacity
  std::string explanation;       // one sentence for people: what was found, or why the search stopped
  std::vector<std::string> slo;  // the thresholds judged, as written, the defaults included
  std::vector<CapacityStep> steps;  // every trial, in order
  int trials = 0;
  int undecided_steps = 0;       // steps still undecided after their last look
  Seconds elapsed{0};            // sum of the trials' elapsed time
  // With load_independent: the errors by class of the trial that showed them, and its sample.
  std::vector<std::pair<std::string, std::uint64_t>> failure_classes;
  std::string sample_error;
  // The first trusted trial's service times (the lowest load of a search that grows), for the
  // station simulation, and its offered rate; empty when the runner gave none.
  std::vector<sim::ServiceTimeBucket> low_load_service_times;
  std::vector<sim::ServiceTimeBucket> low_load_server_times;  // the same trial's Server-Timing times; may be empty
  double low_load_rps = 0;
};

// What the models say about a target of `servers` servers whose service times are those
// measured in the search's low-load trial, for the SLO's latency objective.
struct CapacityPrediction {
  int servers = 0;
  bool servers_estimated = false;    // no server count was given: see predict_capacity
  double mean_service_seconds = 0;   // E[S] of the measured service times
  // The target's own mean time per request, from its Server-Timing header at the same low load,
  // when it sends one: the rest of E[S] is the network's and the generator's, which occupy no
  // server (set by the caller from CapacitySearchResult::low_load_server_times).
  std::optional<double> mean_server_seconds;
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

#pragma once
// The capacity search's trials against a real target (capacity_search.hpp has the search), and
// the queueing models' view of what it found.
//
// Wiring `uptake capacity`:
//   1. Build EngineOptions as `run` does (target, threads, connections, timeouts, warm-up
//      requests, seed, stop flag) and the RequestPlan: plan_ad_hoc for --url, plan_from_scenario
//      for a scenario. Leave make_schedule empty: each trial sets its own.
//   2. engine_trial_runner(options, plan) gives the TrialRunner; pass it to search_capacity with
//      the SLO (--slo, or the scenario's slo list, checked with check_capacity_slo).
//   3. predict_capacity(result.low_load_service_times, servers, slo, result.capacity_rps) gives
//      Erlang C's and the station simulation's answers beside the measured one.
// Everything here runs on the calling thread and blocks while a trial runs.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "uptake/loadgen/capacity_search.hpp"
#include "uptake/loadgen/engine.hpp"
#include "uptake/loadgen/results.hpp"
#include "uptake/sim/calendar.hpp"
#include "uptake/sim/rate.hpp"
#include "uptake/sim/station_simulation.hpp"

namespace uptake::loadgen {

struct CapacityTrialOptions {
  // The engine's settings for every trial. make_schedule and planned_per_endpoint are set per
  // trial; the seed is the first trial's, and each later trial draws its arrivals from a seed
  // derived from it and the trial's number (repeated trials at one rate are independent
  // samples, and the whole search is reproducible). on_progress, if set, is called as in `run`.
  EngineOptions engine;
  // The endpoint mix. Without a rate model, the plan has one endpoint (plan_ad_hoc) and every
  // trial is ArrivalSchedule::constant at the offered rate. With one (a scenario's, in the
  // plan's endpoint order; it must outlive the runner), every trial replays the endpoint shares
  // of the model at instant `mix_at` (the design peak hour's start, say: the busiest mix),
  // scaled so that the arrivals total the offered rate: one second of scenario time from
  // mix_at, stretched over the trial, where the hour-profile rate is constant.
  const sim::RateModel* rate_model = nullptr;
  sim::Instant mix_at = 0;
  // Schedule lag p99 beyond this: the generator fell behind, and the trial is not trusted
  // (judge_generator, as for `run`).
  double lag_bound_seconds = 0.010;
  // Called after each trial with the engine's whole result (per-second rows, histograms, error
  // classes), before it is reduced to a StepResult: `uptake capacity` keeps the last one, the
  // confirmation run, as its results folder's run.
  std::function<void(const RunResult&)> on_run;
  // Called before each trial with its offered rate and its number (from 1): the live metrics
  // say which trial the figures are of.
  std::function<void(double offered_rps, std::uint64_t trial)> on_trial_start;
};

// A TrialRunner that runs the engine for each trial. Throws InputError when the target cannot
// be resolved (from the first trial), or when the model has no demand at mix_at.
TrialRunner engine_trial_runner(CapacityTrialOptions options, RequestPlan plan);

// A run of the engine as one trial of the search: its schedule was `length` (the warm-up's whole
// seconds are left out, the measured window's are the figures), and `elapsed` the wall time the
// run took; `generator` is judge_generator's verdict on it.
StepResult step_result_of(const RunResult& run, double offered_rps, TrialLength length, Seconds elapsed, const Verdict& generator);

// The non-empty buckets of a service-time histogram (nanoseconds, as the engine records), for
// the station simulation: each at the value the histogram reports for it, in seconds.
std::vector<sim::ServiceTimeBucket> service_time_buckets(const HdrHistogram& service_time);
// The weighted mean of buckets, in seconds; std::nullopt when they weigh nothing.
std::optional<double> mean_seconds(const std::vector<sim::ServiceTimeBucket>& buckets);

// (CapacityPrediction, what the models say, is declared in capacity_search.hpp, for the reports.)
// The objective is the SLO's whole-run latency percentile threshold with the lowest Erlang C
// capacity (the one that binds). With servers <= 0 the count is estimated as the fewest servers
// that Erlang C says carry the measured capacity within the objective. std::nullopt when the SLO
// has no whole-run latency percentile threshold, no service times were measured, or servers
// must be estimated and no capacity was measured. `seed` seeds the simulation.
std::optional<CapacityPrediction> predict_capacity(const std::vector<sim::ServiceTimeBucket>& service_times, int servers,
                                                   const std::vector<sim::Threshold>& slo, double measured_capacity_rps,
                                                   std::uint64_t seed = 1);

}  // namespace uptake::loadgen

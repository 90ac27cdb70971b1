#include "uptake/loadgen/capacity_trial.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>

#include "uptake/base/input_error.hpp"
#include "uptake/base/random.hpp"
#include "uptake/loadgen/histogram_log.hpp"
#include "uptake/sim/queueing.hpp"

namespace uptake::loadgen {
namespace {

// A series' figures over the measured seconds [first, first + count) of its per-second rows.
// The engine keeps no per-second count of good answers: the window's ok is its completions
// times the whole trial's share of good answers among them.
StepSeries series_of(const EndpointResult& whole, const std::vector<Interval>& seconds, std::size_t first, std::size_t count) {
  StepSeries series;
  series.name = whole.name;
  for (std::size_t s = first; s < first + count; ++s) {
    SampleSecond second;
    if (s < seconds.size()) {
      static_cast<RequestCounts&>(second) = seconds[s];
      if (!seconds[s].response_time.empty()) {
        const auto histogram = decode_compressed(seconds[s].response_time);
        series.response_time.add(histogram);
        histogram.for_each_recorded_value([&](const RecordedValue& value) { second.response_times.push_back({value.highest, value.count}); });
      }
    }
    static_cast<RequestCounts&>(series) += second;
    series.seconds.push_back(std::move(second));
  }
  series.planned_in_window = series.planned;
  series.completed_in_window = series.completed;
  const double good_share = whole.completed > 0 ? static_cast<double>(whole.ok) / static_cast<double>(whole.completed) : 0.0;
  series.ok = static_cast<std::uint64_t>(std::llround(good_share * static_cast<double>(series.completed)));
  return series;
}

// The state every trial shares: the options, the plan, and the number of trials run so far.
struct EngineTrials {
  CapacityTrialOptions options;
  RequestPlan plan;
  std::uint64_t trials = 0;
  double mix_expected_per_second = 0;  // the model's requests in [mix_at, mix_at + 1 s)

  StepResult run(double offered_rps, TrialLength length) {
    const Seconds duration = length.warm_up + length.measured;
    auto engine = options.engine;
    std::uint64_t seed_state = options.engine.seed + trials;
    engine.seed = trials == 0 ? options.engine.seed : splitmix64(seed_state);
    ++trials;
    const auto seed = engine.seed;
    if (options.rate_model) {
      const auto* model = options.rate_model;
      sim::ReplayWindow window;
      window.from = options.mix_at;
      window.to = options.mix_at + 1.0;
      window.duration = duration;
      // The window's mean replay rate is expected * scale / duration; this makes it the offered one.
      window.scale = offered_rps * duration.count() / mix_expected_per_second;
      engine.make_schedule = [model, window, seed, this](sim::Shard thread) { return schedule_for(plan, *model, window, seed, thread); };
    } else {
      engine.make_schedule = [offered_rps, duration, seed](sim::Shard thread) { return sim::ArrivalSchedule::constant(offered_rps, duration, seed, thread); };
    }
    if (options.on_trial_start) options.on_trial_start(offered_rps, trials);
    const auto started = std::chrono::steady_clock::now();
    auto run = run_engine(engine, plan);
    const Seconds elapsed = std::chrono::steady_clock::now() - started;
    run.planned_rate = offered_rps;
    run.schedule_seconds = duration.count();
    RunContext context;
    context.lag_bound_seconds = options.lag_bound_seconds;
    if (options.on_run) options.on_run(run);
    return step_result_of(run, offered_rps, length, elapsed, judge_generator(run, context));
  }
};

// The largest rate at which `percentile_at(rate)` stays within `bound`, by bisection on
// [0, upper): the percentile grows with the rate.
template <class PercentileAt>
double largest_rate_within(double upper, Seconds bound, PercentileAt percentile_at) {
  // 0 when even a trickle (a thousandth of `upper`) breaks the bound: the service times alone
  // do, and no rate meets it.
  if (percentile_at(upper * 1e-3) > bound) return 0;
  double low = 0, high = upper;
  while ((high - low) > 1e-4 * high) {
    const double middle = (low + high) / 2;
    if (percentile_at(middle) <= bound) low = middle;
    else high = middle;
  }
  return low;
}

std::optional<Seconds> simulated_percentile(const sim::StationSimulationResult& result, double percentile) {
  if (percentile == 50) return result.response_p50;
  if (percentile == 90) return result.response_p90;
  if (percentile == 99) return result.response_p99;
  if (percentile == 99.9) return result.response_p999;
  return std::nullopt;
}

}  // namespace

TrialRunner engine_trial_runner(CapacityTrialOptions options, RequestPlan plan) {
  auto trials = std::make_shared<EngineTrials>();
  trials->options = std::move(options);
  trials->plan = std::move(plan);
  if (const auto* model = trials->options.rate_model) {
    const auto at = trials->options.mix_at;
    for (std::size_t endpoint = 0; endpoint < model->endpoints().size(); ++endpoint) {
      trials->mix_expected_per_second += model->expected_requests(endpoint, at, at + 1.0);
    }
    if (!(trials->mix_expected_per_second > 0)) {
      throw InputError({}, "mix", fmt::format("the scenario has no demand at the instant its mix is taken from ({:.0f})", at),
                       "an instant of the forecast with demand, such as a design peak hour's start");
    }
  }
  return [trials](double offered_rps, TrialLength length) { return trials->run(offered_rps, length); };
}

StepResult step_result_of(const RunResult& run, double offered_rps, TrialLength length, Seconds elapsed, const Verdict& generator) {
  StepResult step;
  step.offered_rps = offered_rps;
  const auto first = static_cast<std::size_t>(std::llround(length.warm_up.count()));
  const auto count = static_cast<std::size_t>(std::llround(length.measured.count()));
  step.window = Seconds{static_cast<double>(count)};
  step.warm_up = Seconds{static_cast<double>(first)};
  step.elapsed = elapsed;
  step.generator_trusted = !generator.generator_behind;
  step.generator_problem = generator.reason;
  step.interrupted = run.interrupted;
  step.schedule_lag_p99 = Seconds{static_cast<double>(run.schedule_lag.value_at_percentile(99)) / 1e9};
  const auto total = run.total();
  step.total = series_of(total, run.intervals, first, count);
  step.total.name = "total";
  for (std::size_t e = 0; e < run.endpoints.size(); ++e) {
    static const std::vector<Interval> none;
    step.endpoints.push_back(series_of(run.endpoints[e], e < run.endpoint_intervals.size() ? run.endpoint_intervals[e] : none, first, count));
  }
  step.errors = run.errors;
  step.sample_error = run.sample_failure;
  step.service_times = service_time_buckets(total.service_time);
  step.server_times = service_time_buckets(total.server_time);
  return step;
}

std::vector<sim::ServiceTimeBucket> service_time_buckets(const HdrHistogram& service_time) {
  std::vector<sim::ServiceTimeBucket> buckets;
  service_time.for_each_recorded_value([&](const RecordedValue& value) {
    buckets.push_back({static_cast<double>(value.highest) / 1e9, static_cast<double>(value.count)});
  });
  return buckets;
}

std::optional<double> mean_seconds(const std::vector<sim::ServiceTimeBucket>& buckets) {
  double weight = 0, weighted_seconds = 0;
  for (const auto& bucket : buckets) {
    weight += bucket.weight;
    weighted_seconds += bucket.weight * bucket.seconds;
  }
  if (!(weight > 0)) return std::nullopt;
  return weighted_seconds / weight;
}

std::optional<CapacityPrediction> predict_capacity(const std::vector<sim::ServiceTimeBucket>& service_times, int servers,
                                                   const std::vector<sim::Threshold>& slo, double measured_capacity_rps, std::uint64_t seed) {
  const auto mean_service = mean_seconds(service_times);
  if (!mean_service || !(*mean_service > 0)) return std::nullopt;
  CapacityPrediction prediction;
  prediction.mean_service_seconds = *mean_service;
  prediction.measured_capacity_rps = measured_capacity_rps;
  const double service_per_second = 1 / prediction.mean_service_seconds;

  // The binding objective: of the whole-run percentile thresholds, the one Erlang C allows the
  // least rate (with the servers given, or one server per objective when they are estimated,
  // which ranks objectives the same way for any c in all but contrived cases).
  const sim::Threshold* binding = nullptr;
  double binding_capacity = std::numeric_limits<double>::infinity();
  for (const auto& threshold : slo) {
    if (threshold.metric != sim::ThresholdMetric::latency_percentile || !threshold.endpoint.empty()) continue;
    const sim::ResponseObjective objective{threshold.percentile / 100, Seconds{threshold.bound}};
    const double capacity = sim::largest_arrival_within(service_per_second, std::max(servers, 1), objective);
    if (!binding || capacity < binding_capacity) binding = &threshold, binding_capacity = capacity;
  }
  if (!binding) return std::nullopt;
  prediction.objective = binding->text;
  prediction.objective_percentile = binding->percentile;
  prediction.objective_bound = Seconds{binding->bound};
  const sim::ResponseObjective objective{binding->percentile / 100, prediction.objective_bound};

  if (servers <= 0) {
    if (!(measured_capacity_rps > 0)) return std::nullopt;
    const auto estimated = sim::fewest_servers_within(measured_capacity_rps, service_per_second, objective);
    if (!estimated) return std::nullopt;
    servers = *estimated;
    prediction.servers_estimated = true;
  }
  prediction.servers = servers;
  prediction.erlang_capacity_rps = sim::largest_arrival_within(service_per_second, servers, objective);
  if (measured_capacity_rps > 0) {
    prediction.erlang_percentile_at_measured =
        sim::MultiServerQueue(measured_capacity_rps, service_per_second, servers).response_percentile(objective.quantile);
  }

  sim::StationSimulationOptions station;
  station.servers = servers;
  station.service_times = service_times;
  station.seed = seed;
  auto simulate_at = [&](double arrival_per_second) {
    station.arrival_per_second = arrival_per_second;
    return sim::simulate_station(station);
  };
  const double percentile = binding->percentile;
  // Only the percentiles the simulation reports; with one seed for every rate (common random
  // numbers) the simulated percentile grows with the rate, as bisection needs.
  if (simulated_percentile(sim::StationSimulationResult{}, percentile)) {
    const double saturation = servers * service_per_second;
    prediction.simulated_capacity_rps = largest_rate_within(saturation, prediction.objective_bound, [&](double rate) {
      return rate > 0 ? *simulated_percentile(simulate_at(rate), percentile) : Seconds{0};
    });
    if (measured_capacity_rps > 0) prediction.simulated_percentile_at_measured = simulated_percentile(simulate_at(measured_capacity_rps), percentile);
  }
  return prediction;
}

}  // namespace uptake::loadgen

#pragma once
// Runs made up in memory, with latencies chosen by the test, written by the real results writer:
// results folders whose every figure is known, for the reader, gate and merge tests.
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "uptake/loadgen/histogram_log.hpp"
#include "uptake/loadgen/results.hpp"

namespace uptake::test {

struct SyntheticEndpoint {
  std::string name;
  std::vector<double> latencies_ms;  // one completed request each; request i completes in second i % seconds
  std::uint64_t timeouts = 0;        // requests sent that never completed (counted as timeout errors)
  std::vector<std::size_t> completion_seconds;  // when given: request i completes in second completion_seconds[i] instead
};

struct SyntheticRun {
  loadgen::RunResult result;
  loadgen::RunContext context;
  loadgen::Verdict verdict;

  void write(const std::string& folder) const { loadgen::write_results(folder, result, context, verdict); }
};

// Service time is 80% of each response time; schedule lag is 0.1 ms for every request.
inline SyntheticRun synthetic_run(const std::vector<SyntheticEndpoint>& endpoints, int seconds = 3,
                                  std::int64_t started_at_ns = 1'790'000'000'000'000'000LL) {
  SyntheticRun run;
  auto& result = run.result;
  result.target = "http://127.0.0.1:8080";
  result.started_at = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(started_at_ns)));
  result.duration_seconds = seconds;
  result.schedule_seconds = seconds;
  result.intervals.resize(static_cast<std::size_t>(seconds));
  std::vector<loadgen::HdrHistogram> total_by_second(static_cast<std::size_t>(seconds), loadgen::make_latency_histogram());
  for (const auto& spec : endpoints) {
    loadgen::EndpointResult endpoint;
    endpoint.name = spec.name;
    std::vector<loadgen::Interval> series(static_cast<std::size_t>(seconds));
    std::vector<loadgen::HdrHistogram> by_second(static_cast<std::size_t>(seconds), loadgen::make_latency_histogram());
    auto count = [&](std::size_t second, std::uint64_t loadgen::Interval::*field) {
      ++(series[second].*field);
      ++(result.intervals[second].*field);
    };
    for (std::size_t i = 0; i < spec.latencies_ms.size(); ++i) {
      const auto second = spec.completion_seconds.empty() ? i % static_cast<std::size_t>(seconds) : spec.completion_seconds.at(i);
      const auto nanoseconds = static_cast<std::int64_t>(spec.latencies_ms[i] * 1e6);
      ++endpoint.planned, ++endpoint.sent, ++endpoint.completed, ++endpoint.ok;
      count(second, &loadgen::Interval::planned);
      count(second, &loadgen::Interval::sent);
      count(second, &loadgen::Interval::completed);
      endpoint.response_time.record(nanoseconds);
      endpoint.service_time.record(nanoseconds * 8 / 10);
      by_second[second].record(nanoseconds);
      total_by_second[second].record(nanoseconds);
      result.schedule_lag.record(100'000);
    }
    for (std::uint64_t i = 0; i < spec.timeouts; ++i) {
      const auto second = i % static_cast<std::size_t>(seconds);
      ++endpoint.planned, ++endpoint.sent, ++endpoint.errors;
      count(second, &loadgen::Interval::planned);
      count(second, &loadgen::Interval::sent);
      count(second, &loadgen::Interval::errors);
      ++result.errors[static_cast<std::size_t>(loadgen::ErrorClass::timeout)];
      result.schedule_lag.record(100'000);
    }
    for (std::size_t s = 0; s < by_second.size(); ++s) {
      if (by_second[s].total_count()) series[s].response_time = loadgen::encode_compressed(by_second[s]);
    }
    result.endpoints.push_back(std::move(endpoint));
    result.endpoint_intervals.push_back(std::move(series));
  }
  for (std::size_t s = 0; s < total_by_second.size(); ++s) {
    if (total_by_second[s].total_count()) result.intervals[s].response_time = loadgen::encode_compressed(total_by_second[s]);
  }
  run.context.scenario = "synthetic";
  run.context.seed = 7;
  run.context.slo = {"p99<100ms", "error_rate<1%"};
  return run;
}

// What a scenario run of the whole local day 2027-03-31 (+09:00) replays: compressed x7200 into
// 12 s at scale 0.02 (144x the modelled rate), a modelled mean of 5.05/s and peak of 12.59/s,
// and a deadline-day surge from 09:00 to 18:00 local time.
inline sim::ReplayContext replay_of_a_day() {
  sim::ReplayContext replay;
  replay.window = sim::ReplayWindowKind::day;
  replay.from = 1'806'418'800;  // 2027-03-30T15:00:00Z
  replay.to = replay.from + 86400;
  replay.time_zone = "+09:00";
  replay.utc_offset_seconds = 9 * 3600;
  replay.duration = Seconds{12};
  replay.scale = 0.02;
  replay.modelled_mean_rps = 5.05;
  replay.modelled_peak_rps = 12.59;
  replay.events = {{"deadline-day", replay.from + 9 * 3600, replay.from + 18 * 3600, 3.0}};
  return replay;
}

// 1, 2, ..., n milliseconds.
inline std::vector<double> one_to(int n, double scale = 1.0) {
  std::vector<double> values;
  for (int i = 1; i <= n; ++i) values.push_back(i * scale);
  return values;
}

}  // namespace uptake::test

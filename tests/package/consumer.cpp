// Uses the histogram, the arrival scheduler, and the results writer and reader of an installed
// uptake, as another project would. Exits 0 when each gives what it should.
#include <cstdio>
#include <filesystem>
#include <string>

#include "uptake/loadgen/hdr_histogram.hpp"
#include "uptake/loadgen/histogram_log.hpp"
#include "uptake/loadgen/results.hpp"
#include "uptake/loadgen/run_result.hpp"
#include "uptake/reports/results_dir.hpp"
#include "uptake/sim/arrivals.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer FOLDER\n");
    return 2;
  }
  // A constant schedule of 100 per second for 2 s.
  auto schedule = uptake::sim::ArrivalSchedule::constant(100, uptake::Seconds{2}, 7);
  uptake::loadgen::RunResult run;
  run.target = "http://127.0.0.1:8080";
  run.started_at = std::chrono::system_clock::now();
  run.schedule_seconds = run.duration_seconds = 2;
  run.endpoints.emplace_back().name = "request";
  run.endpoint_intervals.resize(1);
  auto& endpoint = run.endpoints.front();
  for (uptake::sim::Arrival arrival; schedule.next(arrival);) {
    ++endpoint.planned, ++endpoint.sent, ++endpoint.completed, ++endpoint.ok;
    endpoint.response_time.record(1'000'000 + static_cast<std::int64_t>(arrival.sequence) * 1000);
    endpoint.service_time.record(900'000);
    const auto second = static_cast<std::size_t>(arrival.intended_offset.count() / 1'000'000'000);
    if (run.intervals.size() <= second) run.intervals.resize(second + 1), run.endpoint_intervals[0].resize(second + 1);
    for (auto* interval : {&run.intervals[second], &run.endpoint_intervals[0][second]}) ++interval->planned, ++interval->sent, ++interval->completed;
  }
  run.schedule_lag.record(50'000);
  // The per-second histograms, as the engine writes them.
  for (std::size_t second = 0; second < run.intervals.size(); ++second) {
    uptake::loadgen::HdrHistogram histogram = uptake::loadgen::make_latency_histogram();
    histogram.record(1'000'000, static_cast<std::int64_t>(run.intervals[second].completed));
    run.intervals[second].response_time = run.endpoint_intervals[0][second].response_time = uptake::loadgen::encode_compressed(histogram);
  }
  uptake::loadgen::RunContext context;
  context.scenario = "consumer";
  const std::string folder = argv[1];
  std::filesystem::remove_all(folder);
  uptake::loadgen::write_results(folder, run, context, {});
  const auto results = uptake::reports::read_results(folder);
  const auto completed = results.counters_of("total").completed;
  std::printf("consumer: %llu arrivals scheduled, %llu completed read back, p50 %.3f ms\n", static_cast<unsigned long long>(endpoint.planned),
              static_cast<unsigned long long>(completed), static_cast<double>(results.response_time_of("total").value_at_percentile(50)) / 1e6);
  return completed == endpoint.planned && completed > 150 && completed < 250 ? 0 : 1;
}

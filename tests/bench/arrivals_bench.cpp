// Arrivals generated per second on one core, with a time-varying rate: a shaped day (hour
// profile, weekday factors) with a surge whose ramps force thinning, compressed so that the
// schedule holds tens of millions of arrivals.
#include <benchmark/benchmark.h>

#include "uptake/sim/arrivals.hpp"
#include "uptake/sim/scenario_loader.hpp"

namespace {

const char* const kScenario = R"(
name: bench
history: { series: { demand: { yearly: { 2022: 8099791, 2023: 30000000 } } } }
growth: { model: exponential, project_to: 2023 }
calendar:
  timezone: "+09:00"
  weekday_factors: [1.20, 1.10, 1.05, 1.05, 1.10, 0.30, 0.20]
  hour_profile: [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 3.2, 3.0, 3.5, 3.0, 2.8, 2.6, 2.4, 2.2, 1.6, 1.2, 1.0, 0.8, 0.6, 0.3]
events:
  - { name: surge, start: 2023-03-06T09:00, ramp_up: 2h, plateau: 1h, decay: 4h, multiplier: 3, endpoints: [verify] }
mix: { endpoints: { issue: 0.4, verify: 0.6 } }
replay: { window: day, day: 2023-03-06, duration: 60s, scale: 100 }
)";

void generate_arrivals(benchmark::State& state, bool with_event) {
  std::string text = kScenario;
  if (!with_event) text.replace(text.find("events:"), text.find("mix:") - text.find("events:"), "");
  const auto scenario = uptake::sim::parse_scenario(text, "bench.yaml");
  const uptake::sim::RateModel model(scenario, {{2023, 30'000'000.0}});
  const auto window = uptake::sim::replay_window(scenario, model);
  std::int64_t arrivals = 0;
  for (auto _ : state) {
    uptake::sim::ArrivalSchedule schedule(model, window, 42);
    uptake::sim::Arrival arrival;
    std::int64_t last = 0;
    while (schedule.next(arrival)) {
      last += arrival.intended_offset.count() + arrival.endpoint;
      ++arrivals;
    }
    benchmark::DoNotOptimize(last);
  }
  state.counters["arrivals_per_second"] = benchmark::Counter(static_cast<double>(arrivals), benchmark::Counter::kIsRate);
}

void BM_ArrivalsShapedDay(benchmark::State& state) { generate_arrivals(state, false); }
void BM_ArrivalsShapedDayWithSurge(benchmark::State& state) { generate_arrivals(state, true); }

void BM_ArrivalsConstantRate(benchmark::State& state) {
  std::int64_t arrivals = 0;
  for (auto _ : state) {
    auto schedule = uptake::sim::ArrivalSchedule::constant(1e6, uptake::Seconds{10}, 7);
    uptake::sim::Arrival arrival;
    std::int64_t last = 0;
    while (schedule.next(arrival)) {
      last += arrival.intended_offset.count();
      ++arrivals;
    }
    benchmark::DoNotOptimize(last);
  }
  state.counters["arrivals_per_second"] = benchmark::Counter(static_cast<double>(arrivals), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_ArrivalsShapedDay)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ArrivalsShapedDayWithSurge)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ArrivalsConstantRate)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();

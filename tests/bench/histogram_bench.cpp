// Recording into the HdrHistogram on the hot path, reading percentiles, and encoding intervals.
#include <benchmark/benchmark.h>

#include <vector>

#include "uptake/base/random.hpp"
#include "uptake/loadgen/histogram_log.hpp"
#include "uptake/loadgen/run_result.hpp"

namespace {

// Latencies as a load test sees them: mostly around a millisecond, with a long tail.
std::vector<std::int64_t> latencies() {
  uptake::Random random(2022);
  std::vector<std::int64_t> values(1 << 16);
  for (auto& value : values) value = static_cast<std::int64_t>(800'000 * random.exponential() * (random.uniform() < 0.01 ? 50 : 1)) + 50'000;
  return values;
}

void BM_Record(benchmark::State& state) {
  auto histogram = uptake::loadgen::make_latency_histogram();
  const auto values = latencies();
  std::size_t i = 0;
  for (auto _ : state) {
    histogram.record(values[i++ & (values.size() - 1)]);
  }
  benchmark::DoNotOptimize(histogram.total_count());
  state.SetItemsProcessed(state.iterations());
}

void BM_ValueAtPercentile(benchmark::State& state) {
  auto histogram = uptake::loadgen::make_latency_histogram();
  for (auto value : latencies()) histogram.record(value);
  for (auto _ : state) benchmark::DoNotOptimize(histogram.value_at_percentile(99.9));
}

void BM_EncodeInterval(benchmark::State& state) {
  auto histogram = uptake::loadgen::make_latency_histogram();
  for (auto value : latencies()) histogram.record(value);
  for (auto _ : state) benchmark::DoNotOptimize(uptake::loadgen::encode_compressed(histogram, 6));
}

}  // namespace

BENCHMARK(BM_Record);
BENCHMARK(BM_ValueAtPercentile);
BENCHMARK(BM_EncodeInterval)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();

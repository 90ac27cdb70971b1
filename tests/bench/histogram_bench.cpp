// The HdrHistogram on the load generator's hot path (record), at the end of a run (percentiles,
// merging per-thread histograms) and once a second (encoding an interval for latency.hlog).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "uptake/base/random.hpp"
#include "uptake/loadgen/hdr_histogram.hpp"
#include "uptake/loadgen/histogram_log.hpp"

namespace {

using uptake::loadgen::HdrHistogram;

// uptake's latency configuration (make_latency_histogram): nanoseconds, 1 ns to one hour, 3 digits.
HdrHistogram latency_histogram() { return HdrHistogram(1, 3'600'000'000'000LL, 3); }

// Response times as a load test sees them, in nanoseconds: log-normal around 1 ms (sigma 0.6),
// with 1% of requests 30 times slower (a queue, a pause). Seeded, so every run records the same
// values; 2^16 of them, pre-generated, so the benchmark measures record() and not the generator.
const std::vector<std::int64_t>& latencies() {
  static const std::vector<std::int64_t> values = [] {
    uptake::Random random(2022);
    std::vector<std::int64_t> generated(1 << 16);
    for (auto& value : generated) {
      const double normal = std::sqrt(-2 * std::log(random.uniform_open_zero())) * std::cos(2 * std::numbers::pi * random.uniform());
      const double tail = random.uniform() < 0.01 ? 30 : 1;
      value = static_cast<std::int64_t>(1e6 * std::exp(0.6 * normal) * tail);
    }
    return generated;
  }();
  return values;
}

HdrHistogram filled(std::size_t count) {
  auto histogram = latency_histogram();
  const auto& values = latencies();
  for (std::size_t i = 0; i < count; ++i) histogram.record(values[i & (values.size() - 1)]);
  return histogram;
}

void BM_Record(benchmark::State& state) {
  auto histogram = latency_histogram();
  const auto& values = latencies();
  const std::size_t mask = values.size() - 1;
  std::size_t i = 0;
  for (auto _ : state) histogram.record(values[i++ & mask]);
  benchmark::DoNotOptimize(histogram.total_count());
  state.SetItemsProcessed(state.iterations());
}

// Percentile in tenths: 500 = p50, 999 = p99.9.
void BM_ValueAtPercentile(benchmark::State& state) {
  const auto histogram = filled(1'000'000);
  const double percentile = static_cast<double>(state.range(0)) / 10;
  for (auto _ : state) benchmark::DoNotOptimize(histogram.value_at_percentile(percentile));
}

void BM_PercentileDistribution(benchmark::State& state) {
  const auto histogram = filled(1'000'000);
  for (auto _ : state) benchmark::DoNotOptimize(histogram.percentile_distribution(5));
}

// Merging one thread's histogram into the run's total.
void BM_Add(benchmark::State& state) {
  const auto part = filled(100'000);
  auto total = latency_histogram();
  for (auto _ : state) total.add(part);
  benchmark::DoNotOptimize(total.total_count());
}

// One second's interval of `range(0)` responses, at zlib level 9 as latency.hlog writes it.
void BM_EncodeCompressed(benchmark::State& state) {
  const auto histogram = filled(static_cast<std::size_t>(state.range(0)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    const auto encoded = uptake::loadgen::encode_compressed(histogram, 9);
    bytes = encoded.size();
    benchmark::DoNotOptimize(encoded.data());
  }
  state.counters["encoded_bytes"] = static_cast<double>(bytes);
}

void BM_DecodeCompressed(benchmark::State& state) {
  const auto encoded = uptake::loadgen::encode_compressed(filled(static_cast<std::size_t>(state.range(0))), 9);
  for (auto _ : state) benchmark::DoNotOptimize(uptake::loadgen::try_decode_compressed(encoded));
}

}  // namespace

BENCHMARK(BM_Record);
BENCHMARK(BM_ValueAtPercentile)->Arg(500)->Arg(990)->Arg(999);
BENCHMARK(BM_PercentileDistribution)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Add)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EncodeCompressed)->Arg(1'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeCompressed)->Arg(100'000)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();

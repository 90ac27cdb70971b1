// Bursty arrivals: a gamma rate multiplier per interval gives counts the over-dispersion the
// scenario asks for, the same factors on every shard, and design peaks above Poisson's.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "scenario_builder.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/sim/arrivals.hpp"

using namespace uptake;
using namespace uptake::sim;

namespace {

// 10 requests a second all year.
constexpr double kVolume = 10.0 * 86400 * 365;

Scenario bursty(const std::string& burstiness, const std::string& replay = "replay: { window: day, day: 2023-03-06 }\n") {
  return test::scenario_from_yaml(test::flat_scenario(kVolume, replay + burstiness));
}

std::vector<double> minute_counts(ArrivalSchedule schedule, double seconds) {
  std::vector<double> counts(static_cast<std::size_t>(seconds / 60), 0);
  Arrival arrival;
  while (schedule.next(arrival)) {
    const auto minute = static_cast<std::size_t>(std::chrono::duration<double>(arrival.intended_offset).count() / 60);
    if (minute < counts.size()) ++counts[minute];
  }
  return counts;
}

double dispersion(const std::vector<double>& counts) {
  double mean = 0, squares = 0;
  for (double c : counts) mean += c;
  mean /= static_cast<double>(counts.size());
  for (double c : counts) squares += (c - mean) * (c - mean);
  return squares / static_cast<double>(counts.size() - 1) / mean;
}

}  // namespace

TEST_CASE("a gamma multiplier per minute gives 60 s counts the dispersion 1 + mean cv^2") {
  const auto scenario = bursty("burstiness: { interval: 60s, rate_cv: 0.3 }\n");
  REQUIRE(scenario.burstiness);
  const RateModel model(scenario, {{2022, kVolume}, {2023, kVolume}});
  const auto window = replay_window(scenario, model);
  const auto counts = minute_counts(ArrivalSchedule(model, window, 5), 86400);
  const double expected = 1 + 600 * 0.09;
  WARN("dispersion of minute counts " << dispersion(counts) << " against " << expected);
  CHECK(std::abs(dispersion(counts) / expected - 1) < 0.15);
  // The mean is kept: the multiplier has mean 1.
  double total = 0;
  for (double c : counts) total += c;
  CHECK(std::abs(total / 864000 - 1) < 0.03);

  // Without burstiness the same schedule is Poisson.
  const auto poisson = bursty("");
  const RateModel flat(poisson, {{2022, kVolume}, {2023, kVolume}});
  CHECK(std::abs(dispersion(minute_counts(ArrivalSchedule(flat, replay_window(poisson, flat), 5), 86400)) - 1) < 0.15);
}

TEST_CASE("bursty shards send exactly the unsharded schedule") {
  const auto scenario = bursty("burstiness: { interval: 10s, rate_cv: 0.5 }\n", "replay: { window: interval, from: 2023-03-06T10:00, to: 2023-03-06T10:10, duration: 1m }\n");
  const RateModel model(scenario, {{2022, kVolume}, {2023, kVolume}});
  const auto window = replay_window(scenario, model);
  std::vector<std::uint64_t> whole, parts;
  Arrival arrival;
  for (ArrivalSchedule schedule(model, window, 9); schedule.next(arrival);) whole.push_back(static_cast<std::uint64_t>(arrival.intended_offset.count()));
  for (std::uint32_t k = 0; k < 3; ++k) {
    for (ArrivalSchedule schedule(model, window, 9, Shard{k, 3}); schedule.next(arrival);) parts.push_back(static_cast<std::uint64_t>(arrival.intended_offset.count()));
  }
  std::sort(parts.begin(), parts.end());
  CHECK(parts == whole);
  CHECK(whole.size() > 4000);
}

TEST_CASE("design peaks of bursty demand are above Poisson's, at the negative binomial's quantile") {
  CHECK(bursty_upper_quantile(10, 0, Seconds{60}, 0.001) == poisson_upper_quantile(10, 0.001));
  const double q = bursty_upper_quantile(10, 0.5, Seconds{60}, 0.001);
  CHECK(q > poisson_upper_quantile(10, 0.001));
  // Against draws of the mixture itself: beyond q in at most 0.1% of seconds, beyond q - 1 in more.
  Random random(3);
  std::mt19937_64 engine(3);
  const int draws = 2'000'000;
  int beyond = 0, beyond_less = 0;
  for (int i = 0; i < draws; ++i) {
    const auto count = static_cast<double>(std::poisson_distribution<long>(10 * gamma_draw(random, 4) / 4)(engine));
    beyond += count > q;
    beyond_less += count > q - 1;
  }
  CHECK(beyond <= draws / 1000 * 1.05);
  CHECK(beyond_less > draws / 1000 * 0.95);
  // gamma_draw has the mean and variance of its shape.
  double sum = 0, squares = 0;
  for (int i = 0; i < 200000; ++i) {
    const double x = gamma_draw(random, 0.5);
    sum += x;
    squares += x * x;
  }
  CHECK(sum / 200000 == Approx(0.5).epsilon(0.02));
  CHECK(squares / 200000 - (sum / 200000) * (sum / 200000) == Approx(0.5).epsilon(0.05));

  const auto scenario = bursty("burstiness: { interval: 60s, rate_cv: 0.5 }\n");
  const auto plain = bursty("");
  const RateModel with(scenario, {{2022, kVolume}, {2023, kVolume}});
  const RateModel without(plain, {{2022, kVolume}, {2023, kVolume}});
  CHECK(with.design_peak(2023).total_peak_second_rate > without.design_peak(2023).total_peak_second_rate + 5);
  CHECK(with.design_peak(2023).total_peak_hour_rate == Approx(without.design_peak(2023).total_peak_hour_rate));
}

TEST_CASE("burstiness is checked where it is written") {
  const auto refused = [](const std::string& block, const std::string& message) {
    try {
      bursty(block);
      FAIL("accepted: " << block);
    } catch (const InputError& error) {
      CHECK_THAT(std::string(error.what()), Catch::Contains(message));
    }
  };
  refused("burstiness: { interval: 60s, rate_cv: -1 }\n", "burstiness.rate_cv");
  refused("burstiness: { interval: 60s, rate_cv: 11 }\n", "burstiness.rate_cv");
  refused("burstiness: { interval: 500ms, rate_cv: 0.3 }\n", "burstiness.interval");
  refused("burstiness: { interval: 60s }\n", "rate_cv");
  refused("burstiness: { interval: 60s, rate_cv: 0.3, shape: 2 }\n", "shape");
  CHECK(bursty("burstiness: { rate_cv: 0.3 }\n").burstiness->interval.count() == 60);
}

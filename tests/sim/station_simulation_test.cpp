#include "uptake/sim/station_simulation.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "uptake/sim/queueing.hpp"

using uptake::sim::MultiServerQueue;
using uptake::sim::ServiceTimeBucket;
using uptake::sim::simulate_station;
using uptake::sim::StationSimulationOptions;

namespace {

// An exponential distribution of mean 1 / rate as a histogram: `count` equally likely buckets,
// each at the middle quantile of its share.
std::vector<ServiceTimeBucket> exponential_buckets(double rate, int count) {
  std::vector<ServiceTimeBucket> buckets;
  for (int i = 0; i < count; ++i) {
    const double quantile = (i + 0.5) / count;
    buckets.push_back({-std::log1p(-quantile) / rate, 1});
  }
  return buckets;
}

double relative_error(double actual, double expected) { return std::abs(actual - expected) / expected; }

}  // namespace

TEST_CASE("exponential service: the simulation agrees with Erlang C", "[station_simulation]") {
  // rho = 1.4 / (2 x 1) = 0.7
  StationSimulationOptions options;
  options.arrival_per_second = 1.4;
  options.servers = 2;
  options.service_times = exponential_buckets(1.0, 20'000);
  options.customers = 200'000;
  options.warm_up_customers = 10'000;
  options.seed = 20240607;
  const auto simulated = simulate_station(options);
  const MultiServerQueue theory(1.4, 1.0, 2);

  CHECK(simulated.measured_customers == 190'000);
  CHECK(relative_error(simulated.mean_response.count(), theory.mean_response().count()) < 0.03);
  CHECK(relative_error(simulated.mean_wait.count(), theory.mean_wait().count()) < 0.08);
  CHECK(relative_error(simulated.response_p50.count(), theory.response_percentile(0.5).count()) < 0.03);
  CHECK(relative_error(simulated.response_p90.count(), theory.response_percentile(0.9).count()) < 0.03);
  CHECK(relative_error(simulated.response_p99.count(), theory.response_percentile(0.99).count()) < 0.04);
  CHECK(relative_error(simulated.response_p999.count(), theory.response_percentile(0.999).count()) < 0.10);
  CHECK(simulated.utilisation == Approx(0.7).epsilon(0.02));
}

TEST_CASE("deterministic service, one server: the mean wait of M/D/1 (Pollaczek-Khinchine)", "[station_simulation]") {
  // Wq = lambda E[S^2] / (2 (1 - rho)) = 7 x 0.01 / 0.6 for S = 100 ms, lambda = 7 per second.
  StationSimulationOptions options;
  options.arrival_per_second = 7;
  options.servers = 1;
  options.service_times = {{0.1, 1}};
  options.customers = 200'000;
  options.seed = 11;
  const auto simulated = simulate_station(options);
  const double expected_wait = 7 * 0.01 / (2 * (1 - 0.7));
  CHECK(relative_error(simulated.mean_wait.count(), expected_wait) < 0.04);
  CHECK(relative_error(simulated.mean_response.count(), expected_wait + 0.1) < 0.03);
  // Half of M/M/1's wait at the same load: the variance of the service time is what queues.
  CHECK(simulated.mean_wait.count() < 0.6 * MultiServerQueue(7, 10, 1).mean_wait().count());
  CHECK(simulated.response_p50.count() >= 0.1);
  CHECK(simulated.utilisation == Approx(0.7).epsilon(0.02));
}

TEST_CASE("weights, not bucket counts, set the distribution", "[station_simulation]") {
  // 90% at 10 ms and 10% at 200 ms, on a lightly loaded station where hardly anyone waits: the
  // response percentiles are the service time's.
  StationSimulationOptions options;
  options.arrival_per_second = 1;
  options.servers = 50;
  options.service_times = {{0.010, 9}, {0.050, 0}, {0.200, 1}};
  options.customers = 50'000;
  options.warm_up_customers = 1'000;
  const auto simulated = simulate_station(options);
  CHECK(simulated.response_p50.count() == Approx(0.010));
  CHECK(simulated.response_p99.count() == Approx(0.200));
  CHECK(simulated.mean_wait.count() == 0);
  CHECK(simulated.mean_response.count() == Approx(0.9 * 0.010 + 0.1 * 0.200).epsilon(0.03));
}

TEST_CASE("a seed gives the same customers every time", "[station_simulation]") {
  StationSimulationOptions options;
  options.arrival_per_second = 50;
  options.servers = 4;
  options.service_times = exponential_buckets(15, 1'000);
  options.customers = 20'000;
  options.warm_up_customers = 1'000;
  options.seed = 99;
  const auto first = simulate_station(options);
  const auto again = simulate_station(options);
  CHECK(first.response_p99 == again.response_p99);
  CHECK(first.mean_wait == again.mean_wait);
  options.seed = 100;
  const auto other = simulate_station(options);
  CHECK(other.mean_response != first.mean_response);
}

TEST_CASE("an unstable station keeps queueing", "[station_simulation]") {
  StationSimulationOptions options;
  options.arrival_per_second = 12;
  options.servers = 1;
  options.service_times = {{0.1, 1}};
  options.customers = 20'000;
  options.warm_up_customers = 0;
  const auto simulated = simulate_station(options);
  // The queue grows by about 2 customers a second, 0.2 s of work: after 1600 s, minutes of wait.
  CHECK(simulated.mean_wait.count() > 60);
  CHECK(simulated.utilisation == Approx(1).epsilon(0.02));
}

TEST_CASE("options outside their bounds are refused", "[station_simulation]") {
  StationSimulationOptions valid;
  valid.arrival_per_second = 1;
  valid.service_times = {{0.1, 1}};
  valid.customers = 100;
  valid.warm_up_customers = 10;
  CHECK_NOTHROW(simulate_station(valid));

  auto options = valid;
  options.servers = 0;
  CHECK_THROWS_AS(simulate_station(options), std::invalid_argument);
  options = valid;
  options.arrival_per_second = 0;
  CHECK_THROWS_AS(simulate_station(options), std::invalid_argument);
  options = valid;
  options.service_times = {};
  CHECK_THROWS_AS(simulate_station(options), std::invalid_argument);
  options = valid;
  options.service_times = {{0.1, 0}};
  CHECK_THROWS_AS(simulate_station(options), std::invalid_argument);
  options = valid;
  options.service_times = {{-0.1, 1}};
  CHECK_THROWS_AS(simulate_station(options), std::invalid_argument);
  options = valid;
  options.service_times = {{0.1, -1}};
  CHECK_THROWS_AS(simulate_station(options), std::invalid_argument);
  options = valid;
  options.warm_up_customers = 100;
  CHECK_THROWS_AS(simulate_station(options), std::invalid_argument);
  options = valid;
  options.warm_up_customers = -1;
  CHECK_THROWS_AS(simulate_station(options), std::invalid_argument);
}

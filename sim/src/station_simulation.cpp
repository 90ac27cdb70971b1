#include "uptake/sim/station_simulation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>
#include <stdexcept>

#include "uptake/base/random.hpp"

namespace uptake::sim {
namespace {

void check_options(const StationSimulationOptions& options) {
  if (!(std::isfinite(options.arrival_per_second) && options.arrival_per_second > 0)) {
    throw std::invalid_argument(
        fmt::format("arrival rate {} per second is not positive and finite", options.arrival_per_second));
  }
  if (options.servers < 1) {
    throw std::invalid_argument(fmt::format("a station needs at least one server, not {}", options.servers));
  }
  if (options.warm_up_customers < 0 || options.customers <= options.warm_up_customers) {
    throw std::invalid_argument(fmt::format("{} customers leave none to measure after a warm-up of {}",
                                            options.customers, options.warm_up_customers));
  }
  double total_weight = 0;
  for (const auto& bucket : options.service_times) {
    if (!(std::isfinite(bucket.seconds) && bucket.seconds >= 0 && std::isfinite(bucket.weight) && bucket.weight >= 0)) {
      throw std::invalid_argument(fmt::format("the service-time bucket ({} s, weight {}) is not finite and at least 0",
                                              bucket.seconds, bucket.weight));
    }
    total_weight += bucket.weight;
  }
  if (!(total_weight > 0)) throw std::invalid_argument("the service-time distribution has no bucket of positive weight");
}

// Draws from the buckets in proportion to their weights, by binary search of the cumulative
// weights: O(log buckets) per draw.
class EmpiricalDistribution {
 public:
  explicit EmpiricalDistribution(const std::vector<ServiceTimeBucket>& buckets) {
    double total = 0;
    for (const auto& bucket : buckets) {
      if (bucket.weight == 0) continue;
      total += bucket.weight;
      cumulative_.push_back(total);
      values_.push_back(bucket.seconds);
    }
  }

  double draw(Random& random) const {
    const double target = random.uniform() * cumulative_.back();
    const auto at = std::upper_bound(cumulative_.begin(), cumulative_.end(), target) - cumulative_.begin();
    return values_[std::min(static_cast<std::size_t>(at), values_.size() - 1)];
  }

 private:
  std::vector<double> cumulative_;
  std::vector<double> values_;
};

// Nearest rank: the smallest value with at least a share q of the values at or below it.
// `values` must be sorted.
double nearest_rank(const std::vector<double>& values, double q) {
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

}  // namespace

StationSimulationResult simulate_station(const StationSimulationOptions& options) {
  check_options(options);
  const EmpiricalDistribution service_time(options.service_times);
  Random random(options.seed);

  // When each server next becomes free; the earliest on top.
  std::priority_queue<double, std::vector<double>, std::greater<>> free_at;
  for (int server = 0; server < options.servers; ++server) free_at.push(0.0);

  StationSimulationResult result;
  result.measured_customers = options.customers - options.warm_up_customers;
  std::vector<double> responses;
  responses.reserve(static_cast<std::size_t>(result.measured_customers));
  double total_wait = 0;
  double total_busy = 0;
  double first_measured_start = 0;
  double last_departure = 0;

  double arrival = 0;
  for (std::int64_t customer = 0; customer < options.customers; ++customer) {
    arrival += random.exponential() / options.arrival_per_second;
    const double service = service_time.draw(random);
    const double start = std::max(arrival, free_at.top());
    free_at.pop();
    free_at.push(start + service);
    if (customer < options.warm_up_customers) continue;
    if (customer == options.warm_up_customers) first_measured_start = start;
    last_departure = std::max(last_departure, start + service);
    total_wait += start - arrival;
    total_busy += service;
    responses.push_back(start + service - arrival);
  }

  const auto measured = static_cast<double>(result.measured_customers);
  double total_response = 0;
  for (double response : responses) total_response += response;
  std::sort(responses.begin(), responses.end());
  result.response_p50 = Seconds{nearest_rank(responses, 0.5)};
  result.response_p90 = Seconds{nearest_rank(responses, 0.9)};
  result.response_p99 = Seconds{nearest_rank(responses, 0.99)};
  result.response_p999 = Seconds{nearest_rank(responses, 0.999)};
  result.mean_response = Seconds{total_response / measured};
  result.mean_wait = Seconds{total_wait / measured};
  // FIFO starts service in arrival order, so every measured service lies between the first
  // measured start and the last measured departure, and the share can never exceed 1.
  const double span = last_departure - first_measured_start;
  result.utilisation = span > 0 ? total_busy / (options.servers * span) : 0;
  return result;
}

}  // namespace uptake::sim

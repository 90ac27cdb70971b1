#include "uptake/sim/queueing.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace uptake::sim {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

void check_servers(int servers) {
  if (servers < 1) throw std::invalid_argument(fmt::format("a queue needs at least one server, not {}", servers));
}

void check_service_rate(double service_per_second) {
  if (!(std::isfinite(service_per_second) && service_per_second > 0)) {
    throw std::invalid_argument(fmt::format("service rate {} per second is not positive and finite", service_per_second));
  }
}

void check_arrival_rate(double arrival_per_second) {
  if (!(std::isfinite(arrival_per_second) && arrival_per_second >= 0)) {
    throw std::invalid_argument(fmt::format("arrival rate {} per second is not finite and at least 0", arrival_per_second));
  }
}

void check_quantile(double q) {
  if (!(q > 0 && q < 1)) throw std::invalid_argument(fmt::format("quantile {} is not between 0 and 1", q));
}

void check_objective(const ResponseObjective& objective) {
  check_quantile(objective.quantile);
  if (!(std::isfinite(objective.bound.count()) && objective.bound.count() > 0)) {
    throw std::invalid_argument(fmt::format("response-time bound {} s is not positive and finite", objective.bound.count()));
  }
}

void check_time(Seconds t) {
  if (std::isnan(t.count())) throw std::invalid_argument("a time of NaN seconds");
}

// (1 - e^{-x}) / x, continuous through x = 0 where it is 1; accurate for tiny x through expm1.
double exponential_average(double x) { return x == 0 ? 1.0 : -std::expm1(-x) / x; }

// P(W + S > t) for independent W ~ Exp(theta), S ~ Exp(mu):
//   (theta e^{-mu t} - mu e^{-theta t}) / (theta - mu)
//     = e^{-mu t} + mu t e^{-min(theta, mu) t} (1 - e^{-|theta - mu| t}) / (|theta - mu| t).
// The second form has no 0/0 at theta == mu (it becomes (1 + mu t) e^{-mu t}), loses no digits
// when theta is close to mu, and never multiplies an underflow by an overflow for large t.
double sum_of_exponentials_exceeds(double theta, double mu, double t) {
  const double slower = std::min(theta, mu);
  return std::exp(-mu * t) + mu * t * std::exp(-slower * t) * exponential_average(std::abs(theta - mu) * t);
}

// The percentile of the service time alone: the response time of a request that never waits.
double service_percentile(double service_per_second, double q) { return -std::log1p(-q) / service_per_second; }

}  // namespace

double erlang_b(double offered_load_erlangs, int servers) {
  check_servers(servers);
  if (!(std::isfinite(offered_load_erlangs) && offered_load_erlangs >= 0)) {
    throw std::invalid_argument(fmt::format("offered load {} erlangs is not finite and at least 0", offered_load_erlangs));
  }
  if (offered_load_erlangs == 0) return 0;
  double inverse = 1;  // 1 / B_0
  for (int k = 1; k <= servers; ++k) inverse = 1 + k / offered_load_erlangs * inverse;
  return 1 / inverse;
}

double erlang_c(double offered_load_erlangs, int servers) {
  const double blocking = erlang_b(offered_load_erlangs, servers);
  const double utilisation = offered_load_erlangs / servers;
  if (utilisation >= 1) return 1;
  return blocking / (1 - utilisation * (1 - blocking));
}

MultiServerQueue::MultiServerQueue(double arrival_per_second, double service_per_second, int servers)
    : arrival_per_second_(arrival_per_second), service_per_second_(service_per_second), servers_(servers) {
  check_servers(servers);
  check_arrival_rate(arrival_per_second);
  check_service_rate(service_per_second);
}

double MultiServerQueue::probability_of_waiting() const { return erlang_c(offered_load_erlangs(), servers_); }

Seconds MultiServerQueue::mean_wait() const {
  if (!stable()) return Seconds{kInfinity};
  return Seconds{probability_of_waiting() / (servers_ * service_per_second_ - arrival_per_second_)};
}

Seconds MultiServerQueue::mean_response() const { return mean_wait() + Seconds{1 / service_per_second_}; }

double MultiServerQueue::probability_wait_exceeds(Seconds t) const {
  check_time(t);
  if (t.count() < 0) return 1;
  if (!stable()) return 1;
  return probability_of_waiting() * std::exp(-(servers_ * service_per_second_ - arrival_per_second_) * t.count());
}

double MultiServerQueue::probability_response_exceeds(Seconds t) const {
  check_time(t);
  if (t.count() <= 0) return 1;
  if (!stable()) return 1;
  const double mu = service_per_second_;
  const double theta = servers_ * mu - arrival_per_second_;
  const double waiting = probability_of_waiting();
  return (1 - waiting) * std::exp(-mu * t.count()) + waiting * sum_of_exponentials_exceeds(theta, mu, t.count());
}

Seconds MultiServerQueue::response_percentile(double q) const {
  check_quantile(q);
  if (!stable()) return Seconds{kInfinity};
  const double tail = 1 - q;
  // The quantile lies above the service time's own (waiting only adds), so the search starts
  // there and doubles until it has passed the quantile.
  double low = 0;
  double high = service_percentile(service_per_second_, q);
  while (probability_response_exceeds(Seconds{high}) > tail) {
    low = high;
    high *= 2;
  }
  // Bisect until no double lies strictly between the bounds.
  for (;;) {
    const double middle = low + (high - low) / 2;
    if (middle <= low || middle >= high) break;
    (probability_response_exceeds(Seconds{middle}) > tail ? low : high) = middle;
  }
  return Seconds{high};
}

Seconds MultiServerQueue::wait_percentile(double q) const {
  check_quantile(q);
  if (!stable()) return Seconds{kInfinity};
  const double waiting = probability_of_waiting();
  const double tail = 1 - q;
  if (waiting <= tail) return Seconds{0};
  return Seconds{std::log(waiting / tail) / (servers_ * service_per_second_ - arrival_per_second_)};
}

double largest_arrival_within(double service_per_second, int servers, const ResponseObjective& objective) {
  check_service_rate(service_per_second);
  check_servers(servers);
  check_objective(objective);
  const auto meets = [&](double arrival) {
    return MultiServerQueue(arrival, service_per_second, servers).response_percentile(objective.quantile) <= objective.bound;
  };
  if (!meets(0)) return 0;
  // The percentile grows with lambda and is unbounded as lambda approaches c mu, so the answer
  // lies in [0, c mu); `low` always meets the objective and `high` never does.
  double low = 0;
  double high = servers * service_per_second;
  for (;;) {
    const double middle = low + (high - low) / 2;
    if (middle <= low || middle >= high) break;
    (meets(middle) ? low : high) = middle;
  }
  return low;
}

std::optional<int> fewest_servers_within(double arrival_per_second, double service_per_second,
                                         const ResponseObjective& objective) {
  check_arrival_rate(arrival_per_second);
  check_service_rate(service_per_second);
  check_objective(objective);
  // With ever more servers the chance of waiting falls to 0 and the percentile to the service
  // time's own, which it never goes below; at or above the bound no count of servers helps.
  if (!(Seconds{service_percentile(service_per_second, objective.quantile)} < objective.bound)) return std::nullopt;
  const auto meets = [&](int servers) {
    return MultiServerQueue(arrival_per_second, service_per_second, servers).response_percentile(objective.quantile) <=
           objective.bound;
  };
  // The fewest servers for a stable queue; then a galloping search upwards (the answer is
  // usually close to it), and bisection between the last count that failed and the first that met.
  const double offered_load = arrival_per_second / service_per_second;
  if (offered_load >= std::numeric_limits<int>::max() / 2) return std::nullopt;
  int failing = static_cast<int>(std::floor(offered_load));  // unstable, so it fails, or 0
  int step = 1;
  int passing = failing + step;
  while (!meets(passing)) {
    failing = passing;
    if (step > (std::numeric_limits<int>::max() - passing) / 2) return std::nullopt;
    step *= 2;
    passing = failing + step;
  }
  while (passing - failing > 1) {
    const int middle = failing + (passing - failing) / 2;
    (meets(middle) ? passing : failing) = middle;
  }
  return passing;
}

}  // namespace uptake::sim

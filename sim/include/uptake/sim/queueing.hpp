#pragma once
// The M/M/c queue (Erlang C): Poisson arrivals at rate lambda, c identical servers each
// completing exponentially distributed work at rate mu, one FIFO queue, no limit on its length.
//
// Units: rates are in events per second (arguments and members named *_per_second); times are
// uptake::Seconds (std::chrono::duration<double>); the offered load A = lambda / mu is in erlangs
// and the utilisation rho = A / c is a fraction of the servers' time (0.7, not 70).
//
// Contract: c < 1, a negative or non-finite rate, or a probability outside its range is a
// programming error and throws std::invalid_argument. An unstable system (rho >= 1) is a valid
// question with an unbounded answer: its waits, response times and percentiles are +infinity
// and its probability of waiting is 1; nothing throws.
//
// Every result is a steady-state figure; a system that starts empty approaches it only after
// many service times, and the closer rho is to 1, the longer that takes.
#include <optional>

#include "uptake/base/civil_time.hpp"

namespace uptake::sim {

// Erlang B: the blocking probability of c servers offered A erlangs with no queue (M/M/c/c), by
// the recursion 1/B_k = 1 + (k / A) / B_{k-1}, B_0 = 1, which stays within [0, 1] at every step
// and so neither overflows nor cancels, however large A and c are. O(c).
double erlang_b(double offered_load_erlangs, int servers);

// Erlang C: the probability that an arrival has to wait, C = B / (1 - rho (1 - B)); 1 when
// rho >= 1.
double erlang_c(double offered_load_erlangs, int servers);

class MultiServerQueue {
 public:
  // Throws std::invalid_argument for servers < 1, a negative or non-finite arrival rate, or a
  // service rate that is not positive and finite. An arrival rate of 0 is an idle system.
  MultiServerQueue(double arrival_per_second, double service_per_second, int servers);

  double arrival_per_second() const { return arrival_per_second_; }
  double service_per_second() const { return service_per_second_; }
  int servers() const { return servers_; }

  double offered_load_erlangs() const { return arrival_per_second_ / service_per_second_; }
  // rho = lambda / (c mu): the share of time each server is busy when stable; >= 1 means the
  // queue grows without bound (the servers are then busy all the time).
  double utilisation() const { return offered_load_erlangs() / servers_; }
  bool stable() const { return utilisation() < 1; }

  // C(A, c): probability that an arrival waits at all.
  double probability_of_waiting() const;
  // Wq = C / (c mu - lambda).
  Seconds mean_wait() const;
  // R = Wq + 1 / mu.
  Seconds mean_response() const;
  // P(Wq > t) = C exp(-(c mu - lambda) t).
  double probability_wait_exceeds(Seconds t) const;
  // P(R > t), R = Wq + S with S ~ Exp(mu) independent of Wq. With theta = c mu - lambda:
  //   P(R > t) = (1 - C) e^{-mu t} + C (theta e^{-mu t} - mu e^{-theta t}) / (theta - mu),
  // and (1 - C) e^{-mu t} + C (1 + mu t) e^{-mu t} when theta == mu; evaluated in one form that
  // is exact in both cases and continuous between them.
  double probability_response_exceeds(Seconds t) const;
  // The q-quantile of the response time: the t with P(R > t) = 1 - q, for 0 < q < 1, solved by
  // bisection (P(R > t) is continuous and strictly decreasing) to the last bit of a double.
  Seconds response_percentile(double q) const;
  // The q-quantile of the wait in the queue; 0 when at least q of arrivals do not wait.
  Seconds wait_percentile(double q) const;

 private:
  double arrival_per_second_;
  double service_per_second_;
  int servers_;
};

// A response-time objective: the q-quantile of the response time stays at or below `bound`
// (q = 0.99, bound = 300 ms: "p99 < 300ms").
struct ResponseObjective {
  double quantile = 0.99;  // 0 < quantile < 1
  Seconds bound{0};        // > 0
};

// The largest arrival rate (per second) that c servers of rate mu carry with the objective met,
// by bisection on lambda in [0, c mu) (the percentile grows with lambda). 0 when even a lone
// request, which never waits, misses the objective: the service time alone is too slow.
double largest_arrival_within(double service_per_second, int servers, const ResponseObjective& objective);

// The fewest servers of rate mu that carry `arrival_per_second` with the objective met; empty
// when no number of servers can (the service time alone misses the objective, or meets it only
// with no room at all for waiting).
std::optional<int> fewest_servers_within(double arrival_per_second, double service_per_second,
                                         const ResponseObjective& objective);

}  // namespace uptake::sim

#pragma once
// A discrete-event simulation of one station: c identical servers, one FIFO queue of unlimited
// length, Poisson arrivals, and service times drawn from a measured distribution. It answers
// what the closed forms of queueing.hpp cannot: the response times of M/G/c when the service
// times are not exponential (as measured ones rarely are).
//
// FIFO with identical servers means each arrival, in arrival order, starts on whichever server
// frees first, at the later of its arrival and that moment; so the simulation keeps only the
// servers' free times, in a min-heap: O(log c) per customer, O(n log c) in all.
//
// Units: rates per second, times uptake::Seconds (std::chrono::duration<double>).
#include <cstdint>
#include <vector>

#include "uptake/base/civil_time.hpp"

namespace uptake::sim {

// One bucket of a service-time histogram: `weight` observations of about `seconds` each (the
// value a histogram reports for the bucket). Sampling returns `seconds` itself, so the
// distribution is as fine as the buckets; HdrHistogram's buckets are within its precision.
struct ServiceTimeBucket {
  double seconds = 0;  // >= 0
  double weight = 0;   // >= 0; the weights need not sum to anything in particular
};

struct StationSimulationOptions {
  double arrival_per_second = 0;                 // lambda, > 0
  int servers = 1;                               // c, >= 1
  std::vector<ServiceTimeBucket> service_times;  // at least one bucket of positive weight
  std::uint64_t seed = 1;                        // same seed, same customers, same results
  std::int64_t customers = 200'000;              // simulated in all, warm-up included; > warm_up
  // The first customers find the station empty, which the steady state rarely does; they are
  // simulated but left out of every figure.
  std::int64_t warm_up_customers = 10'000;       // >= 0
};

struct StationSimulationResult {
  std::int64_t measured_customers = 0;  // customers - warm_up_customers
  // Response time = wait + service, from arrival to departure. Percentiles by nearest rank: the
  // smallest simulated value at or above that share of the measured customers.
  Seconds response_p50{0};
  Seconds response_p90{0};
  Seconds response_p99{0};
  Seconds response_p999{0};
  Seconds mean_response{0};
  Seconds mean_wait{0};
  // Busy time of the measured customers over c times the span from the first measured service
  // start to the last measured departure: the fraction of server time used, which approaches
  // rho = lambda E[S] / c when stable and 1 when not.
  double utilisation = 0;
};

// Runs the simulation. An unstable station (lambda E[S] >= c) runs too: its queue grows for as
// long as customers keep arriving, and the figures say so. Memory is one double per measured
// customer (for the percentiles). Throws std::invalid_argument for options outside the bounds
// given above.
StationSimulationResult simulate_station(const StationSimulationOptions& options);

}  // namespace uptake::sim

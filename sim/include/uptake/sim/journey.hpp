#pragma once
// User journeys as absorbing Markov chains: how many requests each endpoint receives per journey,
// and the walk of one session through the chain, as the load generator sends it.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "uptake/base/random.hpp"
#include "uptake/sim/arrivals.hpp"
#include "uptake/sim/scenario.hpp"

namespace uptake::sim {

struct EndpointVisits {
  std::string endpoint;
  double requests_per_journey = 0;
};

// Expected visits to every step, starting from journeys.start, from the fundamental matrix
// N = (I - Q)^-1 of the absorbing chain (Q: transitions among the transient steps). Row
// `start` of N holds the expected number of visits to each step before exit. Returned in the
// order of journeys.steps.
std::vector<double> expected_step_visits(const Journeys& journeys);

// Expected requests per journey for each endpoint, in the order endpoints are first named.
std::vector<EndpointVisits> expected_endpoint_requests(const Journeys& journeys);

// The name of a step from which 'exit' cannot be reached, if any (such a chain never ends).
std::optional<std::string> step_that_cannot_exit(const Journeys& journeys);

// A request of a session: to `endpoint` (an index into the endpoint order the chain was compiled
// with), sent `think` after the previous request's response, or after the session's arrival for
// its first request. Steps without a request in between add their pauses to it.
struct SessionVisit {
  std::uint32_t endpoint = 0;
  std::chrono::nanoseconds think{0};
};

// The journeys compiled for walking: each step's endpoint index, pause and successors with
// cumulative probabilities.
class SessionChain {
 public:
  SessionChain(const Journeys& journeys, const std::vector<std::string>& endpoint_order);
  // Expected requests of a session (the sum of the expected visits to steps with an endpoint).
  double requests_per_session() const { return requests_per_session_; }
  // Expected requests of a session to each endpoint, in the endpoint order given.
  const std::vector<double>& requests_per_endpoint() const { return requests_per_endpoint_; }

 private:
  friend class SessionWalk;
  struct Step {
    int endpoint = -1;  // -1: no request
    DurationDistribution think;
    std::vector<std::pair<double, int>> next;  // cumulative probability, step index (-1: exit)
  };
  std::vector<Step> steps_;
  int start_ = 0;
  double requests_per_session_ = 0;
  std::vector<double> requests_per_endpoint_;
};

// One session's path through the chain, drawn from a random stream of its own: the session with
// the same seed and number walks the same steps with the same pauses on any thread or shard,
// whatever the responses' timing.
class SessionWalk {
 public:
  SessionWalk(const SessionChain& chain, std::uint64_t seed, std::uint64_t session);
  // The session's next request, or false once it has exited.
  bool next(SessionVisit& visit);

 private:
  // The successor of step_ (-1: exit), and the pause before it.
  int successor();

  const SessionChain* chain_;
  Random random_;
  int step_ = -1;
  bool started_ = false;
};

// The replay window of a journeys scenario as a schedule of session arrivals: sessions arrive as
// the non-homogeneous Poisson process of the model's request rate divided by the requests a
// session makes on average (each unit of volume is one session). An event limited to some
// endpoints then changes the rate of whole sessions by its share of their requests.
ReplayWindow session_window(ReplayWindow window, const SessionChain& chain);

}  // namespace uptake::sim

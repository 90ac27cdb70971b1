#pragma once
// User journeys as absorbing Markov chains: how many requests each endpoint receives per journey.
#include <optional>
#include <string>
#include <vector>

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

}  // namespace uptake::sim

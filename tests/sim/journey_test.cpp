#include <catch2/catch.hpp>

#include "uptake/sim/journey.hpp"

using namespace uptake::sim;

namespace {
Journeys chain(std::string start, std::vector<JourneyStep> steps) {
  Journeys journeys;
  journeys.start = std::move(start);
  journeys.steps = std::move(steps);
  return journeys;
}
}  // namespace

TEST_CASE("a linear funnel visits each step with the product of the probabilities before it") {
  const auto journeys = chain("open_app", {{"open_app", "", {{"login", 0.9}, {"exit", 0.1}}},
                                           {"login", "login", {{"request", 0.85}, {"exit", 0.15}}},
                                           {"request", "issue", {{"submit", 0.7}, {"exit", 0.3}}},
                                           {"submit", "verify", {{"exit", 1.0}}}});
  const auto visits = expected_step_visits(journeys);
  REQUIRE(visits.size() == 4);
  CHECK(visits[0] == Approx(1.0));
  CHECK(visits[1] == Approx(0.9));
  CHECK(visits[2] == Approx(0.765));
  CHECK(visits[3] == Approx(0.5355));
  const auto requests = expected_endpoint_requests(journeys);
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].endpoint == "login");
  CHECK(requests[2].endpoint == "verify");
  CHECK(requests[2].requests_per_journey == Approx(0.5355));
}

TEST_CASE("loops: the fundamental matrix counts repeated visits") {
  // A <-> B, each leaving with probability 1/2. By hand: (I - Q)^-1 = 4/3 [[1, 1/2], [1/2, 1]],
  // so from A: 4/3 visits to A and 2/3 to B.
  const auto journeys = chain("A", {{"A", "read", {{"B", 0.5}, {"exit", 0.5}}}, {"B", "write", {{"A", 0.5}, {"exit", 0.5}}}});
  const auto visits = expected_step_visits(journeys);
  CHECK(visits[0] == Approx(4.0 / 3.0));
  CHECK(visits[1] == Approx(2.0 / 3.0));

  // A retry loop: login fails 20% of the time and is tried again: 1 / (1 - 0.2) = 1.25 logins.
  const auto retry = chain("login", {{"login", "login", {{"login", 0.2}, {"issue", 0.8}}}, {"issue", "issue", {{"exit", 1.0}}}});
  const auto requests = expected_endpoint_requests(retry);
  CHECK(requests[0].requests_per_journey == Approx(1.25));
  CHECK(requests[1].requests_per_journey == Approx(1.0));
}

TEST_CASE("two steps that share an endpoint add up") {
  const auto journeys = chain("first", {{"first", "verify", {{"second", 0.5}, {"exit", 0.5}}}, {"second", "verify", {{"exit", 1.0}}}});
  const auto requests = expected_endpoint_requests(journeys);
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].requests_per_journey == Approx(1.5));
}

TEST_CASE("a step that can never exit is found") {
  const auto trapped = chain("A", {{"A", "", {{"B", 0.5}, {"exit", 0.5}}}, {"B", "", {{"C", 1.0}}}, {"C", "", {{"B", 1.0}}}});
  const auto found = step_that_cannot_exit(trapped);
  REQUIRE(found);
  CHECK((*found == "B" || *found == "C"));
  const auto fine = chain("A", {{"A", "", {{"exit", 1.0}}}});
  CHECK_FALSE(step_that_cannot_exit(fine));
}

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "scenario_builder.hpp"
#include "uptake/sim/journey.hpp"
#include "uptake/sim/rate.hpp"

using namespace uptake;
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

namespace {

DurationDistribution distribution(const char* text) {
  std::string problem;
  auto parsed = DurationDistribution::parse(text, problem, true);
  REQUIRE(parsed);
  return *parsed;
}

// Kolmogorov-Smirnov: the largest gap between the sample's empirical CDF and `cdf`.
template <class Cdf>
double ks_statistic(std::vector<double> sample, Cdf cdf) {
  std::sort(sample.begin(), sample.end());
  double largest = 0;
  const double n = static_cast<double>(sample.size());
  for (std::size_t i = 0; i < sample.size(); ++i) {
    const double f = cdf(sample[i]);
    largest = std::max({largest, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  return largest;
}

// The wallet's funnel, with a pause of its own on two steps and the journeys' default elsewhere.
Journeys funnel_with_pauses() {
  auto journeys = chain("open_app", {{"open_app", "", {{"login", 0.9}, {"exit", 0.1}}},
                                     {"login", "login", {{"request", 0.85}, {"exit", 0.15}}},
                                     {"request", "issue", {{"read", 0.7}, {"exit", 0.3}}},
                                     {"read", "", {{"submit", 1.0}}},
                                     {"submit", "verify", {{"submit", 0.2}, {"exit", 0.8}}}});
  journeys.think_time = distribution("exp:2s");
  journeys.steps[2].think_time = distribution("lognormal:3s,2s");
  journeys.steps[3].think_time = distribution("const:1s");
  return journeys;
}

}  // namespace

TEST_CASE("sessions walk the chain: each endpoint is visited as often as the chain expects") {
  const auto journeys = funnel_with_pauses();
  const std::vector<std::string> endpoints{"login", "issue", "verify"};
  const SessionChain compiled(journeys, endpoints);
  CHECK(compiled.requests_per_session() == Approx(0.9 + 0.765 + 0.5355 / 0.8));
  constexpr int kSessions = 200'000;
  std::vector<double> counts(endpoints.size(), 0);
  for (std::uint64_t session = 0; session < kSessions; ++session) {
    SessionWalk walk(compiled, 11, session);
    for (SessionVisit visit; walk.next(visit);) ++counts[visit.endpoint];
  }
  const auto expected = expected_endpoint_requests(journeys);
  for (std::size_t e = 0; e < endpoints.size(); ++e) {
    INFO(endpoints[e]);
    // Visits per session are at most a few with a small variance: 200,000 sessions put the mean
    // within about 0.5% of the expectation (seeded).
    CHECK(counts[e] / kSessions == Approx(expected[e].requests_per_journey).epsilon(0.01));
  }
}

TEST_CASE("the pauses between a session's requests follow each step's distribution") {
  const auto journeys = funnel_with_pauses();
  const SessionChain compiled(journeys, {"login", "issue", "verify"});
  std::vector<double> before_login, before_issue, before_first_verify;
  for (std::uint64_t session = 0; session < 20'000; ++session) {
    SessionWalk walk(compiled, 3, session);
    bool first_verify = true;
    for (SessionVisit visit; walk.next(visit);) {
      const double seconds = std::chrono::duration<double>(visit.think).count();
      if (visit.endpoint == 0) before_login.push_back(seconds);
      if (visit.endpoint == 1) before_issue.push_back(seconds);
      if (visit.endpoint == 2 && first_verify) before_first_verify.push_back(seconds);
      if (visit.endpoint == 2) first_verify = false;
    }
  }
  // login is the first request: open_app (no request) is entered at the arrival, login after
  // the journeys' default pause, exponential with mean 2 s.
  const double exponential_d = ks_statistic(before_login, [](double x) { return 1 - std::exp(-x / 2.0); });
  // issue: its own log-normal, mean 3 s and sd 2 s.
  const double sigma = std::sqrt(std::log1p(4.0 / 9.0)), mu = std::log(3.0) - sigma * sigma / 2;
  const double lognormal_d = ks_statistic(before_issue, [&](double x) { return 0.5 * std::erfc(-(std::log(x) - mu) / (sigma * std::sqrt(2.0))); });
  // The first verify comes after 'read' (1 s, no request) and its own pause (the default,
  // exponential with mean 2 s): 1 s plus an exponential.
  const double shifted_d = ks_statistic(before_first_verify, [](double x) { return x < 1 ? 0.0 : 1 - std::exp(-(x - 1) / 2.0); });
  // The 1% critical value of the Kolmogorov-Smirnov statistic is 1.63 / sqrt(n).
  INFO("D: exponential " << exponential_d << ", lognormal " << lognormal_d << ", shifted " << shifted_d);
  CHECK(exponential_d < 1.63 / std::sqrt(static_cast<double>(before_login.size())));
  CHECK(lognormal_d < 1.63 / std::sqrt(static_cast<double>(before_issue.size())));
  CHECK(shifted_d < 1.63 / std::sqrt(static_cast<double>(before_first_verify.size())));
  // And a wrong distribution is told apart: the log-normal pauses are not exponential.
  CHECK(ks_statistic(before_issue, [](double x) { return 1 - std::exp(-x / 3.0); }) > 1.63 / std::sqrt(static_cast<double>(before_issue.size())));
}

TEST_CASE("a session's walk depends on its seed and number only") {
  const auto journeys = funnel_with_pauses();
  const SessionChain compiled(journeys, {"login", "issue", "verify"});
  auto path = [&](std::uint64_t seed, std::uint64_t session) {
    std::vector<std::pair<std::uint32_t, std::int64_t>> visits;
    SessionWalk walk(compiled, seed, session);
    for (SessionVisit visit; walk.next(visit);) visits.emplace_back(visit.endpoint, visit.think.count());
    return visits;
  };
  CHECK(path(5, 42) == path(5, 42));
  int differing = 0;
  for (std::uint64_t session = 0; session < 100; ++session) differing += path(5, session) != path(6, session);
  CHECK(differing > 50);
}

TEST_CASE("shards split sessions, never a session: together they are the unsharded sessions") {
  const auto scenario = test::scenario_from_yaml(R"(
name: sessions
seed: 3
history: { series: { wallet: { yearly: { 2022: 4000000, 2023: 4000000 } } } }
growth: { model: exponential, project_to: 2023 }
journeys:
  start: open_app
  think_time: exp:2s
  steps:
    open_app: { next: { login: 0.9, exit: 0.1 } }
    login:    { endpoint: login, next: { request: 0.85, exit: 0.15 } }
    request:  { endpoint: issue, think_time: 'lognormal:3s,2s', next: { submit: 0.7, exit: 0.3 } }
    submit:   { endpoint: verify, next: { exit: 1.0 } }
flows:
  login: { method: POST, path: /login }
  issue: { method: POST, path: /v1/certificates }
  verify: { method: POST, path: /v1/verify }
replay: { window: day, day: 2023-03-06, duration: 2m }
)");
  const RateModel model(scenario, {{2023, 4'000'000.0}});
  const SessionChain chain(*scenario.mix.journeys, model.endpoints());
  const auto window = session_window(replay_window(scenario, model), chain);
  // One session per unit of volume: the sessions expected are the requests over requests per session.
  const ArrivalSchedule whole_schedule(model, window, 9);
  double requests = 0;
  for (std::size_t e = 0; e < model.endpoints().size(); ++e) requests += model.expected_requests(e, window.from, window.to);
  CHECK(whole_schedule.expected_arrivals() == Approx(requests / chain.requests_per_session()));

  using Visits = std::vector<std::pair<std::uint32_t, std::int64_t>>;
  auto sessions_of = [&](Shard shard) {
    std::vector<std::tuple<std::uint64_t, std::int64_t, Visits>> sessions;
    ArrivalSchedule schedule(model, window, 9, shard);
    for (Arrival arrival; schedule.next(arrival);) {
      Visits visits;
      SessionWalk walk(chain, 9, arrival.sequence);
      for (SessionVisit visit; walk.next(visit);) visits.emplace_back(visit.endpoint, visit.think.count());
      sessions.emplace_back(arrival.sequence, arrival.intended_offset.count(), std::move(visits));
    }
    return sessions;
  };
  const auto whole = sessions_of({});
  REQUIRE(whole.size() > 1000);
  decltype(sessions_of({})) joined;
  for (std::uint32_t index = 0; index < 3; ++index) {
    auto part = sessions_of({index, 3});
    joined.insert(joined.end(), part.begin(), part.end());
  }
  std::sort(joined.begin(), joined.end(), [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  CHECK(joined == whole);
}

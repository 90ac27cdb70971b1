#include "uptake/sim/queueing.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>

using uptake::Seconds;
using uptake::sim::erlang_b;
using uptake::sim::erlang_c;
using uptake::sim::fewest_servers_within;
using uptake::sim::largest_arrival_within;
using uptake::sim::MultiServerQueue;
using uptake::sim::ResponseObjective;

namespace {

// Catch's Approx also accepts a relative error of about 1e-5 unless told otherwise; a published
// figure is checked to its printed digits alone.
Approx to_printed_digits(double value, double half_unit) { return Approx(value).epsilon(0).margin(half_unit); }

// P(W + S > t) for W ~ Exp(theta), S ~ Exp(mu), by Simpson's rule on the convolution:
// e^{-theta t} + integral over w in [0, t] of theta e^{-theta w} e^{-mu (t - w)}.
double convolved_tail(double theta, double mu, double t) {
  constexpr int kIntervals = 20'000;
  const double step = t / kIntervals;
  double integral = 0;
  for (int i = 0; i <= kIntervals; ++i) {
    const double w = i * step;
    const double weight = (i == 0 || i == kIntervals) ? 1 : (i % 2 == 1 ? 4 : 2);
    integral += weight * theta * std::exp(-theta * w) * std::exp(-mu * (t - w));
  }
  return std::exp(-theta * t) + integral * step / 3;
}

// P(R > t) of M/M/c computed independently of the library's closed form.
double response_tail_by_integration(double lambda, double mu, int servers, double t) {
  const double waiting = erlang_c(lambda / mu, servers);
  return (1 - waiting) * std::exp(-mu * t) + waiting * convolved_tail(servers * mu - lambda, mu, t);
}

}  // namespace

TEST_CASE("Erlang C reproduces the published figures", "[queueing]") {
  SECTION("C(A=2, c=3) is 4/9 exactly") { CHECK(erlang_c(2, 3) == Approx(4.0 / 9.0).epsilon(1e-14)); }

  SECTION("Octave queueing package, qsmmm: lambda 9, mu 5, c 2") {
    const MultiServerQueue queue(9, 5, 2);
    CHECK(queue.mean_response().count() == to_printed_digits(1.05263, 5e-6));
    CHECK(queue.arrival_per_second() * queue.mean_wait().count() == to_printed_digits(7.67368, 5e-6));
    CHECK(queue.utilisation() == Approx(0.9));
  }

  SECTION("Octave queueing package, qsmmm: lambda 9, mu 5, c 4") {
    const MultiServerQueue queue(9, 5, 4);
    CHECK(queue.mean_response().count() == to_printed_digits(0.211685, 5e-7));
    CHECK(queue.arrival_per_second() * queue.mean_wait().count() == to_printed_digits(0.105164, 5e-7));
  }

  SECTION("an Erlang C library's suite: large loads, where a direct formula overflows") {
    CHECK(erlang_c(123, 132) == to_printed_digits(0.3211, 5e-5));
    CHECK(erlang_c(12345, 12421) == to_printed_digits(0.3812, 5e-5));
  }

  SECTION("call centre: 360 calls in 30 minutes, 4 minutes each, 55 agents") {
    const MultiServerQueue queue(360.0 / 1800.0, 1.0 / 240.0, 55);
    CHECK(queue.offered_load_erlangs() == Approx(48));
    CHECK(queue.probability_of_waiting() == to_printed_digits(0.2387, 5e-5));
  }
}

TEST_CASE("Erlang B follows its recursion and its limits", "[queueing]") {
  // B(A, 1) = A / (1 + A); B(A, 2) = (A^2 / 2) / (1 + A + A^2 / 2).
  CHECK(erlang_b(3, 1) == Approx(0.75));
  CHECK(erlang_b(3, 2) == Approx(4.5 / 8.5));
  CHECK(erlang_b(0, 5) == 0);
  // Far more servers than load: blocking underflows towards 0 without NaN.
  CHECK(erlang_b(1, 10'000) == 0);
  CHECK(std::isfinite(erlang_b(1e6, 1'000'100)));
  CHECK(erlang_c(0, 3) == 0);
}

TEST_CASE("waiting-time tail and percentile agree", "[queueing]") {
  const MultiServerQueue queue(9, 5, 4);
  const double waiting = queue.probability_of_waiting();
  CHECK(queue.probability_wait_exceeds(Seconds{0}) == Approx(waiting));
  CHECK(queue.probability_wait_exceeds(Seconds{0.3}) == Approx(waiting * std::exp(-(20 - 9) * 0.3)));
  // At most C of arrivals wait, so a quantile above 1 - C is 0.
  CHECK(queue.wait_percentile(1 - waiting / 2).count() > 0);
  CHECK(queue.wait_percentile(0.5).count() == 0);
  const double q = 0.999;
  CHECK(queue.probability_wait_exceeds(queue.wait_percentile(q)) == Approx(1 - q).epsilon(1e-10));
}

TEST_CASE("response-time distribution of M/M/c", "[queueing]") {
  SECTION("c = 1: the response time is exponential with rate mu - lambda") {
    const MultiServerQueue queue(6, 10, 1);
    for (double t : {0.01, 0.1, 0.5, 2.0}) {
      CHECK(queue.probability_response_exceeds(Seconds{t}) == Approx(std::exp(-4 * t)).epsilon(1e-12));
    }
    CHECK(queue.response_percentile(0.99).count() == Approx(-std::log(0.01) / 4).epsilon(1e-14));
  }

  SECTION("the closed form matches the convolution integrated numerically") {
    for (const auto& [lambda, mu, servers] : {std::tuple{9.0, 5.0, 2}, std::tuple{9.0, 5.0, 4}, std::tuple{70.0, 1.0, 80},
                                              std::tuple{1.0, 3.0, 1}}) {
      const MultiServerQueue queue(lambda, mu, servers);
      for (double t : {0.05, 0.3, 1.0, 3.0}) {
        CHECK(queue.probability_response_exceeds(Seconds{t}) ==
              Approx(response_tail_by_integration(lambda, mu, servers, t)).epsilon(1e-9));
      }
    }
  }

  SECTION("c mu - lambda == mu: the special case, and continuity on either side of it") {
    const double mu = 1;
    const int servers = 2;
    const MultiServerQueue exact(1, mu, servers);  // theta = 2 - 1 = 1 = mu
    const double waiting = exact.probability_of_waiting();
    for (double t : {0.2, 1.0, 5.0, 40.0}) {
      const double special = (1 - waiting) * std::exp(-mu * t) + waiting * (1 + mu * t) * std::exp(-mu * t);
      CHECK(exact.probability_response_exceeds(Seconds{t}) == Approx(special).epsilon(1e-14));
      CHECK(exact.probability_response_exceeds(Seconds{t}) == Approx(response_tail_by_integration(1, mu, servers, t)).epsilon(1e-9));
      for (double nudge : {1e-12, 1e-7, -1e-7, -1e-12}) {
        const MultiServerQueue near(1 + nudge, mu, servers);
        CHECK(near.probability_response_exceeds(Seconds{t}) == Approx(special).epsilon(1e-5));
      }
    }
  }

  SECTION("far tails stay finite and positive") {
    const MultiServerQueue queue(1, 3, 1);
    CHECK(queue.probability_response_exceeds(Seconds{300}) > 0);
    CHECK(queue.probability_response_exceeds(Seconds{1e5}) == 0);
    const MultiServerQueue crowded(79.9, 1, 80);  // theta = 0.1, far below mu
    CHECK(crowded.probability_response_exceeds(Seconds{2000}) >= 0);
    CHECK(std::isfinite(crowded.probability_response_exceeds(Seconds{2000})));
  }

  SECTION("the percentile inverts the tail") {
    for (const auto& [lambda, mu, servers] : {std::tuple{9.0, 5.0, 2}, std::tuple{9.0, 5.0, 4}, std::tuple{1.0, 1.0, 2},
                                              std::tuple{0.0, 2.0, 3}, std::tuple{47.0, 1.0, 48}}) {
      const MultiServerQueue queue(lambda, mu, servers);
      for (double q : {0.5, 0.9, 0.99, 0.999, 0.99999}) {
        const auto percentile = queue.response_percentile(q);
        CHECK(queue.probability_response_exceeds(percentile) == Approx(1 - q).epsilon(1e-9));
      }
      CHECK(queue.response_percentile(0.9) < queue.response_percentile(0.99));
    }
  }
}

TEST_CASE("an unstable queue has unbounded waits; bad arguments are refused", "[queueing]") {
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  const MultiServerQueue saturated(10, 5, 2);
  CHECK_FALSE(saturated.stable());
  CHECK(saturated.utilisation() == Approx(1));
  CHECK(saturated.probability_of_waiting() == 1);
  CHECK(saturated.mean_wait().count() == kInfinity);
  CHECK(saturated.mean_response().count() == kInfinity);
  CHECK(saturated.response_percentile(0.99).count() == kInfinity);
  CHECK(saturated.wait_percentile(0.5).count() == kInfinity);
  CHECK(saturated.probability_response_exceeds(Seconds{1e6}) == 1);
  CHECK(MultiServerQueue(30, 5, 2).mean_wait().count() == kInfinity);

  CHECK_THROWS_AS(MultiServerQueue(1, 1, 0), std::invalid_argument);
  CHECK_THROWS_AS(MultiServerQueue(-1, 1, 1), std::invalid_argument);
  CHECK_THROWS_AS(MultiServerQueue(1, 0, 1), std::invalid_argument);
  CHECK_THROWS_AS(MultiServerQueue(1, -2, 1), std::invalid_argument);
  CHECK_THROWS_AS(MultiServerQueue(std::nan(""), 1, 1), std::invalid_argument);
  CHECK_THROWS_AS(erlang_b(-1, 2), std::invalid_argument);
  CHECK_THROWS_AS(erlang_c(1, 0), std::invalid_argument);
  CHECK_THROWS_AS(MultiServerQueue(1, 2, 1).response_percentile(1), std::invalid_argument);
  CHECK_THROWS_AS(MultiServerQueue(1, 2, 1).response_percentile(0), std::invalid_argument);
  CHECK_THROWS_AS(largest_arrival_within(1, 1, ResponseObjective{0.99, Seconds{0}}), std::invalid_argument);
  CHECK_THROWS_AS(fewest_servers_within(-1, 1, ResponseObjective{0.99, Seconds{1}}), std::invalid_argument);
}

TEST_CASE("the planner's inverse questions", "[queueing]") {
  SECTION("largest arrival rate, c = 1, against its closed form") {
    // p99 of Exp(mu - lambda) <= b  <=>  lambda <= mu + ln(0.01) / b.
    const double mu = 10;
    const ResponseObjective objective{0.99, Seconds{1.0}};
    CHECK(largest_arrival_within(mu, 1, objective) == Approx(mu + std::log(0.01) / 1.0).epsilon(1e-12));
  }

  SECTION("largest arrival rate, c = 8: the objective holds there and fails just above") {
    const double mu = 20;  // 50 ms mean service
    const ResponseObjective objective{0.99, Seconds{0.3}};
    const double lambda = largest_arrival_within(mu, 8, objective);
    CHECK(lambda > 0);
    CHECK(lambda < 8 * mu);
    CHECK(MultiServerQueue(lambda, mu, 8).response_percentile(0.99).count() <= 0.3);
    CHECK(MultiServerQueue(lambda * (1 + 1e-9), mu, 8).response_percentile(0.99).count() > 0.3);
    CHECK(MultiServerQueue(lambda, mu, 8).response_percentile(0.99).count() == Approx(0.3).epsilon(1e-12));
    // More servers carry more.
    CHECK(largest_arrival_within(mu, 9, objective) > lambda);
  }

  SECTION("a service time slower than the bound carries nothing") {
    // p99 of a lone request with 1 s mean service is 4.6 s.
    CHECK(largest_arrival_within(1, 100, ResponseObjective{0.99, Seconds{2}}) == 0);
    CHECK_FALSE(fewest_servers_within(5, 1, ResponseObjective{0.99, Seconds{2}}).has_value());
  }

  SECTION("fewest servers: that many meet the objective, one fewer does not") {
    const ResponseObjective objective{0.99, Seconds{0.3}};
    for (double lambda : {0.5, 9.0, 100.0, 1000.0, 12345.0}) {
      const auto servers = fewest_servers_within(lambda, 20, objective);
      REQUIRE(servers.has_value());
      CHECK(MultiServerQueue(lambda, 20, *servers).response_percentile(0.99).count() <= 0.3);
      if (*servers > 1) CHECK(MultiServerQueue(lambda, 20, *servers - 1).response_percentile(0.99).count() > 0.3);
      // And the rate those servers carry is at least the one asked for.
      CHECK(largest_arrival_within(20, *servers, objective) >= lambda);
    }
    CHECK(fewest_servers_within(0, 20, objective) == 1);
  }
}

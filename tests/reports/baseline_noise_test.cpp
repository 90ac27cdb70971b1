// Noise-aware baselines: the rank test and its interval against exact figures, Holm's
// correction, and the gate as a whole on simulated runs of a queue: identical systems pass at
// least 99% of the time, a 20% slower service is caught at least 95% of the time.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <queue>
#include <random>

#include "reports/synthetic_run.hpp"
#include "temporary_directory.hpp"
#include "uptake/reports/baseline.hpp"
#include "uptake/reports/gate.hpp"
#include "uptake/reports/results_dir.hpp"
#include "uptake/reports/significance.hpp"

using namespace uptake;
using reports::Worse;

TEST_CASE("Mann-Whitney U: exact one-sided p-values for small samples, normal approximation beyond") {
  // Complete separation of 3 against 3: one arrangement of C(6,3) = 20.
  const std::vector<double> low{1, 2, 3}, high{4, 5, 6};
  const auto separated = reports::compare_replicates(low, high, Worse::higher);
  CHECK(separated.p_value == Approx(1.0 / 20));
  CHECK(separated.smallest_possible_p == Approx(1.0 / 20));
  CHECK(reports::compare_replicates(low, high, Worse::lower).p_value == Approx(1.0));
  // U = 8 of 9 (one pair out of order): P(U >= 8) = 2/20.
  const std::vector<double> mixed{2.5, 4, 5};
  CHECK(reports::compare_replicates(low, std::vector<double>{3.5, 4, 5}, Worse::higher).p_value == Approx(1.0 / 20));
  CHECK(reports::compare_replicates(low, mixed, Worse::higher).p_value == Approx(2.0 / 20));
  // Identical samples (all tied): no evidence either way.
  const std::vector<double> same{5, 5, 5, 5};
  CHECK(reports::compare_replicates(same, same, Worse::higher).p_value > 0.5);
  // A very small sample against a large one is counted exactly: 2 against 300, separated,
  // is 1 / C(302, 2) = 2.2e-5 (the normal approximation could not go below 0.0075).
  std::vector<double> many, two{1000, 1001};
  for (int i = 1; i <= 300; ++i) many.push_back(i);
  CHECK(reports::compare_replicates(many, two, Worse::higher).p_value == Approx(1.0 / (302.0 * 301.0 / 2)));
  // Large samples: 30 against 30 completely separated is far beyond any level.
  std::vector<double> a, b;
  for (int i = 1; i <= 30; ++i) a.push_back(i), b.push_back(100 + i);
  CHECK(reports::compare_replicates(a, b, Worse::higher).p_value < 1e-9);
  CHECK(reports::compare_replicates(a, b, Worse::lower).p_value > 0.999);
}

TEST_CASE("Hodges-Lehmann: the shift as a ratio, with an interval that holds it") {
  std::mt19937_64 random(11);
  std::lognormal_distribution<double> draw(0.0, 0.2);
  std::vector<double> baseline, candidate;
  for (int i = 0; i < 40; ++i) baseline.push_back(draw(random)), candidate.push_back(1.25 * draw(random));
  const auto shift = reports::compare_replicates(baseline, candidate, Worse::higher);
  REQUIRE(shift.ratio_low);
  CHECK(*shift.ratio_low < 1.25);
  CHECK(*shift.ratio_high > 1.25);
  CHECK(shift.ratio == Approx(1.25).epsilon(0.1));
  // Two replicates a side are too few for an interval, or for significance at 5%.
  const auto tiny = reports::compare_replicates(std::vector<double>{1, 2}, std::vector<double>{3, 4}, Worse::higher);
  CHECK_FALSE(tiny.ratio_low);
  CHECK(tiny.smallest_possible_p > 0.05);
}

TEST_CASE("Holm's correction: step-down over the family") {
  // alpha 0.05 over 4: 0.01 <= 0.0125 yes, 0.02 <= 0.0167 no, and the rest stop there.
  CHECK(reports::holm_significant({0.04, 0.01, 0.02, 0.5}, 0.05) == std::vector<bool>{false, true, false, false});
  CHECK(reports::holm_significant({0.001, 0.01, 0.02, 0.03}, 0.05) == std::vector<bool>{true, true, true, true});
  CHECK(reports::holm_significant({}, 0.05).empty());
}

namespace {

// Simulated time: Poisson arrivals at `rate` per second for `seconds` into c FIFO servers with
// exponential service times of mean `service_ms`. Each response is recorded in the second it
// completes, as the engine records it.
test::SyntheticRun queue_run(std::uint64_t seed, double rate, int servers, double service_ms, int seconds) {
  std::mt19937_64 random(seed);
  std::exponential_distribution<double> gap(rate), service(1.0 / (service_ms / 1e3));
  std::priority_queue<double, std::vector<double>, std::greater<>> free_at;
  for (int c = 0; c < servers; ++c) free_at.push(0.0);
  test::SyntheticEndpoint endpoint{"verify", {}, 0};
  for (double arrival = gap(random); arrival < seconds; arrival += gap(random)) {
    const double start = std::max(arrival, free_at.top());
    free_at.pop();
    const double done = start + service(random);
    free_at.push(done);
    endpoint.latencies_ms.push_back((done - arrival) * 1e3);
    endpoint.completion_seconds.push_back(static_cast<std::size_t>(done));
  }
  return test::synthetic_run({endpoint}, seconds + 1);
}

// The gate's verdict on a candidate against a baseline, both written and read back as folders.
bool gate_passes(const test::SyntheticRun& candidate, const test::SyntheticRun& baseline, const test::TemporaryDirectory& root, bool say_why = false) {
  const auto now = root.path() / "candidate", before = root.path() / "baseline";
  std::filesystem::remove_all(now);
  std::filesystem::remove_all(before);
  candidate.write(now.string());
  baseline.write(before.string());
  const auto run = reports::read_results(now), base = reports::read_results(before);
  const auto gate = reports::evaluate_gate(run, {}, &base, {});
  if (say_why && !gate.passed()) {
    for (const auto& check : gate.baseline) {
      if (!check.passed) UNSCOPED_INFO(check.message);
    }
  }
  return gate.passed();
}

}  // namespace

TEST_CASE("the gate on simulated M/M/4 runs: identical systems pass, a 20% slower service fails") {
  // 400 requests per second into 4 servers of 5 ms (utilisation 0.5), 20 s a run: about 8,000
  // responses, 16 blocks of p99 replicates a run.
  test::TemporaryDirectory root("baseline-noise");
  constexpr int kPairs = 100;
  int identical_passed = 0, shifted_failed = 0;
  for (int pair = 0; pair < kPairs; ++pair) {
    const auto seed = static_cast<std::uint64_t>(1000 + 2 * pair);
    const auto baseline = queue_run(seed, 400, 4, 5.0, 20);
    identical_passed += gate_passes(queue_run(seed + 1, 400, 4, 5.0, 20), baseline, root, true) ? 1 : 0;
    shifted_failed += gate_passes(queue_run(seed + 1, 400, 4, 6.0, 20), baseline, root) ? 0 : 1;
  }
  INFO(identical_passed << " of " << kPairs << " identical pairs passed; " << shifted_failed << " of " << kPairs << " shifted pairs failed");
  CHECK(identical_passed >= 99);
  CHECK(shifted_failed >= 95);
}

TEST_CASE("a whole-run change beyond the tolerance that noise explains passes, with '~'") {
  // Two runs of one system, 4 s each: p99.9 rests on a handful of responses and moves far more
  // than 10% between them, but with no replicate to tell it from noise it is not a regression.
  test::TemporaryDirectory root("baseline-noise-short");
  const auto baseline = queue_run(5, 400, 4, 5.0, 4), candidate = queue_run(6, 400, 4, 5.0, 4);
  candidate.write((root.path() / "candidate").string());
  baseline.write((root.path() / "baseline").string());
  const auto run = reports::read_results(root.path() / "candidate"), base = reports::read_results(root.path() / "baseline");
  const auto checks = reports::compare_with_baseline(run, base, {});
  const auto p999 = std::find_if(checks.begin(), checks.end(), [](const reports::CheckResult& check) { return check.name == "p999"; });
  REQUIRE(p999 != checks.end());
  CHECK(p999->passed);
  CHECK_THAT(p999->significance, Catch::StartsWith("~"));
  const auto rendered = reports::render_gate(reports::evaluate_gate(run, {}, &base, {}));
  CHECK_THAT(rendered, Catch::Contains("against baseline") && Catch::Contains("~"));
}

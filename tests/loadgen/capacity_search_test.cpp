// The capacity search in simulated time: fake targets answer each trial at once, from queueing
// formulas with seeded noise or from a hand-made latency curve, so every test is deterministic
// and nothing sleeps. Then the trial runner's conversions and the models' predictions, which
// need no network either.
#include "uptake/loadgen/capacity_search.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>

#include "uptake/base/input_error.hpp"
#include "uptake/base/random.hpp"
#include "uptake/loadgen/capacity_trial.hpp"
#include "uptake/sim/queueing.hpp"

using namespace uptake;
using loadgen::CapacityOutcome;
using loadgen::CapacityPhase;
using loadgen::CapacitySearchOptions;
using loadgen::StepResult;
using loadgen::StepVerdict;

namespace {

sim::Threshold threshold(const std::string& text) {
  std::string problem;
  auto parsed = sim::parse_threshold(text, problem);
  REQUIRE(parsed);
  return *parsed;
}

// A trial's counts for `rate` over `duration`: every arrival planned, sent and answered.
StepResult answered_step(double rate, Seconds duration) {
  StepResult step;
  step.offered_rps = rate;
  step.window = step.elapsed = duration;
  step.total.name = "total";
  step.total.planned = step.total.sent = step.total.completed = step.total.ok = static_cast<std::uint64_t>(std::llround(rate * duration.count()));
  step.total.planned_in_window = step.total.completed_in_window = step.total.planned;
  return step;
}

void record_seconds(StepResult& step, double seconds, std::int64_t count = 1) {
  step.total.response_time.record(static_cast<std::int64_t>(seconds * 1e9), count);
}

// An M/M/c target: each trial draws one response time per arrival from the M/M/c steady state
// (a wait with probability C(A, c), exponential at rate c mu - lambda; plus an exponential
// service), from a seeded stream, so the noise of a finite sample is there but repeatable. At and
// past saturation the queue grows through the trial: waits rise with time (as the backlog, and
// at least as a random walk's sqrt(2 lambda t) customers would), and the answers completed
// within the trial are only what the servers could do.
class QueueingTarget {
 public:
  QueueingTarget(double service_per_second, int servers, std::uint64_t seed)
      : service_per_second_(service_per_second), servers_(servers), random_(seed) {}

  double generator_limit_rps = 0;  // above this (when > 0) the generator falls behind

  StepResult operator()(double rate, Seconds duration) {
    auto step = answered_step(rate, duration);
    if (generator_limit_rps > 0 && rate > generator_limit_rps) {
      step.generator_trusted = false;
      step.generator_problem = "schedule lag p99 40 ms exceeds the bound of 10 ms";
    }
    const double saturation = servers_ * service_per_second_;
    const auto n = step.total.planned;
    if (rate < saturation) {
      const sim::MultiServerQueue queue(rate, service_per_second_, servers_);
      const double waits = queue.probability_of_waiting(), drain = saturation - rate;
      for (std::uint64_t i = 0; i < n; ++i) {
        const double wait = random_.uniform() < waits ? random_.exponential() / drain : 0.0;
        record_seconds(step, wait + random_.exponential() / service_per_second_);
      }
    } else {
      const double backlog_per_second = rate / saturation - 1;
      double wait = 0;
      for (std::uint64_t i = 0; i < n; ++i) {
        const double arrival = static_cast<double>(i) / rate;
        wait = std::max(backlog_per_second * arrival, std::sqrt(2 * rate * arrival) / saturation);
        record_seconds(step, wait + random_.exponential() / service_per_second_);
      }
      step.total.completed_in_window = std::min(n, static_cast<std::uint64_t>(saturation * duration.count()));
    }
    return step;
  }

 private:
  double service_per_second_;
  int servers_;
  Random random_;
};

// A target whose every response takes the same time, a function of the offered rate and the
// trial's duration: exact verdicts, for the rule's corner cases.
struct CurveTarget {
  std::function<double(double rate, Seconds duration, int call)> seconds_at;
  int calls = 0;
  StepResult operator()(double rate, Seconds duration) {
    auto step = answered_step(rate, duration);
    record_seconds(step, seconds_at(rate, duration, calls++), static_cast<std::int64_t>(step.total.planned));
    return step;
  }
};

CapacitySearchOptions p99_search(const std::string& slo) {
  CapacitySearchOptions options;
  options.slo = {threshold(slo)};
  options.start_rps = 100;
  options.step_duration = Seconds{10};
  options.confirmation_duration = Seconds{20};
  return options;
}

double relative_error(double actual, double expected) { return std::abs(actual - expected) / expected; }

}  // namespace

TEST_CASE("an M/M/c target: the capacity found is Erlang C's boundary within 2%", "[capacity_search]") {
  // 4 servers of 2 ms; p99 < 15 ms holds up to about 1,645/s (of 2,000/s at saturation).
  const double truth = sim::largest_arrival_within(500, 4, {0.99, Seconds{0.015}});
  REQUIRE(truth > 1600);
  REQUIRE(truth < 1700);
  QueueingTarget target(500, 4, 20240611);
  auto options = p99_search("p99<15ms");
  std::vector<std::string> lines;
  options.on_step = [&](const loadgen::CapacityStep& step) { lines.push_back(loadgen::format_step_line(step)); };
  const auto result = loadgen::search_capacity(options, std::ref(target));

  CHECK(result.outcome == CapacityOutcome::found);
  CHECK(relative_error(result.capacity_rps, truth) <= 0.02);
  CHECK(result.slo == std::vector<std::string>{"p99<15ms", "achieved_ratio>=0.98"});
  REQUIRE(result.lowest_fail_rps > result.highest_pass_rps);
  CHECK((result.lowest_fail_rps - result.highest_pass_rps) / result.highest_pass_rps <= 0.02);

  // Growth doubles from the start until a step fails; bisection stays inside its bracket; the
  // last trial is a passing confirmation at the answer.
  REQUIRE(result.steps.size() >= 8);
  CHECK(result.steps[0].offered_rps == 100);
  CHECK(result.steps[1].offered_rps == 200);
  CHECK(result.steps[0].phase == CapacityPhase::grow);
  CHECK(result.steps.front().verdict == StepVerdict::pass);
  CHECK(result.steps.back().phase == CapacityPhase::confirm);
  CHECK(result.steps.back().verdict == StepVerdict::pass);
  CHECK(result.steps.back().offered_rps == result.capacity_rps);
  double grown_to = 0, first_fail = 0;
  for (const auto& step : result.steps) {
    if (step.phase == CapacityPhase::grow && step.verdict == StepVerdict::pass) grown_to = step.offered_rps;
    if (step.phase == CapacityPhase::grow && step.verdict == StepVerdict::fail) first_fail = step.offered_rps;
  }
  CHECK(first_fail == 2 * grown_to);
  for (const auto& step : result.steps) {
    if (step.phase == CapacityPhase::bisect) CHECK((step.offered_rps > grown_to && step.offered_rps < first_fail));
    // A failed trial never decides a step alone.
    if (step.verdict == StepVerdict::fail) CHECK(step.trial >= 2);
  }
  CHECK(result.trials == static_cast<int>(result.steps.size()));
  CHECK(lines.size() == result.steps.size());
  CHECK_THAT(lines.front(), Catch::Contains("PASS"));
  CHECK_THAT(lines.front(), Catch::Contains("100.0/s"));
}

TEST_CASE("the search is deterministic: same seed, same steps", "[capacity_search]") {
  auto search = [](std::uint64_t seed) {
    QueueingTarget target(500, 4, seed);
    return loadgen::search_capacity(p99_search("p99<15ms"), std::ref(target));
  };
  const auto first = search(7), second = search(7), other = search(8);
  REQUIRE(first.steps.size() == second.steps.size());
  for (std::size_t i = 0; i < first.steps.size(); ++i) {
    CHECK(first.steps[i].offered_rps == second.steps[i].offered_rps);
    CHECK(first.steps[i].p99 == second.steps[i].p99);
    CHECK(first.steps[i].trial == second.steps[i].trial);
    CHECK(first.steps[i].verdict == second.steps[i].verdict);
  }
  CHECK(first.capacity_rps == second.capacity_rps);
  // The noise is real: another seed measures other latencies.
  CHECK(first.steps[0].p99 != other.steps[0].p99);
}

TEST_CASE("a hard knee: the capacity is found within 2% below it", "[capacity_search]") {
  const double knee = 1234;
  CurveTarget target{[knee](double rate, Seconds, int) { return rate <= knee ? 0.002 : 0.5; }};
  const auto result = loadgen::search_capacity(p99_search("p99<15ms"), std::ref(target));
  CHECK(result.outcome == CapacityOutcome::found);
  CHECK(result.capacity_rps <= knee);
  CHECK(result.capacity_rps >= knee * 0.98);
  // Clear passes are decided by one trial; fails by two that agree.
  for (const auto& step : result.steps) {
    if (step.verdict == StepVerdict::pass && step.trial_passed && step.trial == 1) CHECK(step.worst_margin > 0.10);
    if (step.verdict == StepVerdict::fail) CHECK(step.trial == 2);
  }
}

TEST_CASE("the models get the service times of the lowest rate tried, also when the search went down", "[capacity_search]") {
  // The first step (1000/s) is far past a knee at 300/s, so the search descends; each trial's
  // service time grows with its rate, as queueing inside a target makes it.
  std::vector<double> rates;
  auto target = [&rates](double rate, Seconds duration) {
    auto step = answered_step(rate, duration);
    record_seconds(step, rate <= 300 ? 0.002 : 0.5, static_cast<std::int64_t>(step.total.planned));
    step.service_times = {{rate * 1e-6, 1.0}};
    rates.push_back(rate);
    return step;
  };
  auto options = p99_search("p99<15ms");
  options.start_rps = 1000;
  const auto result = loadgen::search_capacity(options, target);
  REQUIRE(result.outcome == CapacityOutcome::found);
  const double lowest = *std::min_element(rates.begin(), rates.end());
  CHECK(lowest < 1000);
  CHECK(result.low_load_rps == lowest);
  REQUIRE(result.low_load_service_times.size() == 1);
  CHECK(result.low_load_service_times[0].seconds == Approx(lowest * 1e-6));
}

TEST_CASE("one bad trial near the boundary does not decide its step", "[capacity_search]") {
  // p99 grows in proportion to the rate and reaches 15 ms at 1,050/s. The first trial between
  // 945/s and 1,050/s suffers a stall that makes it 50% slower (the search comes to 1,000/s).
  const double boundary = 1050;
  auto make_target = [boundary] {
    return CurveTarget{[boundary, stalled = false](double rate, Seconds, int) mutable {
      double seconds = 0.015 * rate / boundary;
      if (!stalled && rate >= 0.9 * boundary && rate < boundary) {
        stalled = true;
        seconds *= 1.5;
      }
      return seconds;
    }};
  };

  auto target = make_target();
  const auto result = loadgen::search_capacity(p99_search("p99<15ms"), std::ref(target));
  CHECK(result.outcome == CapacityOutcome::found);
  CHECK(relative_error(result.capacity_rps, boundary) <= 0.02);
  std::vector<loadgen::CapacityStep> at_1000;
  for (const auto& step : result.steps) {
    if (step.offered_rps == 1000) at_1000.push_back(step);
  }
  REQUIRE(at_1000.size() == 3);
  CHECK_FALSE(at_1000[0].trial_passed);
  CHECK(at_1000[0].verdict == StepVerdict::pending);
  CHECK(at_1000[1].trial_passed);
  CHECK(at_1000[1].verdict == StepVerdict::pending);  // a close pass: one each so far
  CHECK(at_1000[2].trial_passed);
  CHECK(at_1000[2].verdict == StepVerdict::pass);
  CHECK(at_1000[2].trial == 3);

  // Without repeats the stall decides, and the answer lands below it.
  auto once = p99_search("p99<15ms");
  once.trials_per_close_step = 1;
  auto naive_target = make_target();
  const auto naive = loadgen::search_capacity(once, std::ref(naive_target));
  CHECK(naive.capacity_rps < 1000);
  CHECK(relative_error(naive.capacity_rps, boundary) > 0.02);
}

TEST_CASE("a generator that falls behind stops the search: no verdict on the target", "[capacity_search]") {
  QueueingTarget target(500, 4, 99);
  target.generator_limit_rps = 1000;
  const auto result = loadgen::search_capacity(p99_search("p99<15ms"), std::ref(target));
  CHECK(result.outcome == CapacityOutcome::generator_limit);
  CHECK(result.capacity_rps == 800);
  CHECK(result.lowest_fail_rps == 0);  // 1,600/s was never judged a failure
  REQUIRE_FALSE(result.steps.empty());
  // Two trials at 1,600/s, both behind: a majority of three.
  REQUIRE(result.steps.size() >= 2);
  const auto& first = result.steps[result.steps.size() - 2];
  const auto& last = result.steps.back();
  CHECK(first.offered_rps == 1600);
  CHECK_FALSE(first.generator_trusted);
  CHECK(first.verdict == StepVerdict::pending);
  CHECK(last.offered_rps == 1600);
  CHECK(last.trial == 2);
  CHECK(last.verdict == StepVerdict::generator_limit);
  CHECK_THAT(loadgen::format_step_line(last), Catch::Contains("GENERATOR LIMIT  (schedule lag p99 40 ms"));
  for (const auto& step : result.steps) CHECK(step.verdict != StepVerdict::fail);
  CHECK_THAT(result.explanation, Catch::Contains("generator"));
  CHECK_THAT(result.explanation, Catch::Contains("carried 800.0/s"));
}

TEST_CASE("one trial whose generator fell behind is run again, not judged", "[capacity_search]") {
  // The generator stalls on the fourth trial only (800/s): the search goes on as if it had not.
  QueueingTarget queue(500, 4, 20240611);
  int calls = 0;
  auto stalling_once = [&](double rate, Seconds duration) {
    auto step = queue(rate, duration);
    if (++calls == 4) {
      step.generator_trusted = false;
      step.generator_problem = "schedule lag p99 25 ms exceeds the bound of 10 ms";
    }
    return step;
  };
  const auto result = loadgen::search_capacity(p99_search("p99<15ms"), stalling_once);
  CHECK(result.outcome == CapacityOutcome::found);
  const double truth = sim::largest_arrival_within(500, 4, {0.99, Seconds{0.015}});
  CHECK(relative_error(result.capacity_rps, truth) <= 0.02);
  REQUIRE(result.steps.size() >= 5);
  CHECK(result.steps[3].offered_rps == 800);
  CHECK_FALSE(result.steps[3].generator_trusted);
  CHECK(result.steps[3].verdict == StepVerdict::pending);
  CHECK(result.steps[4].offered_rps == 800);
  CHECK(result.steps[4].trial == 2);
  CHECK(result.steps[4].verdict == StepVerdict::pass);
}

TEST_CASE("a failed confirmation steps down 2% and confirms again", "[capacity_search]") {
  // Short steps hold to 1,050/s, the longer confirmation runs only to 1,020/s (a target that
  // tires over a longer run).
  CurveTarget target{[](double rate, Seconds duration, int) { return 0.015 * rate / (duration.count() > 10 ? 1020.0 : 1050.0); }};
  const auto result = loadgen::search_capacity(p99_search("p99<15ms"), std::ref(target));
  CHECK(result.outcome == CapacityOutcome::found);
  std::vector<loadgen::CapacityStep> confirmations;
  for (const auto& step : result.steps) {
    if (step.phase == CapacityPhase::confirm && step.verdict != StepVerdict::pending) confirmations.push_back(step);
  }
  REQUIRE(confirmations.size() == 2);
  CHECK(confirmations[0].verdict == StepVerdict::fail);
  CHECK(confirmations[1].verdict == StepVerdict::pass);
  CHECK(confirmations[1].offered_rps == Approx(confirmations[0].offered_rps * 0.98));
  CHECK(result.capacity_rps == confirmations[1].offered_rps);
  CHECK(result.capacity_rps <= 1020);
  CHECK(result.lowest_fail_rps == confirmations[0].offered_rps);

  SECTION("bounded: when every attempt fails, no capacity is confirmed") {
    CurveTarget tired{[](double rate, Seconds duration, int) { return 0.015 * rate / (duration.count() > 10 ? 500.0 : 1050.0); }};
    const auto failed = loadgen::search_capacity(p99_search("p99<15ms"), std::ref(tired));
    CHECK(failed.outcome == CapacityOutcome::confirmation_failed);
    CHECK(failed.capacity_rps == 0);
    int confirm_steps = 0;
    for (const auto& step : failed.steps) confirm_steps += step.phase == CapacityPhase::confirm && step.verdict == StepVerdict::fail;
    CHECK(confirm_steps == 3);
  }
}

TEST_CASE("the search is bounded in trials and in time", "[capacity_search]") {
  // p99 < 20 ms holds to about 1,755/s, and 1,600/s passes it clearly, in one trial.
  QueueingTarget target(500, 4, 5);
  auto options = p99_search("p99<20ms");
  options.max_trials = 5;
  const auto by_trials = loadgen::search_capacity(options, std::ref(target));
  CHECK(by_trials.outcome == CapacityOutcome::budget_exhausted);
  CHECK(by_trials.trials == 5);
  CHECK(by_trials.capacity_rps == 1600);  // 100 .. 1,600 passed; 3,200 was never tried

  options.max_trials = 100;
  options.max_elapsed = Seconds{35};  // four steps of 10 s: the fourth starts at 30 s
  QueueingTarget timed(500, 4, 5);
  const auto by_time = loadgen::search_capacity(options, std::ref(timed));
  CHECK(by_time.outcome == CapacityOutcome::budget_exhausted);
  CHECK(by_time.trials == 4);
  CHECK(by_time.elapsed.count() == 40);
}

TEST_CASE("ceiling, no passing rate, and errors as the failing threshold", "[capacity_search]") {
  CurveTarget fast{[](double, Seconds, int) { return 0.001; }};
  auto options = p99_search("p99<15ms");
  options.max_rps = 1000;
  const auto ceiling = loadgen::search_capacity(options, std::ref(fast));
  CHECK(ceiling.outcome == CapacityOutcome::ceiling);
  CHECK(ceiling.capacity_rps == 1000);
  CHECK(ceiling.steps.back().offered_rps == 1000);

  CurveTarget slow{[](double, Seconds, int) { return 0.050; }};
  const auto none = loadgen::search_capacity(p99_search("p99<15ms"), std::ref(slow));
  CHECK(none.outcome == CapacityOutcome::no_passing_rate);
  CHECK(none.capacity_rps == 0);
  CHECK(none.steps.back().phase == CapacityPhase::descend);
  CHECK_THAT(none.explanation, Catch::Contains("p99<15ms was 50"));

  // Errors begin at 700/s: 1% of answers fail, against a bound of 0.1%.
  auto erring = [](double rate, Seconds duration) {
    auto step = answered_step(rate, duration);
    record_seconds(step, 0.001, static_cast<std::int64_t>(step.total.planned));
    if (rate > 700) {
      step.total.errors = step.total.completed / 100;
      step.total.ok -= step.total.errors;
    }
    return step;
  };
  auto error_options = p99_search("p99<15ms");
  error_options.slo.push_back(threshold("error_rate<0.1%"));
  const auto by_errors = loadgen::search_capacity(error_options, erring);
  CHECK(by_errors.outcome == CapacityOutcome::found);
  CHECK(by_errors.capacity_rps <= 700);
  CHECK(by_errors.capacity_rps >= 700 * 0.98);
}

TEST_CASE("achieved ratio: a target that cannot keep up fails however fast it answers", "[capacity_search]") {
  // Answers in 1 ms, but past 600/s it completes within the trial only what 600/s allows.
  auto saturated = [](double rate, Seconds duration) {
    auto step = answered_step(rate, duration);
    record_seconds(step, 0.001, static_cast<std::int64_t>(step.total.planned));
    if (rate > 600) step.total.completed_in_window = static_cast<std::uint64_t>(600 * duration.count());
    return step;
  };
  const auto result = loadgen::search_capacity(p99_search("p99<15ms"), saturated);
  CHECK(result.outcome == CapacityOutcome::found);
  CHECK(result.capacity_rps <= 600 / 0.98);
  CHECK(result.capacity_rps >= 600 * 0.98);
}

TEST_CASE("threshold margins measure the room a bound allows", "[capacity_search]") {
  CHECK(loadgen::threshold_margin(threshold("p99<15ms"), 0.012) == Approx(0.2));
  CHECK(loadgen::threshold_margin(threshold("p99<15ms"), 0.018) == Approx(-0.2));
  // A ratio's room is its shortfall from 1: 0.997 against 0.98 is clear, not 1.7% away.
  CHECK(loadgen::threshold_margin(threshold("achieved_ratio>=0.98"), 0.997) == Approx(0.85));
  CHECK(loadgen::threshold_margin(threshold("achieved_ratio>=0.98"), 0.96) == Approx(-1.0));
  CHECK(loadgen::threshold_margin(threshold("error_rate<0.1%"), 0.0) == Approx(1.0));
  CHECK(loadgen::threshold_margin(threshold("error_rate<=0"), 0.0) == 1.0);
  CHECK(loadgen::threshold_margin(threshold("error_rate<=0"), 0.01) == -1.0);
}

TEST_CASE("SLO checks: throughput thresholds and unknown endpoints are refused", "[capacity_search]") {
  CHECK_THROWS_AS(loadgen::check_capacity_slo({threshold("rps>=500")}, {}, "--slo"), InputError);
  CHECK_THROWS_WITH(loadgen::check_capacity_slo({threshold("rps>=500")}, {}, "--slo"), Catch::Contains("throughput"));
  CHECK_THROWS_WITH(loadgen::check_capacity_slo({threshold("issue.p99<1s")}, {"verify"}, "slo[0]"), Catch::Contains("no endpoint 'issue'"));
  CHECK_NOTHROW(loadgen::check_capacity_slo({threshold("verify.p99<1s"), threshold("error_rate<1%")}, {"verify"}, "--slo"));
  auto options = p99_search("p99<15ms");
  options.growth_factor = 1;
  CHECK_THROWS_AS(loadgen::search_capacity(options, [](double rate, Seconds duration) { return answered_step(rate, duration); }), std::invalid_argument);
}

// ---- the trial runner's conversions and the models' view (capacity_trial.hpp), no network ----

TEST_CASE("a run of the engine as a trial: counts in the window, histograms, the generator's verdict", "[capacity_trial]") {
  loadgen::RunResult run;
  run.duration_seconds = 2.6;
  run.endpoints.resize(2);
  run.endpoints[0].name = "issue";
  run.endpoints[1].name = "verify";
  for (auto& endpoint : run.endpoints) {
    endpoint.planned = endpoint.sent = endpoint.completed = 250;
    endpoint.ok = 245;
    endpoint.errors = 5;
    endpoint.response_time.record(3'000'000, 250);
    endpoint.service_time.record(2'000'000, 250);
  }
  // Seconds 0 and 1 are the window of a 2.5 s schedule; second 2 (its last half and the drain)
  // is not.
  run.intervals = {{200, 200, 180, 0, {}}, {200, 200, 190, 0, {}}, {100, 100, 130, 0, {}}};
  run.endpoint_intervals = {{{100, 100, 90, 0, {}}, {100, 100, 95, 0, {}}, {50, 50, 65, 0, {}}},
                            {{100, 100, 90, 0, {}}, {100, 100, 95, 0, {}}, {50, 50, 65, 0, {}}}};
  loadgen::Verdict behind{true, "schedule lag p99 12 ms exceeds the bound of 10 ms"};
  const auto step = loadgen::step_result_of(run, 200, Seconds{2.5}, Seconds{3.7}, behind);

  CHECK(step.offered_rps == 200);
  CHECK(step.window.count() == 2);
  CHECK(step.elapsed.count() == 3.7);
  CHECK_FALSE(step.generator_trusted);
  CHECK(step.generator_problem == behind.reason);
  CHECK(step.total.planned == 500);
  CHECK(step.total.errors == 10);
  CHECK(step.total.error_rate() == Approx(0.02));
  CHECK(step.total.planned_in_window == 400);
  CHECK(step.total.completed_in_window == 370);
  CHECK(step.total.achieved_ratio() == Approx(370.0 / 400));
  CHECK(step.planned_rps() == 200);
  CHECK(step.achieved_rps() == 185);
  REQUIRE(step.endpoints.size() == 2);
  CHECK(step.endpoints[1].name == "verify");
  CHECK(step.endpoints[1].completed_in_window == 185);
  CHECK(step.total.latency_at(99).count() == Approx(0.003).epsilon(0.001));
  REQUIRE(step.service_times.size() == 1);
  CHECK(step.service_times[0].seconds == Approx(0.002).epsilon(0.001));
  CHECK(step.service_times[0].weight == 500);

  // An endpoint threshold reads its own series.
  CHECK(*loadgen::observed_value(threshold("verify.achieved_ratio>0.9"), step) == Approx(185.0 / 200));
  CHECK_FALSE(loadgen::observed_value(threshold("revoke.p99<1s"), step));
}

TEST_CASE("service-time buckets keep every recorded value and its count", "[capacity_trial]") {
  auto histogram = loadgen::make_latency_histogram();
  histogram.record(1'000'000, 3);
  histogram.record(4'000'000, 1);
  const auto buckets = loadgen::service_time_buckets(histogram);
  REQUIRE(buckets.size() == 2);
  CHECK(buckets[0].seconds == Approx(0.001).epsilon(0.001));
  CHECK(buckets[0].weight == 3);
  CHECK(buckets[1].seconds == Approx(0.004).epsilon(0.001));
  CHECK(buckets[1].weight == 1);
}

TEST_CASE("the models' capacity from measured service times: Erlang C and the simulation agree on M/M/c", "[capacity_trial]") {
  // An exponential 2 ms service time as a histogram: equally likely buckets at mid-quantiles.
  std::vector<sim::ServiceTimeBucket> exponential;
  for (int i = 0; i < 20'000; ++i) exponential.push_back({-std::log1p(-(i + 0.5) / 20'000) / 500, 1});
  const std::vector<sim::Threshold> slo{threshold("p50<100ms"), threshold("p99<15ms"), threshold("error_rate<1%")};
  const double truth = sim::largest_arrival_within(500, 4, {0.99, Seconds{0.015}});

  const auto prediction = loadgen::predict_capacity(exponential, 4, slo, 1600, 20240611);
  REQUIRE(prediction);
  CHECK(prediction->objective == "p99<15ms");  // the binding one
  CHECK(prediction->objective_percentile == 99);
  CHECK(prediction->servers == 4);
  CHECK_FALSE(prediction->servers_estimated);
  CHECK(prediction->mean_service_seconds == Approx(0.002).epsilon(0.01));
  CHECK(relative_error(prediction->erlang_capacity_rps, truth) < 0.01);
  CHECK(prediction->erlang_percentile_at_measured.count() ==
        Approx(sim::MultiServerQueue(1600, 1 / prediction->mean_service_seconds, 4).response_percentile(0.99).count()));
  REQUIRE(prediction->simulated_capacity_rps);
  CHECK(relative_error(*prediction->simulated_capacity_rps, truth) < 0.03);
  REQUIRE(prediction->simulated_percentile_at_measured);
  CHECK(relative_error(prediction->simulated_percentile_at_measured->count(), prediction->erlang_percentile_at_measured.count()) < 0.06);

  // With no server count, the fewest that carry the measured rate: three saturate at 1,500/s.
  const auto estimated = loadgen::predict_capacity(exponential, 0, slo, 1600);
  REQUIRE(estimated);
  CHECK(estimated->servers == 4);
  CHECK(estimated->servers_estimated);

  // A percentile the simulation does not report has Erlang C's answer only.
  const auto p95 = loadgen::predict_capacity(exponential, 4, {threshold("p95<10ms")}, 1600);
  REQUIRE(p95);
  CHECK(p95->erlang_capacity_rps > 0);
  CHECK_FALSE(p95->simulated_capacity_rps);

  CHECK_FALSE(loadgen::predict_capacity(exponential, 4, {threshold("error_rate<1%")}, 1600));
  CHECK_FALSE(loadgen::predict_capacity({}, 4, slo, 1600));
  CHECK_FALSE(loadgen::predict_capacity(exponential, 0, slo, 0));
}

TEST_CASE("the USL is fitted to the trials through Little's law, leaving out untrusted and overloaded ones", "[capacity_search]") {
  // Trials on a known curve: alpha 0.05, beta 0.002, gamma 400/s; each trial's mean response
  // time is N / X, so achieved_rps x mean gives back N.
  const uptake::sim::ScalabilityModel truth{0.05, 0.002, 400};
  std::vector<uptake::loadgen::CapacityStep> steps;
  for (const double load : {1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0}) {
    uptake::loadgen::CapacityStep step;
    step.achieved_rps = step.offered_rps = truth.throughput(load);
    step.mean = uptake::Seconds{load / step.achieved_rps};
    steps.push_back(step);
  }
  uptake::loadgen::CapacityStep overloaded = steps.back();  // carried half its offered rate: its queue grew through the trial
  overloaded.offered_rps = 2 * overloaded.achieved_rps;
  overloaded.mean = uptake::Seconds{5.0};
  steps.push_back(overloaded);
  uptake::loadgen::CapacityStep behind = steps.back();  // a trial whose generator fell behind: far off the curve
  behind.generator_trusted = false;
  behind.achieved_rps = 10;
  steps.push_back(behind);

  const auto fit = uptake::loadgen::fit_scalability_to_steps(steps);
  REQUIRE(fit);
  CHECK(fit->points == 8);
  CHECK(fit->model.contention == Approx(0.05).epsilon(1e-3));
  CHECK(fit->model.coherency == Approx(0.002).epsilon(1e-3));
  CHECK(fit->model.single_unit == Approx(400).epsilon(1e-3));
  const auto peak = fit->model.peak();
  REQUIRE(peak);
  CHECK(peak->load == Approx(std::sqrt(0.95 / 0.002)).epsilon(1e-3));

  // Two loads are too few to fit three parameters.
  CHECK_FALSE(uptake::loadgen::fit_scalability_to_steps({steps[0], steps[1], steps[1]}));
}

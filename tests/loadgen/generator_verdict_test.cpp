// When a run measured its generator rather than its target: schedule lag beyond the bound, or
// a sleeping pacer whose thread never slept.
#include "uptake/loadgen/results.hpp"
#include "uptake/loadgen/summary.hpp"

#include <catch2/catch.hpp>

using namespace uptake;

namespace {

loadgen::RunResult open_loop_run(std::int64_t lag_ns, double busiest_thread_fraction, loadgen::Pacing pacing) {
  loadgen::RunResult result;
  result.schedule_lag.record(lag_ns, 1000);
  result.busiest_thread_fraction = busiest_thread_fraction;
  result.pacing = pacing;
  return result;
}

}  // namespace

TEST_CASE("the generator verdict: lag beyond the bound, or a saturated sleeping pacer") {
  loadgen::RunContext context;
  context.lag_bound_seconds = 0.010;

  CHECK_FALSE(loadgen::judge_generator(open_loop_run(50'000, 0.40, loadgen::Pacing::sleep), context).generator_behind);

  const auto late = loadgen::judge_generator(open_loop_run(20'000'000, 0.40, loadgen::Pacing::sleep), context);
  CHECK(late.generator_behind);
  CHECK_THAT(late.reason, Catch::Contains("schedule lag p99 20.0"));

  // On time so far, but with no slack left: the next burst would be late.
  const auto saturated = loadgen::judge_generator(open_loop_run(50'000, 0.97, loadgen::Pacing::sleep), context);
  CHECK(saturated.generator_behind);
  CHECK_THAT(saturated.reason, Catch::Contains("saturated"));
  CHECK_THAT(saturated.reason, Catch::Contains("97%"));

  // A spinning pacer is busy by design, and a closed loop has no schedule to keep.
  CHECK_FALSE(loadgen::judge_generator(open_loop_run(50'000, 1.0, loadgen::Pacing::spin), context).generator_behind);
  auto closed = open_loop_run(50'000'000, 1.0, loadgen::Pacing::sleep);
  closed.closed_loop = true;
  CHECK_FALSE(loadgen::judge_generator(closed, context).generator_behind);

  // Both figures are in summary.json.
  const auto summary = loadgen::make_summary(open_loop_run(50'000, 0.97, loadgen::Pacing::sleep), context, saturated);
  CHECK(summary.generator.busiest_thread_fraction == 0.97);
  CHECK(summary.generator.pacing == loadgen::Pacing::sleep);
  CHECK_FALSE(summary.generator.trusted);
  const auto json = loadgen::to_json(summary).dump(2);
  CHECK_THAT(json, Catch::Contains("\"busiest_thread_fraction\": 0.97"));
  CHECK_THAT(json, Catch::Contains("\"pacing\": \"sleep\""));
}

// Merging shard results: exact sums, wall-clock alignment, refusals, and the key property that
// two shards of one seeded schedule merge into what one unsharded run of it planned.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

#include "reference_service.hpp"
#include "reports/synthetic_run.hpp"
#include "temporary_directory.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/engine.hpp"
#include "uptake/reports/gate.hpp"
#include "uptake/reports/forecast_report.hpp"
#include "uptake/reports/merge.hpp"
#include "uptake/reports/threshold_check.hpp"
#include "uptake/sim/forecast.hpp"
#include "uptake/sim/scenario_loader.hpp"

using namespace uptake;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kStart = 1'790'000'000'000'000'000LL;

test::SyntheticRun shard(std::uint32_t index, std::uint32_t count, std::vector<test::SyntheticEndpoint> endpoints, std::int64_t started_at_ns = kStart) {
  auto run = test::synthetic_run(endpoints, 3, started_at_ns);
  run.context.shard = {index, count};
  return run;
}

std::vector<fs::path> write_all(const test::TemporaryDirectory& root, const std::vector<test::SyntheticRun>& runs) {
  std::vector<fs::path> folders;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    folders.push_back(root.path() / ("shard-" + std::to_string(i)));
    runs[i].write(folders.back().string());
  }
  return folders;
}

}  // namespace

TEST_CASE("counters and histograms add exactly; seconds align by wall clock") {
  test::TemporaryDirectory root("merge");
  // Shard 1 started one second after shard 0: its second 0 is the merged second 1.
  const auto folders = write_all(root, {shard(0, 2, {{"issue", test::one_to(30), 1}, {"verify", test::one_to(30), 0}}),
                                        shard(1, 2, {{"issue", test::one_to(60, 2), 0}, {"verify", test::one_to(15), 2}}, kStart + 1'000'000'000)});
  const auto out = root.path() / "merged";
  const auto merged = reports::merge_folders(folders, out);
  CHECK(merged.warnings.empty());
  const auto results = reports::read_results(out);

  const auto total = results.counters_of("total");
  CHECK(total.planned == 30 + 1 + 30 + 60 + 15 + 2);
  CHECK(total.completed == 135);
  CHECK(total.errors == 3);
  CHECK(results.summary.errors_of(loadgen::ErrorClass::timeout) == 3);
  CHECK(results.response_time_of("total").total_count() == 135);
  CHECK(results.service_time_of("verify").total_count() == 45);
  CHECK(results.schedule_lag.total_count() == 138);
  // Bucket for bucket: the merged histogram is the sum of the shards'.
  auto expected = reports::RunResults::empty_histogram();
  for (const auto& folder : folders) expected.add(reports::read_results(folder).response_time_of("issue"));
  CHECK(results.response_time_of("issue").has_same_counts(expected));
  // Percentiles are recomputed from the merged histogram, not averaged.
  CHECK(results.summary.endpoint("issue")->latency_ms.p99.value() ==
        Approx(static_cast<double>(expected.value_at_percentile(99)) / 1e6));

  CHECK(results.summary.started_at_ns == kStart);
  CHECK(results.summary.duration_s == Approx(4.0));
  CHECK(results.summary.shard == "merged");
  CHECK_FALSE(results.summary.shard_index);
  CHECK(results.summary.shard_count == 2);
  REQUIRE(results.summary.merged_from.value().size() == 2);
  CHECK(results.summary.merged_from->at(1).shard == "1/2");
  CHECK(results.summary.shards_missing.value().empty());
  CHECK(results.summary.rate.achieved_rps == Approx(135 / 4.0));

  // Second 1 holds shard 0's second 1 and shard 1's second 0.
  std::uint64_t planned_at_1 = 0;
  for (const auto& row : results.timeseries) {
    if (row.endpoint == "total" && row.second == 1) planned_at_1 = row.planned;
  }
  CHECK(planned_at_1 == (10 + 10) + (20 + 5 + 1));  // shard 1's second 0 has one of verify's timeouts
  CHECK(results.response_time_by_second.at("total").size() == 4);
  CHECK(loadgen::decode_compressed(results.response_time_by_second.at("total").at(3)).total_count() == 20 + 5);
}

TEST_CASE("shards of different runs, or the same shard twice, are refused naming folder and field") {
  test::TemporaryDirectory root("merge-refused");
  const std::vector<test::SyntheticEndpoint> endpoints{{"issue", test::one_to(10), 0}};
  auto other_seed = shard(1, 2, endpoints);
  other_seed.context.seed = 8;
  auto other_scenario = shard(1, 2, endpoints);
  other_scenario.context.scenario = "other";
  // Shards of one schedule start together; one two hours later is part of another run (and
  // would stretch every series over the gap).
  const auto much_later = shard(1, 2, endpoints, kStart + 7200'000'000'000);
  const auto folders = write_all(root, {shard(0, 2, endpoints), other_seed, other_scenario, shard(1, 3, endpoints), shard(0, 2, endpoints), much_later});
  const auto out = (root.path() / "merged").string();
  auto refused = [&](std::size_t second, const std::vector<std::string>& parts) {
    try {
      reports::merge_folders({folders[0], folders[second]}, out);
      FAIL("merged");
    } catch (const InputError& error) {
      INFO(error.what());
      CHECK_THAT(error.what(), Catch::Contains((folders[second] / "summary.json").string()));
      for (const auto& part : parts) CHECK_THAT(error.what(), Catch::Contains(part));
    }
    CHECK_FALSE(fs::exists(out));
  };
  refused(1, {"field 'seed'", "is 8, but it is 7"});
  refused(2, {"field 'scenario'", "'other'"});
  refused(3, {"field 'shard_count'"});
  refused(4, {"field 'shard_index'", "the same shard twice"});
  refused(5, {"field 'started_at_ns'", "7200 s after", "within an hour"});
  CHECK_THROWS_WITH(reports::merge_folders({folders[0]}, folders[0]), Catch::Contains("is one of the shard folders"));

  // A merged folder is not a shard.
  reports::merge_folders({folders[0]}, out);
  CHECK_THROWS_WITH(reports::merge_folders({out}, root.path() / "again"), Catch::Contains("field 'shard_index'") && Catch::Contains("merged folder"));
}

TEST_CASE("shards of one replay merge keeping its block; shards of different replays are refused") {
  test::TemporaryDirectory root("merge-replay");
  const std::vector<test::SyntheticEndpoint> endpoints{{"issue", test::one_to(10), 0}};
  const auto replaying = [&](std::uint32_t index, std::optional<sim::ReplayContext> replay) {
    auto run = shard(index, 2, endpoints);
    run.context.replay = std::move(replay);
    return run;
  };
  auto other_scale = test::replay_of_a_day();
  other_scale.scale = 0.05;
  auto other_demand = test::replay_of_a_day();
  other_demand.modelled_peak_rps = 13;
  auto other_events = test::replay_of_a_day();
  other_events.events.clear();
  const auto folders = write_all(root, {replaying(0, test::replay_of_a_day()), replaying(1, test::replay_of_a_day()), replaying(1, other_scale),
                                        replaying(1, other_demand), replaying(1, other_events), replaying(1, std::nullopt)});

  const auto out = root.path() / "merged";
  reports::merge_folders({folders[0], folders[1]}, out);
  const auto merged = reports::read_results(out);
  REQUIRE(merged.summary.replay);
  CHECK(*merged.summary.replay == test::replay_of_a_day());

  for (const std::size_t second : {2, 3, 4, 5}) {
    INFO("shard folder " << second);
    const auto again = root.path() / ("merged-" + std::to_string(second));
    try {
      reports::merge_folders({folders[0], folders[second]}, again);
      FAIL("merged");
    } catch (const InputError& error) {
      INFO(error.what());
      CHECK_THAT(error.what(), Catch::Contains((folders[second] / "summary.json").string()));
      CHECK_THAT(error.what(), Catch::Contains("field 'replay'"));
      CHECK_THAT(error.what(), Catch::Contains("one replayed window"));
    }
    CHECK_FALSE(fs::exists(again));
  }
  // Ad hoc shards have no replay on either side, and merge as before.
  reports::merge_folders({folders[5]}, root.path() / "merged-ad-hoc");
  CHECK_FALSE(reports::read_results(root.path() / "merged-ad-hoc").summary.replay);
}

TEST_CASE("a merge keeps the replay's overrides, the first refused answer and the redirects followed") {
  test::TemporaryDirectory root("merge-flow-details");
  const std::vector<test::SyntheticEndpoint> endpoints{{"issue", test::one_to(10), 0}};
  const auto overridden = [&](std::uint32_t index, std::string overrides) {
    auto run = shard(index, 3, endpoints);
    run.context.replay = test::replay_of_a_day();
    run.context.replay_overridden_by = std::move(overrides);
    run.result.endpoints[0].redirects = 2 + index;
    return run;
  };
  auto refusing = overridden(2, "--scale 0.5");
  refusing.result.check_failure = loadgen::CheckFailure{"issue", "status in [201]", 200, "{}"};
  auto refusing_too = overridden(1, "--scale 0.5");
  refusing_too.result.check_failure = loadgen::CheckFailure{"issue", "json /credential exists", 201, "{\"other\":1}"};
  const auto folders = write_all(root, {overridden(0, "--scale 0.5"), refusing, refusing_too, overridden(1, "--scale 0.25")});

  const auto out = root.path() / "merged";
  reports::merge_folders({folders[0], folders[1], folders[2]}, out);
  const auto merged = reports::read_results(out);
  CHECK(merged.summary.replay_overridden_by == "--scale 0.5");
  // Of the shards' refused answers, the lowest shard's stands for the merge.
  REQUIRE(merged.summary.check_failure);
  CHECK(merged.summary.check_failure->check == "json /credential exists");
  CHECK(merged.summary.check_failure->status == 201);
  CHECK(merged.summary.endpoint("issue")->redirects == 2 + 4 + 3);

  // Shards run with different overrides are parts of different runs.
  try {
    reports::merge_folders({folders[0], folders[3]}, root.path() / "merged-apart");
    FAIL("merged");
  } catch (const InputError& error) {
    CHECK_THAT(error.what(), Catch::Contains("field 'replay_overridden_by'"));
  }
}

TEST_CASE("missing shards make the merge partial, and trust needs every shard") {
  test::TemporaryDirectory root("merge-missing");
  const std::vector<test::SyntheticEndpoint> endpoints{{"issue", test::one_to(10), 0}};
  auto behind = shard(2, 4, endpoints);
  behind.verdict = {true, "schedule lag p99 40 ms"};
  const auto folders = write_all(root, {shard(0, 4, endpoints), behind});
  const auto merged = reports::merge_folders(folders, root.path() / "merged");
  CHECK(merged.warnings.empty());
  const auto results = reports::read_results(root.path() / "merged");
  CHECK(results.summary.shards_missing == std::vector<std::uint32_t>{1, 3});
  const auto trust = reports::judge_trust(results);
  CHECK(trust.partial);
  CHECK_THAT(trust.reason, Catch::Contains("shard(s) 1, 3 of 4 are missing"));
  CHECK_THAT(reports::judge_trust(results, {.missing_shards = true}).reason, !Catch::Contains("are missing") && Catch::Contains("shard 2"));
  CHECK_FALSE(results.summary.generator.trusted);
  CHECK_THAT(results.summary.generator.reason, Catch::Contains("shard 2") && Catch::Contains("schedule lag p99 40 ms"));
  CHECK(reports::judge_trust(results).trusted == false);
}

TEST_CASE("a partial shard that started later merges into a folder that reads back") {
  // Shard 1 started 5 s after shard 0 and was stopped after 1 s of its 6 s schedule: its planned
  // rows still run to the end of its schedule, 5 + 6 s after the merged start.
  test::TemporaryDirectory root("merge-late-partial");
  const std::vector<test::SyntheticEndpoint> endpoints{{"issue", test::one_to(30), 0}};
  auto late = test::synthetic_run(endpoints, 6, kStart + 5'000'000'000LL);
  late.context.shard = {1, 2};
  late.result.duration_seconds = 1;
  late.result.interrupted = true;
  const auto folders = write_all(root, {shard(0, 2, endpoints), late});
  reports::merge_folders(folders, root.path() / "merged");
  const auto merged = reports::read_results(root.path() / "merged");
  CHECK(merged.summary.schedule_s == Approx(11));
  CHECK(merged.summary.interrupted);
}

namespace {

// One run of the smoke scenario's first two seconds against the reference service.
loadgen::RunResult run_smoke(sim::Shard shard, std::uint16_t port) {
  const auto scenario = sim::load_scenario("scenarios/smoke.yaml");
  const auto forecast = sim::make_forecast(scenario, scenario.growth.project_to_year, scenario.growth.project_to_year);
  auto window = sim::replay_window(scenario, *forecast.rate_model);
  window.to = window.from + 2;
  window.duration = Seconds{2};
  loadgen::EngineOptions options;
  std::string problem;
  options.target = *loadgen::parse_target("http://127.0.0.1:" + std::to_string(port), problem);
  options.warmup_requests = 2;
  // One engine thread, so the thread's part of the schedule is the whole shard.
  options.make_schedule = [&](sim::Shard) { return sim::ArrivalSchedule(*forecast.rate_model, window, scenario.seed, shard); };
  const auto plan = loadgen::plan_from_scenario(scenario, forecast.rate_model->endpoints(), options.target);
  auto result = loadgen::run_engine(options, plan);
  result.schedule_seconds = window.duration.count();
  return result;
}

}  // namespace

TEST_CASE("two shards merged equal one unsharded run of the same seed") {
  const test::ReferenceService server("merge-ecert");

  test::TemporaryDirectory root("merge-shards");
  std::vector<fs::path> shard_folders;
  loadgen::RunContext context;
  context.scenario = "smoke";
  context.seed = 1;
  context.lag_bound_seconds = 1.0;  // a shared test machine: trust is not what this test is about
  for (std::uint32_t index = 0; index < 2; ++index) {
    context.shard = {index, 2};
    const auto result = run_smoke(context.shard, server.port());
    shard_folders.push_back(root.path() / ("shard-" + std::to_string(index)));
    loadgen::write_results(shard_folders.back().string(), result, context, loadgen::judge_generator(result, context));
  }
  context.shard = {0, 1};
  const auto whole_result = run_smoke(context.shard, server.port());
  loadgen::write_results((root.path() / "whole").string(), whole_result, context, loadgen::judge_generator(whole_result, context));

  // The demand behind the schedule travels with the first shard into the merged folder.
  const auto forecast_json = reports::render_forecast_json(sim::make_forecast(sim::load_scenario("scenarios/smoke.yaml")));
  std::ofstream(shard_folders.front() / "forecast.json") << forecast_json;

  reports::merge_folders(shard_folders, root.path() / "merged");
  const auto merged = reports::read_results(root.path() / "merged");
  const auto whole = reports::read_results(root.path() / "whole");
  REQUIRE(whole.counters_of("total").planned > 50);
  std::ifstream copied(root.path() / "merged" / "forecast.json");
  CHECK(std::string(std::istreambuf_iterator<char>(copied), {}) == forecast_json);
  // Against the embedded service on loopback every request is answered, in the shards and in
  // the whole run alike, so their histograms must hold the same number of responses.
  REQUIRE(whole.counters_of("total").errors == 0);
  REQUIRE(merged.counters_of("total").errors == 0);
  // The schedule split exactly: no arrival lost or sent twice, per endpoint too.
  for (const std::string series : {"total", "issue", "verify"}) {
    INFO(series);
    CHECK(merged.counters_of(series).planned == whole.counters_of(series).planned);
    CHECK(merged.counters_of(series).completed == whole.counters_of(series).completed);
    CHECK(merged.response_time_of(series).total_count() == whole.response_time_of(series).total_count());
    CHECK(merged.service_time_of(series).total_count() == whole.service_time_of(series).total_count());
    // Every completed response is in the merged histograms, once.
    CHECK(merged.response_time_of(series).total_count() == static_cast<std::int64_t>(merged.counters_of(series).completed));
    CHECK(merged.service_time_of(series).total_count() == static_cast<std::int64_t>(merged.counters_of(series).completed));
  }
  CHECK(merged.counters_of("total").completed + merged.counters_of("total").errors == merged.counters_of("total").sent);
  std::uint64_t planned_rows = 0;
  for (const auto& row : merged.timeseries) planned_rows += row.endpoint == "total" ? row.planned : 0;
  CHECK(planned_rows == whole.counters_of("total").planned);
  // Thresholds are judged on the merged whole.
  const auto gate = reports::evaluate_gate(merged, reports::thresholds_for(merged, {"achieved_ratio>0.5"}), nullptr, {});
  CHECK(gate.thresholds.size() == 1);
  CHECK(gate.thresholds[0].passed);
}

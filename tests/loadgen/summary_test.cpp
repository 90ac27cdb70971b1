// summary.json's one writer and one reader: what the writer writes reads back to the same JSON,
// byte for byte, and a field of the wrong type is refused, naming it.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "reports/synthetic_run.hpp"
#include "temporary_directory.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/summary.hpp"

using namespace uptake;
using nlohmann::ordered_json;

namespace {

test::SyntheticRun two_endpoints() {
  auto run = test::synthetic_run({{"issue", test::one_to(200), 3}, {"verify.v2", test::one_to(100, 0.5), 0}});
  run.result.endpoints[1].tampered = 4;
  run.result.endpoints[1].revoked = 2;
  run.result.connections_opened = 12;
  run.result.busiest_thread_fraction = 0.25;
  return run;
}

// Written, read back from the text and written again: the same text.
void check_round_trip(const loadgen::Summary& summary) {
  const auto json = loadgen::to_json(summary);
  const auto text = json.dump(2);
  const auto again = loadgen::to_json(loadgen::summary_from_json(ordered_json::parse(text), "summary.json"));
  CHECK(again.dump(2) == text);
  CHECK(again == json);
}

std::vector<std::string> keys_of(const ordered_json& object) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.push_back(key);
  return keys;
}

// Refused with an InputError whose message holds each of `parts`.
void check_refused(const ordered_json& json, const std::vector<std::string>& parts) {
  try {
    loadgen::summary_from_json(json, "results/summary.json");
    FAIL("summary_from_json accepted it");
  } catch (const InputError& error) {
    INFO(error.what());
    CHECK_THAT(error.what(), Catch::StartsWith("results/summary.json: "));
    for (const auto& part : parts) CHECK_THAT(error.what(), Catch::Contains(part));
  }
}

}  // namespace

TEST_CASE("a run's summary reads back to the same JSON, in the writer's order") {
  const auto run = two_endpoints();
  const auto summary = loadgen::make_summary(run.result, run.context, run.verdict);
  check_round_trip(summary);

  const auto json = loadgen::to_json(summary);
  CHECK(keys_of(json) == std::vector<std::string>{"schema", "scenario", "scenario_file", "target", "mode", "seed", "shard", "shard_index", "shard_count",
                                                  "start_at", "started_at", "started_at_utc", "started_at_ns", "duration_s", "schedule_s", "interrupted",
                                                  "aborted", "requests", "rate", "latency_ms", "service_time_ms", "schedule_lag_ms", "error_rate", "errors",
                                                  "check_failure", "endpoints", "connections", "generator", "slo", "thresholds"});
  CHECK(json["shard"] == "0/1");
  CHECK(json["check_failure"].is_null());
  CHECK(json["errors"]["check_failed"] == 0);
  CHECK(json["errors"]["unsafe_value"] == 0);
  // A failed check's sample reads back as written.
  auto failed = run.result;
  failed.check_failure = loadgen::RunResult::CheckFailure{"issue", "json /credential exists", 201, R"({"state":"revoked"})"};
  const auto with_failure = loadgen::make_summary(failed, run.context, run.verdict);
  check_round_trip(with_failure);
  CHECK(loadgen::summary_from_json(loadgen::to_json(with_failure), "summary.json").check_failure == failed.check_failure);
  CHECK(json["aborted"].is_null());
  CHECK(json["endpoints"]["verify.v2"]["negative"] == ordered_json{{"tampered", 4}, {"revoked", 2}});
  CHECK(keys_of(json["latency_ms"]) == std::vector<std::string>{"count", "min", "mean", "p50", "p90", "p95", "p99", "p999", "max"});

  const auto back = loadgen::summary_from_json(json, "summary.json");
  REQUIRE(back.endpoints.size() == 2);
  CHECK(back.endpoint("verify.v2")->negative.tampered == 4);
  CHECK(back.endpoint("issue")->requests.errors == 3);
  CHECK(back.endpoint("sign") == nullptr);
  CHECK(back.errors_of(loadgen::ErrorClass::timeout) == 3);
  CHECK(back.requests.completed == 300);
  CHECK(back.latency_ms.count == 300);
  CHECK(back.shard_index == 0u);
  CHECK(back.slo == std::vector<std::string>{"p99<100ms", "error_rate<1%"});
}

TEST_CASE("a summary of a series that completed nothing has count alone, and no endpoints block without endpoints") {
  auto run = test::synthetic_run({{"issue", {}, 4}});
  const auto summary = loadgen::make_summary(run.result, run.context, run.verdict);
  CHECK(loadgen::to_json(summary)["latency_ms"] == ordered_json{{"count", 0}});
  check_round_trip(summary);

  run.result.endpoints.clear();
  run.result.endpoint_intervals.clear();
  const auto nothing_due = loadgen::make_summary(run.result, run.context, run.verdict);
  CHECK_FALSE(loadgen::to_json(nothing_due).contains("endpoints"));
  check_round_trip(nothing_due);
}

TEST_CASE("a merged summary with shards missing reads back to the same JSON") {
  auto run = two_endpoints();
  run.context.merged_from = {{"results/shard-0", {0, 4}}, {"results/shard-2", {2, 4}}};
  run.context.start_at = 1'790'000'000.5;
  const auto summary = loadgen::make_summary(run.result, run.context, run.verdict);
  CHECK(summary.shard == "merged");
  CHECK_FALSE(summary.shard_index);
  CHECK(summary.shard_count == 4);
  CHECK(summary.shards_missing == std::vector<std::uint32_t>{1, 3});
  check_round_trip(summary);

  const auto json = loadgen::to_json(summary);
  CHECK(json["shard_index"].is_null());
  CHECK(json["merged_from"][1] == ordered_json{{"folder", "results/shard-2"}, {"shard", "2/4"}});
  CHECK(json["shards_missing"] == ordered_json::array({1, 3}));
  const auto keys = keys_of(json);
  CHECK(std::vector<std::string>(keys.begin() + 6, keys.begin() + 12) ==
        std::vector<std::string>{"shard", "shard_index", "shard_count", "merged_from", "shards_missing", "start_at"});
}

TEST_CASE("an aborted run's summary reads back to the same JSON") {
  auto run = two_endpoints();
  run.result.aborted_threshold = "error_rate<1%";
  run.result.aborted_reason = "3 errors of 203 requests planned can no longer stay under 1%";
  run.result.aborted_at_seconds = 1.25;
  run.verdict = {true, "the generator fell behind its schedule"};
  const auto summary = loadgen::make_summary(run.result, run.context, run.verdict);
  REQUIRE(summary.aborted);
  CHECK(summary.aborted->at_s == 1.25);
  check_round_trip(summary);
  CHECK(loadgen::to_json(summary)["aborted"] ==
        ordered_json{{"threshold", "error_rate<1%"}, {"reason", run.result.aborted_reason}, {"at_s", 1.25}});
}

TEST_CASE("a judged capacity summary, with thresholds, trust and the capacity block, reads back to the same JSON") {
  const auto run = two_endpoints();
  auto summary = loadgen::make_summary(run.result, run.context, run.verdict);
  summary.thresholds = {{"issue.p99<100ms", "issue", "p99", "<", 0.1, 0.19805, "s", false, "endpoint 'issue': p99 response time was 198.050 ms"},
                        {"error_rate<1%", std::nullopt, "error_rate", "<", 0.01, std::nullopt, "fraction", false, "aborted", true}};
  summary.trust = loadgen::SummaryTrust{true, true, true, "the run was interrupted"};
  summary.capacity = ordered_json{{"outcome", "found"}, {"rps", 400.0}, {"lowest_fail_rps", nullptr}, {"steps", ordered_json::array({{{"step", 1}}})}};
  check_round_trip(summary);

  const auto json = loadgen::to_json(summary);
  const auto keys = keys_of(json);
  CHECK(std::vector<std::string>(keys.end() - 3, keys.end()) == std::vector<std::string>{"thresholds", "trust", "capacity"});
  CHECK(keys_of(json["thresholds"][0]) ==
        std::vector<std::string>{"expression", "endpoint", "metric", "comparison", "bound", "observed", "unit", "passed", "message"});
  CHECK(json["thresholds"][1]["endpoint"].is_null());
  CHECK(json["thresholds"][1]["observed"].is_null());
  CHECK(json["thresholds"][1]["aborted"] == true);
  CHECK(json["trust"] == ordered_json{{"trusted", true}, {"partial", true}, {"partial_allowed", true}, {"reason", "the run was interrupted"}});
  CHECK(json["capacity"] == *summary.capacity);
}

TEST_CASE("update_summary_file rewrites the folder's summary.json with the change, and keeps the rest") {
  const test::TemporaryDirectory folder("summary-update");
  const auto run = two_endpoints();
  run.write(folder.path().string());
  const auto before = loadgen::read_summary_file(folder.path() / loadgen::kSummaryFile);
  loadgen::update_summary_file(folder.path(), [](loadgen::Summary& summary) { summary.trust = loadgen::SummaryTrust{false, false, false, "unreachable"}; });
  const auto after = loadgen::read_summary_file(folder.path() / loadgen::kSummaryFile);
  REQUIRE(after.trust);
  CHECK(after.trust->reason == "unreachable");
  auto without_trust = loadgen::to_json(after);
  without_trust.erase("trust");
  CHECK(without_trust == loadgen::to_json(before));
}

TEST_CASE("a field of the wrong type is refused, naming the field") {
  const auto run = two_endpoints();
  auto summary = loadgen::make_summary(run.result, run.context, run.verdict);
  summary.thresholds = {{"p99<100ms", std::nullopt, "p99", "<", 0.1, 0.2, "s", false, "broke it"}};
  const auto json = loadgen::to_json(summary);

  auto wrong = json;
  wrong["endpoints"]["verify.v2"]["latency_ms"]["p99"] = "fast";
  check_refused(wrong, {"field 'endpoints.verify.v2.latency_ms.p99': is \"fast\"", "(expected a number)"});
  wrong = json;
  wrong["endpoints"]["issue"]["requests"]["sent"] = -4;
  check_refused(wrong, {"field 'endpoints.issue.requests.sent': is -4", "a whole number"});
  wrong = json;
  wrong["thresholds"][0]["observed"] = "0.2";
  check_refused(wrong, {"field 'thresholds[0].observed': is \"0.2\"", "a number, or null"});
  wrong = json;
  wrong["thresholds"][0].erase("passed");
  check_refused(wrong, {"field 'thresholds[0].passed': is missing"});
  wrong = json;
  wrong["shard_count"] = 5'000'000'000LL;
  check_refused(wrong, {"field 'shard_count': is 5000000000", "0 to 4294967295"});
  wrong = json;
  wrong["errors"]["timeout"] = 1.5;
  check_refused(wrong, {"field 'errors.timeout': is 1.5"});
  wrong = json;
  wrong["aborted"] = "no";
  check_refused(wrong, {"field 'aborted'", "an object, or null"});
  wrong = json;
  wrong["generator"]["pacing"] = "nap";
  check_refused(wrong, {"field 'generator.pacing': is \"nap\"", "\"sleep\" or \"spin\""});
  wrong = json;
  wrong["requests"].erase("completed");
  check_refused(wrong, {"field 'requests.completed': is missing"});
  wrong = json;
  wrong["schema"] = "uptake.summary/v0";
  check_refused(wrong, {"field 'schema'", "uptake.summary/v1"});
  check_refused(ordered_json::array({1, 2}), {"is not a JSON object"});
}

TEST_CASE("fields an older summary lacks read as their defaults") {
  const auto run = two_endpoints();
  auto json = loadgen::to_json(loadgen::make_summary(run.result, run.context, run.verdict));
  json["generator"].erase("pacing");
  json["generator"].erase("busiest_thread_fraction");
  json["requests"].erase("planned_is_lower_bound");
  json["endpoints"]["verify.v2"].erase("negative");
  json["latency_ms"].erase("p95");
  json.erase("started_at_utc");
  json.erase("connections");
  const auto summary = loadgen::summary_from_json(json, "summary.json");
  CHECK(summary.generator.pacing == loadgen::Pacing::sleep);
  CHECK(summary.generator.busiest_thread_fraction == 0);
  CHECK_FALSE(summary.requests.planned_is_lower_bound);
  CHECK(summary.endpoint("verify.v2")->negative.tampered == 0);
  CHECK_FALSE(summary.latency_ms.p95);
  CHECK(summary.latency_ms.p99);
  CHECK(summary.connections.opened == 0);
  CHECK_FALSE(summary.trust);
  CHECK_FALSE(summary.capacity);
}

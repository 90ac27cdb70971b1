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
                                                  "aborted", "replay", "requests", "rate", "latency_ms", "service_time_ms", "schedule_lag_ms", "error_rate", "errors",
                                                  "check_failure", "endpoints", "connections", "sessions", "generator", "slo", "thresholds"});
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
  CHECK(json["replay"].is_null());  // said, not left out: this run replayed no window
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

TEST_CASE("a scenario run's replay block reads back to the same JSON, and its figures check against each other") {
  auto run = two_endpoints();
  run.context.replay = test::replay_of_a_day();
  const auto summary = loadgen::make_summary(run.result, run.context, run.verdict);
  check_round_trip(summary);

  const auto json = loadgen::to_json(summary);
  const auto& replay = json["replay"];
  CHECK(keys_of(replay) == std::vector<std::string>{"window", "year", "from", "to", "from_local", "to_local", "time_zone", "clock_changes", "window_s",
                                                    "duration_s", "compression", "scale", "combined_factor", "modelled_mean_rps", "modelled_peak_rps",
                                                    "replay_mean_rps", "replay_peak_rps", "events"});
  CHECK(replay["window"] == "day");
  CHECK(replay["year"].is_null());
  CHECK(replay["from"] == "2027-03-30T15:00:00Z");
  CHECK(replay["to"] == "2027-03-31T15:00:00Z");
  CHECK(replay["from_local"] == "2027-03-31T00:00:00+09:00");
  CHECK(replay["to_local"] == "2027-04-01T00:00:00+09:00");
  CHECK(replay["window_s"] == 86400.0);
  CHECK(replay["compression"].get<double>() == Approx(7200));
  CHECK(replay["combined_factor"].get<double>() == Approx(144));
  // run rate = real-world rate x compression x scale, from the file alone.
  CHECK(replay["replay_mean_rps"].get<double>() == Approx(5.05 * 7200 * 0.02));
  CHECK(replay["replay_peak_rps"].get<double>() == Approx(12.59 * 144));
  CHECK(replay["events"] == ordered_json::array({{{"name", "deadline-day"}, {"from", "2027-03-31T00:00:00Z"}, {"to", "2027-03-31T09:00:00Z"}, {"multiplier", 3.0}}}));

  const auto back = loadgen::summary_from_json(json, "summary.json");
  REQUIRE(back.replay);
  CHECK(*back.replay == test::replay_of_a_day());
}

TEST_CASE("a peak hour's replay names its year; a clock change inside the window is kept with its offset") {
  auto run = two_endpoints();
  auto& replay = run.context.replay.emplace();
  replay.window = sim::ReplayWindowKind::peak_hour;
  replay.year = 2023;
  // Berlin's local day 2023-03-26: 23 hours, the clock goes from +01:00 to +02:00 at 01:00 UTC.
  replay.from = 1'679'785'200;  // 2023-03-25T23:00:00Z
  replay.to = replay.from + 23 * 3600;
  replay.time_zone = "Europe/Berlin";
  replay.utc_offset_seconds = 3600;
  replay.clock_changes = {{1'679'792'400, 7200}};
  replay.duration = Seconds{23};
  replay.scale = 1;
  replay.modelled_mean_rps = replay.modelled_peak_rps = 50;
  const auto summary = loadgen::make_summary(run.result, run.context, run.verdict);
  check_round_trip(summary);
  const auto json = loadgen::to_json(summary);
  CHECK(json["replay"]["year"] == 2023);
  CHECK(json["replay"]["from_local"] == "2023-03-26T00:00:00+01:00");
  CHECK(json["replay"]["to_local"] == "2023-03-27T00:00:00+02:00");
  CHECK(json["replay"]["clock_changes"] == ordered_json::array({{{"at", "2023-03-26T01:00:00Z"}, {"utc_offset", "+02:00"}}}));
  CHECK(loadgen::summary_from_json(json, "summary.json").replay == summary.replay);
}

TEST_CASE("a malformed replay block is refused, naming the field") {
  auto run = two_endpoints();
  run.context.replay = test::replay_of_a_day();
  const auto json = loadgen::to_json(loadgen::make_summary(run.result, run.context, run.verdict));
  const auto refused = [&](const char* key, ordered_json value, const std::vector<std::string>& parts) {
    auto wrong = json;
    if (value.is_discarded()) wrong["replay"].erase(key);
    else wrong["replay"][key] = std::move(value);
    INFO("replay." << key);
    check_refused(wrong, parts);
  };
  auto wrong = json;
  wrong["replay"] = 5;
  check_refused(wrong, {"field 'replay': is 5", "an object, or null"});
  refused("window", "week", {"field 'replay.window': is \"week\"", "\"peak_hour\", \"day\" or \"interval\""});
  refused("year", 2027, {"field 'replay.year'", "only a peak_hour window has a year"});
  refused("year", "2027", {"field 'replay.year': is \"2027\"", "a whole number"});
  refused("scale", ordered_json(ordered_json::value_t::discarded), {"field 'replay.scale': is missing"});
  refused("from", "2027-03-30 15:00", {"field 'replay.from'", "an RFC 3339 time in UTC"});
  refused("from", "2027-03-31T00:00:00+09:00", {"field 'replay.from'", "an RFC 3339 time in UTC"});
  refused("to", "2027-03-30T14:00:00Z", {"field 'replay.to': is not after replay.from"});
  refused("from_local", "2027-03-31T01:00:00+09:00", {"field 'replay.from_local': is not the instant of replay.from"});
  refused("to_local", "2027-04-01T00:00", {"field 'replay.to_local'", "an RFC 3339 local time with its offset"});
  refused("window_s", 3600, {"field 'replay.window_s': is 3600, but replay.to - replay.from gives 86400"});
  refused("duration_s", 0, {"field 'replay.duration_s': is 0", "seconds above 0"});
  refused("compression", 7000, {"field 'replay.compression': is 7000, but window_s / duration_s gives 7200"});
  refused("scale", -0.02, {"field 'replay.scale': is -0.02", "a share above 0"});
  refused("combined_factor", 7200, {"field 'replay.combined_factor': is 7200", "compression x scale"});
  refused("modelled_mean_rps", "5", {"field 'replay.modelled_mean_rps': is \"5\"", "a number"});
  refused("modelled_peak_rps", 1, {"field 'replay.modelled_peak_rps': is 1", "at least modelled_mean_rps"});
  refused("replay_mean_rps", 5.05, {"field 'replay.replay_mean_rps': is 5.05", "modelled_mean_rps x combined_factor"});
  refused("replay_peak_rps", 1813, {"field 'replay.replay_peak_rps': is 1813", "modelled_peak_rps x combined_factor"});
  refused("time_zone", "", {"field 'replay.time_zone': is empty"});
  refused("clock_changes", ordered_json::array({{{"at", "2027-03-29T00:00:00Z"}, {"utc_offset", "+10:00"}}}), {"field 'replay.clock_changes[0].at'", "inside the window"});
  refused("clock_changes", "none", {"field 'replay.clock_changes': is \"none\"", "an array"});
  auto event = json["replay"]["events"][0];
  event["from"] = "2027-03-29T00:00:00Z";
  refused("events", ordered_json::array({event}), {"field 'replay.events[0].from'", "within the window"});
  event = json["replay"]["events"][0];
  event["to"] = "2027-03-30T23:00:00Z";
  refused("events", ordered_json::array({event}), {"field 'replay.events[0].to'", "after the event's from"});
  event = json["replay"]["events"][0];
  event["multiplier"] = 0;
  refused("events", ordered_json::array({event}), {"field 'replay.events[0].multiplier': is 0", "a factor above 0"});
  event = json["replay"]["events"][0];
  event.erase("name");
  refused("events", ordered_json::array({event}), {"field 'replay.events[0].name': is missing"});
  auto peak_hour = json;
  peak_hour["replay"]["window"] = "peak_hour";
  check_refused(peak_hour, {"field 'replay.year': is null", "the year whose peak hour is replayed"});
}

TEST_CASE("a summary written before replays were recorded reads as replaying nothing") {
  auto run = two_endpoints();
  run.context.replay = test::replay_of_a_day();
  auto json = loadgen::to_json(loadgen::make_summary(run.result, run.context, run.verdict));
  json.erase("replay");
  CHECK_FALSE(loadgen::summary_from_json(json, "summary.json").replay);
}

// A scenario replayed against the reference service: issuances are captured and their
// credentials verify as valid (counted by the service's own metrics).
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "ecert/http_client.hpp"
#include "loadgen/negative_paths_scenario.hpp"
#include "reference_service.hpp"
#include "temporary_directory.hpp"
#include "uptake/loadgen/engine.hpp"
#include "uptake/loadgen/results.hpp"
#include "uptake/sim/forecast.hpp"
#include "uptake/sim/scenario_loader.hpp"

using namespace uptake;

TEST_CASE("captured credentials verify against the reference service") {
  const test::ReferenceService server("scenario-run-test");

  const auto scenario = sim::load_scenario("scenarios/smoke.yaml");
  const auto forecast = sim::make_forecast(scenario, scenario.growth.project_to_year, scenario.growth.project_to_year);
  const auto window = sim::replay_window(scenario, *forecast.rate_model);
  loadgen::EngineOptions options;
  std::string problem;
  options.target = *loadgen::parse_target(server.url(), problem);
  options.warmup_requests = 5;
  options.make_schedule = [&](sim::Shard shard) { return sim::ArrivalSchedule(*forecast.rate_model, window, scenario.seed, shard); };
  const auto plan = loadgen::plan_from_scenario(scenario, forecast.rate_model->endpoints(), options.target);
  const auto result = loadgen::run_engine(options, plan);

  REQUIRE(result.endpoints.size() == 2);
  const auto& issue = result.endpoints[0];
  const auto& verify = result.endpoints[1];
  CHECK(issue.name == "issue");
  CHECK(verify.name == "verify");
  CHECK(issue.errors == 0);
  CHECK(verify.errors == 0);
  REQUIRE(verify.completed > 100);

  // Per second, the endpoints' series add up to the whole run's.
  REQUIRE(result.endpoint_intervals.size() == 2);
  for (std::size_t second = 0; second < result.intervals.size(); ++second) {
    std::uint64_t planned = 0, completed = 0;
    for (const auto& series : result.endpoint_intervals) {
      if (second < series.size()) planned += series[second].planned, completed += series[second].completed;
    }
    CHECK(planned == result.intervals[second].planned);
    CHECK(completed == result.intervals[second].completed);
  }
  const auto csv = loadgen::timeseries_csv(result);
  CHECK_THAT(csv, Catch::StartsWith("second,endpoint,planned,sent,completed,errors,p50_ms,p90_ms,p99_ms,max_ms\n0,total,"));
  CHECK_THAT(csv, Catch::Contains("\n0,issue,"));
  CHECK_THAT(csv, Catch::Contains("\n0,verify,"));

  test::Connection client(server.port());
  const auto metrics = client.request("GET", "/metrics");
  REQUIRE(metrics);
  // Every verification the run made (and the warm-up made none) was of a valid credential.
  CHECK_THAT(metrics->body, Catch::Contains("uptake_ecert_verifications_total{reason=\"valid\"} " + std::to_string(verify.completed) + "\n"));
  CHECK_THAT(metrics->body, Catch::Contains("uptake_ecert_verifications_total{reason=\"bad_signature\"} 0\n"));
  CHECK_THAT(metrics->body, Catch::Contains("uptake_ecert_verifications_total{reason=\"malformed\"} 0\n"));
}

TEST_CASE("negative paths: the service refuses exactly the tampered and revoked credentials sent") {
  test::TemporaryDirectory data("negative-run-test");
  const test::ReferenceService server("negative-run-test-store");

  const auto scenario = sim::load_scenario(test::write_negative_paths_scenario(data.path() / "scenario"));
  const auto forecast = sim::make_forecast(scenario, scenario.growth.project_to_year, scenario.growth.project_to_year);
  const auto window = sim::replay_window(scenario, *forecast.rate_model);
  loadgen::EngineOptions options;
  std::string problem;
  options.target = *loadgen::parse_target(server.url(), problem);
  options.warmup_requests = 6;
  options.make_schedule = [&](sim::Shard shard) { return sim::ArrivalSchedule(*forecast.rate_model, window, scenario.seed, shard); };
  const auto plan = loadgen::plan_from_scenario(scenario, forecast.rate_model->endpoints(), options.target);
  const auto result = loadgen::run_engine(options, plan);

  REQUIRE(result.endpoints.size() == 2);
  const auto& issue = result.endpoints[0];
  const auto& verify = result.endpoints[1];
  CHECK(issue.errors == 0);
  CHECK(verify.errors == 0);
  REQUIRE(verify.completed == verify.sent);
  CHECK(verify.tampered > 0);
  CHECK(verify.revoked > 0);
  CHECK(issue.tampered + issue.revoked == 0);

  test::Connection client(server.port());
  const auto metrics = client.request("GET", "/metrics");
  REQUIRE(metrics);
  auto counter = [&](const std::string& reason) { return "uptake_ecert_verifications_total{reason=\"" + reason + "\"} "; };
  CHECK_THAT(metrics->body, Catch::Contains(counter("bad_signature") + std::to_string(verify.tampered) + "\n"));
  CHECK_THAT(metrics->body, Catch::Contains(counter("revoked") + std::to_string(verify.revoked) + "\n"));
  CHECK_THAT(metrics->body, Catch::Contains(counter("valid") + std::to_string(verify.completed - verify.tampered - verify.revoked) + "\n"));

  // summary.json says how many went down each negative path.
  loadgen::RunContext context;
  const auto folder = data.path() / "results";
  loadgen::write_results(folder.string(), result, context, loadgen::judge_generator(result, context));
  std::ifstream summary_file(folder / "summary.json");
  const auto summary = nlohmann::json::parse(summary_file);
  const auto& negative = summary.at("endpoints").at(verify.name).at("negative");
  CHECK(negative.at("tampered") == verify.tampered);
  CHECK(negative.at("revoked") == verify.revoked);
  CHECK(summary.at("endpoints").at(issue.name).at("negative").at("tampered") == 0);
}

TEST_CASE("HTTPS targets: TLS handshakes, then keep-alive requests") {
  const test::ReferenceService server("https-run-test", {}, /*tls=*/true);

  loadgen::EngineOptions options;
  std::string problem;
  options.target = *loadgen::parse_target(server.url("/healthz"), problem);
  options.connections = 4;
  options.make_schedule = [](sim::Shard shard) { return sim::ArrivalSchedule::constant(100, Seconds{2}, 3, shard); };
  const auto result = loadgen::run_engine(options, loadgen::plan_ad_hoc(options.target, "GET", "", {}));
  const auto total = result.total();
  CHECK(total.completed == total.planned);
  CHECK(total.ok == total.completed);
  CHECK(total.errors == 0);
  CHECK(result.connections_opened <= 4);  // connections are kept alive, not renegotiated

  // A scenario with captures over HTTPS: the warm-up speaks TLS too, so the first
  // verifications already have credentials.
  const auto scenario = sim::load_scenario("scenarios/smoke.yaml");
  const auto forecast = sim::make_forecast(scenario, scenario.growth.project_to_year, scenario.growth.project_to_year);
  const auto window = sim::replay_window(scenario, *forecast.rate_model);
  loadgen::EngineOptions flow_options;
  flow_options.target = *loadgen::parse_target(server.url(), problem);
  flow_options.warmup_requests = 5;
  flow_options.make_schedule = [&](sim::Shard shard) {
    return sim::ArrivalSchedule(*forecast.rate_model, sim::ReplayWindow{window.from, window.to, Seconds{2}, 1.0}, scenario.seed, shard);
  };
  const auto flows = loadgen::run_engine(flow_options, loadgen::plan_from_scenario(scenario, forecast.rate_model->endpoints(), flow_options.target));
  CHECK(flows.errors[static_cast<std::size_t>(loadgen::ErrorClass::missing_capture)] == 0);
  CHECK(flows.total().errors == 0);
  CHECK(flows.endpoints[1].completed > 20);
}

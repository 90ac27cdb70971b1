// uptake capacity end to end: a short search against the embedded reference service writes a
// results folder whose summary.json has the capacity block (curve, models, plan) and whose
// reports show it; bad options are refused with exit 2 before any request is sent.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "cli/cli_helpers.hpp"
#include "reference_service.hpp"

namespace fs = std::filesystem;
using cli_test::check_refused;
using cli_test::read;

TEST_CASE("capacity searches the embedded service and records the curve, the models and the plan") {
  const auto scratch = cli_test::scratch_folder("cli-capacity-scratch");
  const auto folder = scratch / "capacity";
  // A generous SLO and a low ceiling: 40/s passes, 80/s passes, the next step would pass the
  // ceiling, so the search ends at it (exit 0) after a few seconds of light load. (p90 and an
  // error rate of 5% need few responses to be shown with confidence: p99 would need 459.)
  const auto outcome = cli_test::uptake("capacity scenarios/smoke.yaml --slo 'p90<2s' --slo 'error_rate<5%' --start 40 --max 80 --step-seconds 1 --looks 2 --out " +
                                        folder.string());
  INFO(outcome.output);
  REQUIRE(outcome.exit_code == 0);
  CHECK_THAT(outcome.output, Catch::Contains("step  1.1 grow"));
  CHECK_THAT(outcome.output, Catch::Contains("Capacity: at least 80.00/s (a lower bound: ceiling)"));
  CHECK_THAT(outcome.output, Catch::Contains("each step a test at 95% confidence"));
  CHECK_THAT(outcome.output, Catch::Contains("Erlang C (M/M/c)"));
  CHECK_THAT(outcome.output, Catch::Contains("demand exceeds capacity: not within the projection (to 2024)"));

  const auto summary = nlohmann::json::parse(read(folder / "summary.json"));
  const auto& capacity = summary.at("capacity");
  CHECK(capacity.at("outcome") == "ceiling");
  CHECK(capacity.at("rps").get<double>() == Approx(80));
  CHECK(capacity.at("slo") == nlohmann::json({"p90<2s", "error_rate<5%", "achieved_ratio>=0.98"}));
  CHECK(capacity.at("lower_rps").get<double>() == Approx(80));
  CHECK(capacity.at("upper_rps").is_null());
  CHECK(capacity.at("confidence").get<double>() == Approx(0.9));
  CHECK(capacity.at("lower_bound_only") == true);
  REQUIRE(capacity.at("steps").size() >= 2);
  for (const auto& step : capacity.at("steps")) {
    CHECK(step.at("offered_rps").get<double>() > 0);
    CHECK(step.at("completed").get<double>() > 0);
    CHECK(step.contains("p99_ms"));
    CHECK(step.at("warm_up_s").get<double>() >= 1);
    CHECK(step.at("measured_s").get<double>() >= 1);
  }
  CHECK(capacity.at("prediction").at("mean_service_ms").get<double>() > 0);
  // smoke.yaml: a flat 50/s, so every planned year's design peak is 50/s against 80/s.
  const auto& year = capacity.at("plan").at("years").at(0);
  CHECK(year.at("year") == 2024);
  CHECK(year.at("design_peak_rps").get<double>() == Approx(50).epsilon(0.01));
  CHECK(year.at("headroom").get<double>() == Approx(80.0 / 50 - 1).epsilon(0.01));
  CHECK(year.at("instances_needed") == 1);
  CHECK(capacity.at("plan").at("exhaustion").at("kind") == "not_within_projection");
  // With the uncertainty: the capacity is a lower bound, drawn as itself, and the peak stays
  // below it in every draw.
  const auto& uncertainty = capacity.at("plan").at("uncertainty");
  CHECK(uncertainty.at("risk").get<double>() == Approx(0.1));
  REQUIRE(uncertainty.at("exhaustion_quantiles").size() == 3);
  CHECK(uncertainty.at("exhaustion_quantiles").at(1).at("probability").get<double>() == Approx(0.5));
  CHECK(uncertainty.at("exhaustion_quantiles").at(1).at("kind") == "not_within_projection");
  CHECK(year.at("exceedance_probability").get<double>() == 0);
  CHECK(year.at("instances_at_risk") == 1);
  CHECK_THAT(outcome.output, Catch::Contains("demand outgrows it: P10 not by the end of 2024"));
  // The run files are the last trial's, and the report shows the search.
  CHECK(summary.at("requests").at("completed").get<double>() > 0);
  // Both reports lead with the capacity; the run they show below it is only the last trial.
  const auto html = read(folder / "report.html");
  REQUIRE(html.find("id=\"capacity-summary\"") != std::string::npos);
  CHECK(html.find("id=\"capacity-summary\"") < html.find("id=\"verdict\""));
  CHECK_THAT(html, Catch::Contains("The last trial: "));
  CHECK_THAT(html, Catch::Contains("(bound)"));  // the SLO's bound on the capacity chart
  CHECK_THAT(read(folder / "report.md"), Catch::Contains("**The last trial**"));
  // The server count was estimated, so the models check nothing, and the terminal says so.
  CHECK_THAT(outcome.output, Catch::Contains("agrees with it by construction"));
  // The reference service says its own time, so the low-load service time is split.
  CHECK_THAT(outcome.output, Catch::Contains("the target's own time (its Server-Timing) was"));
  CHECK(capacity.at("prediction").at("mean_server_ms").get<double>() > 0);
  CHECK(capacity.at("prediction").at("mean_server_ms").get<double>() < capacity.at("prediction").at("mean_service_ms").get<double>());
  CHECK_THAT(read(folder / "report.md"), Catch::Contains("### uptake capacity of smoke: at least 80.00/s (a lower bound) within"));
  // The folder reads back as any results folder does.
  CHECK(cli_test::uptake("gate " + folder.string()).exit_code == 0);
}

TEST_CASE("capacity --url searches one endpoint with the given method, headers and body") {
  const uptake::test::ReferenceService service("cli-capacity-ad-hoc");
  const auto folder = cli_test::scratch_folder("cli-capacity-ad-hoc") / "issue";
  // Issuances at 40/s then 80/s, the ceiling: every request must be a 201, or error_rate fails.
  const auto outcome = cli_test::uptake("capacity --url " + service.url("/v1/certificates") +
                                        " --method POST --header 'Content-Type: application/json' --body '{\"holder\":\"900101-1234567\",\"type\":\"vaccination\"}'"
                                        " --slo 'p90<2s' --slo 'error_rate<5%' --start 40 --max 80 --step-seconds 1 --looks 2 --lag-bound 1000 --out " +
                                        folder.string());
  INFO(outcome.output);
  REQUIRE(outcome.exit_code == 0);
  const auto summary = nlohmann::json::parse(read(folder / "summary.json"));
  const auto& capacity = summary.at("capacity");
  CHECK(capacity.at("outcome") == "ceiling");
  CHECK(capacity.at("rps").get<double>() == Approx(80));
  CHECK(capacity.at("plan").is_null());  // no scenario, no forecast to plan against
  for (const auto& step : capacity.at("steps")) CHECK(step.at("errors") == 0);
  CHECK(summary.at("requests").at("ok") == summary.at("requests").at("completed"));
  CHECK(summary.at("scenario") == "ad hoc");
}

TEST_CASE("capacity refuses bad options with exit 2 before sending anything") {
  check_refused("capacity --url http://127.0.0.1:9/", "field '--slo': is missing");
  // The plan's options too, before the search rather than after it (a plan needs a scenario's forecast).
  check_refused("capacity scenarios/smoke.yaml --target http://127.0.0.1:9/ --instances 0", "field '--instances': 0 is below 1");
  check_refused("capacity scenarios/smoke.yaml --target http://127.0.0.1:9/ --utilisation 1.5", "field '--utilisation': 1.5 is out of range");
  check_refused("capacity scenarios/smoke.yaml --target http://127.0.0.1:9/ --risk 100%", "field '--risk': 100% is out of range");
  check_refused("capacity scenarios/smoke.yaml --target http://127.0.0.1:9/ --risk often", "field '--risk': 'often' is not a percentage");
  check_refused("capacity --url http://127.0.0.1:9/ --slo 'p99<5ms' --out /dev/null/x", "field '--out'");
  check_refused("capacity --url http://127.0.0.1:9/ --slo 'rps>=100'", "--slo");
  check_refused("capacity --url http://127.0.0.1:9/ --slo 'p99<<5ms'", "--slo");
  check_refused("capacity --url http://127.0.0.1:9/ --slo 'p99<5ms' --start 500 --max 100", "field '--max': 100 is below --start 500");
  check_refused("capacity --url http://127.0.0.1:9/ --slo 'p99<5ms' --step-seconds 0.5", "field '--step-seconds': is below 1 s");
  check_refused("capacity --url http://127.0.0.1:9/ --slo 'p99<5ms' --looks 0", "field '--looks'");
  check_refused("capacity --url http://127.0.0.1:9/ --slo 'p99<5ms' --confidence 1", "field '--confidence'");
  check_refused("capacity --url http://127.0.0.1:9/ --slo 'p99<5ms' --budget soon", "field '--budget': 'soon' is not a duration");
  check_refused("capacity --url http://127.0.0.1:9/ --slo 'p99<5ms' --precision 2", "--precision");
  check_refused("capacity --url http://127.0.0.1:9/ --slo 'issue.p99<5ms'", "issue");
  check_refused("capacity scenarios/smoke.yaml --url http://127.0.0.1:9/", "field '--url': is given together with a scenario");
  check_refused("capacity", "field 'SCENARIO': is missing");
}

TEST_CASE("capacity exits 3 when the target answers nothing: no measurement, not a slow target") {
  // Port 9 on loopback: nothing listens there on a test machine, so every connection is refused.
  const auto scratch = cli_test::scratch_folder("cli-capacity-unreachable");
  const auto outcome = cli_test::uptake("capacity --url http://127.0.0.1:9/ --slo 'p99<50ms' --start 2 --max 2 --step-seconds 1 --budget 5s --out " +
                                        (scratch / "capacity").string());
  INFO(outcome.output);
  CHECK(outcome.exit_code == 3);
  CHECK_THAT(outcome.output, Catch::Contains("unreachable or down"));
}

TEST_CASE("capacity stops after one trial when every request fails on errors that load does not cause") {
  const uptake::test::ReferenceService service("cli-capacity-404");
  const auto folder = cli_test::scratch_folder("cli-capacity-404") / "capacity";
  // No such route: every answer is a 404, at 40/s as at 1/s.
  const auto outcome = cli_test::uptake("capacity --url " + service.url("/v1/no-such-route") + " --slo 'p90<2s' --start 40 --step-seconds 1 --budget 10s --lag-bound 1000 --out " +
                                        folder.string());
  INFO(outcome.output);
  CHECK(outcome.exit_code == 1);
  CHECK_THAT(outcome.output, Catch::Contains("step  1.1 grow"));
  CHECK_THAT(outcome.output, Catch::Contains("FAIL, at any load"));
  CHECK_THAT(outcome.output, Catch::Contains("errors that load does not cause"));
  CHECK_THAT(outcome.output, Catch::Contains("http_4xx"));
  CHECK_THAT(outcome.output, Catch::Contains("HTTP 404 on"));
  CHECK_THAT(outcome.output, Catch::Contains("Capacity: none: the target fails at any load"));
  CHECK(outcome.output.find("step  2.1") == std::string::npos);
  const auto summary = nlohmann::json::parse(read(folder / "summary.json"));
  CHECK(summary.at("capacity").at("outcome") == "load_independent");
  CHECK(summary.at("capacity").at("steps").size() == 1);
  CHECK(summary.at("capacity").at("failure_classes").at("http_4xx").get<double>() > 0);
}

// uptake capacity: the highest steady open-loop rate at which the target meets its SLO, the
// queueing models' view of it, and (with a scenario) the plan against the forecast's demand.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "command.hpp"
#include "target_setup.hpp"
#include "uptake/workflow/embedded_service.hpp"
#include "uptake/workflow/judge.hpp"
#include "uptake/workflow/run.hpp"
#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/capacity_search.hpp"
#include "uptake/loadgen/capacity_trial.hpp"
#include "uptake/loadgen/results.hpp"
#include "uptake/reports/capacity_summary.hpp"
#include "uptake/reports/forecast_report.hpp"
#include "uptake/reports/report_files.hpp"
#include "uptake/reports/results_dir.hpp"
#include "uptake/sim/forecast.hpp"
#include "uptake/sim/planning.hpp"
#include "uptake/sim/scenario_loader.hpp"

namespace uptake::cli {
namespace {

double positive(const po::variables_map& values, const char* name, const char* expected) {
  const double value = values[name].as<double>();
  if (!(value > 0 && std::isfinite(value))) throw InputError({}, fmt::format("--{}", name), fmt::format("{} is out of range", value), expected);
  return value;
}

// The SLO every step must meet: --slo, else the scenario's (whose throughput thresholds are left
// out, saying so: the search chooses the offered rate itself).
std::vector<sim::Threshold> slo_of(const po::variables_map& values, const sim::Scenario* scenario, const std::vector<std::string>& endpoints) {
  std::vector<sim::Threshold> slo;
  if (values.count("slo")) {
    for (const auto& text : values["slo"].as<std::vector<std::string>>()) slo.push_back(sim::parse_threshold_or_throw(text, {}, "--slo"));
    loadgen::check_capacity_slo(slo, endpoints, "--slo");
    return slo;
  }
  if (!scenario) throw InputError({}, "--slo", "is missing", "the SLO each step must meet, such as --slo 'p99<50ms' --slo 'error_rate<0.1%'");
  for (std::size_t i = 0; i < scenario->slo.size(); ++i) {
    auto threshold = sim::parse_threshold_or_throw(scenario->slo[i], {scenario->file, 0, 0}, fmt::format("slo[{}]", i));
    if (threshold.metric == sim::ThresholdMetric::throughput) {
      fmt::print("uptake capacity: the scenario's '{}' is left out of the search's SLO: the search chooses the offered rate itself\n", threshold.text);
      continue;
    }
    slo.push_back(std::move(threshold));
  }
  if (slo.empty()) throw InputError({scenario->file, 0, 0}, "slo", "has no latency or error threshold to search against", "slo: ['p99<300ms'], or --slo");
  loadgen::check_capacity_slo(slo, endpoints, "slo");
  return slo;
}

loadgen::CapacitySearchOptions search_options_of(const po::variables_map& values) {
  loadgen::CapacitySearchOptions search;
  search.start_rps = positive(values, "start", "a rate above 0 to begin the search at, in requests per second");
  search.max_rps = positive(values, "max", "the highest rate the search may offer, in requests per second");
  if (search.max_rps < search.start_rps) throw InputError({}, "--max", fmt::format("{} is below --start {}", search.max_rps, search.start_rps), "a ceiling at or above the starting rate");
  search.min_rps = std::min(1.0, search.start_rps);
  search.precision = positive(values, "precision", "a fraction such as 0.02 (2%)");
  if (search.precision >= 1) throw InputError({}, "--precision", fmt::format("{} is not below 1", search.precision), "a fraction such as 0.02 (2%)");
  search.step_duration = Seconds{positive(values, "step-seconds", "seconds per look, at least 1")};
  if (search.step_duration.count() < 1) {
    throw InputError({}, "--step-seconds", "is below 1 s", "whole seconds or more: the engine counts completions per second");
  }
  search.max_looks = values["looks"].as<int>();
  if (search.max_looks < 1 || search.max_looks > 10) {
    throw InputError({}, "--looks", fmt::format("{} is out of range", search.max_looks), "1 to 10 looks per step (each after the second twice as long)");
  }
  search.confidence = values["confidence"].as<double>();
  if (!(search.confidence >= 0.5 && search.confidence < 1)) {
    throw InputError({}, "--confidence", fmt::format("{} is out of range", search.confidence), "a fraction from 0.5 to below 1, such as 0.9");
  }
  const auto budget = values["budget"].as<std::string>();
  const auto parsed = parse_duration(budget);
  if (!parsed || !(parsed->count() >= 1)) throw InputError({}, "--budget", fmt::format("'{}' is not a duration of a second or more", budget), "a duration such as 15m, 900s or 1h");
  search.max_elapsed = *parsed;
  return search;
}

// The years the plan covers: every projected year of the driving series (after its last year
// of history), or the last projected year alone when history reaches it.
std::pair<int, int> planned_years(const sim::Scenario& scenario) {
  const int last = scenario.growth.project_to_year;
  const int first = std::min(scenario.driving_series().last_year() + 1, last);
  return {first, last};
}

int capacity(const po::variables_map& values) {
  loadgen::CapacityTrialOptions trial;
  auto& engine = trial.engine;
  trial.lag_bound_seconds = engine_options_of(values, engine);
  engine.stop = StopOnSignal::stop_flag();
  auto search = search_options_of(values);
  const int servers = values["servers"].as<int>();
  if (servers < 0) throw InputError({}, "--servers", fmt::format("{} is negative", servers), "the target's servers (0: estimate them)");
  // The plan's options are checked before any load: a bad one must not cost a whole search.
  const int deployed_instances = values["instances"].as<int>();
  const double utilisation = values["utilisation"].as<double>();
  if (deployed_instances < 1) throw InputError({}, "--instances", fmt::format("{} is below 1", deployed_instances), "the instances deployed today, at least 1");
  if (!(utilisation > 0 && utilisation <= 1)) throw InputError({}, "--utilisation", fmt::format("{} is out of range", utilisation), "a fraction above 0 and at most 1");

  loadgen::RunContext context;
  context.lag_bound_seconds = trial.lag_bound_seconds;
  reports::CapacityFindings findings;
  std::optional<sim::Scenario> scenario;
  std::optional<sim::Forecast> forecast;
  std::optional<workflow::EmbeddedService> embedded;
  loadgen::RequestPlan plan;

  if (values.count("scenario")) {
    if (values.count("url")) throw InputError({}, "--url", "is given together with a scenario", "either SCENARIO or --url");
    scenario = sim::load_scenario(values["scenario"].as<std::string>());
    engine.seed = values.count("seed") ? values["seed"].as<std::uint64_t>() : scenario->seed;
    const auto [first_year, last_year] = planned_years(*scenario);
    forecast.emplace(sim::make_forecast(*scenario, first_year, last_year));
    const auto& peak = forecast->design_peaks.back();
    trial.rate_model = forecast->rate_model.get();
    trial.mix_at = peak.peak_hour_start;
    findings.mix = fmt::format("the {} design peak hour's mix", peak.year);
    context.scenario = scenario->name;
    context.scenario_file = scenario->file;
    if (!values.count("target")) {
      embedded.emplace();
      fmt::print("uptake capacity: no --target, so the embedded reference service serves at {}\n", embedded->url());
      std::fflush(stdout);  // before the progress lines on standard error
    }
    engine.target = loadgen::parse_target_or_throw(embedded ? embedded->url() : values["target"].as<std::string>(), "--target");
    plan = loadgen::plan_from_scenario(*scenario, forecast->rate_model->endpoints(), engine.target);
  } else {
    if (!values.count("url")) throw InputError({}, "SCENARIO", "is missing", "a scenario file, or ad hoc: --url URL --slo EXPR");
    if (values.count("target")) throw InputError({}, "--target", "is given with --url", "--url alone names the ad hoc target");
    engine.seed = values.count("seed") ? values["seed"].as<std::uint64_t>() : 1;
    context.scenario = "ad hoc";
    engine.target = loadgen::parse_target_or_throw(values["url"].as<std::string>(), "--url");
    plan = ad_hoc_plan(values, engine.target);
    findings.mix = fmt::format("one endpoint ({} {})", values["method"].as<std::string>(), engine.target.path);
  }
  std::vector<std::string> endpoint_names;
  for (const auto& endpoint : plan.endpoints) endpoint_names.push_back(endpoint.endpoint);
  search.slo = slo_of(values, scenario ? &*scenario : nullptr, endpoint_names);
  context.seed = engine.seed;
  const auto folder = values.count("out") ? values["out"].as<std::string>() : workflow::default_folder(scenario ? scenario->name + "-capacity" : "capacity");
  loadgen::claim_results_folder(folder, "--out", values.count("force") > 0);

  std::optional<loadgen::RunResult> last_run;
  trial.on_run = [&last_run](const loadgen::RunResult& run) { last_run = run; };
  search.on_step = [](const loadgen::CapacityStep& step) {
    fmt::print("{}\n", loadgen::format_step_line(step));
    std::fflush(stdout);
  };
  fmt::print("uptake capacity: searching {} from {:.0f}/s; each step a test at {:.0f}% confidence of up to {} look(s) of {:.0f} s or more (then doubling), "
             "after a warm-up; the whole search within {}\n",
             engine.target.to_string(), search.start_rps, (1 + search.confidence) / 2 * 100, search.max_looks, search.step_duration.count(),
             format_duration(search.max_elapsed));
  findings.search = [&] {
    const StopOnSignal stop_on_signal;
    return loadgen::search_capacity(search, loadgen::engine_trial_runner(trial, plan));
  }();
  embedded.reset();
  const auto& result = findings.search;

  findings.scalability = loadgen::fit_scalability_to_steps(result.steps);
  findings.prediction = loadgen::predict_capacity(result.low_load_service_times, servers, search.slo, result.capacity_rps, engine.seed);
  if (forecast && result.capacity_rps > 0) {
    findings.peaks = sim::yearly_design_peaks(*forecast);
    findings.plan_options.instance_capacity_per_second = result.capacity_rps;
    findings.plan_options.deployed_instances = deployed_instances;
    findings.plan_options.target_utilisation_fraction = utilisation;
    findings.plan = sim::plan_capacity(findings.peaks, findings.plan_options);
  }

  // The results folder: the last trial as
  // its run, and the whole search in summary.json's `capacity` block.
  if (last_run) {
    for (const auto& threshold : result.slo) context.slo.push_back(threshold);
    const auto verdict = loadgen::judge_generator(*last_run, context);
    loadgen::write_results(folder, *last_run, context, verdict);
    loadgen::update_summary_file(folder, [&](loadgen::Summary& summary) { summary.capacity = reports::capacity_json(findings); });
    if (forecast) write_file_atomically(folder + "/forecast.json", reports::render_forecast_json(*forecast));
  }
  fmt::print("{}", reports::render_capacity_text(findings));
  if (last_run) {
    const auto verdict = workflow::judge_results_folder(folder, {});
    print_verdict(verdict);
    const auto report_files = reports::write_reports(folder, folder);
    fmt::print("  results in {}/ (summary.json with the capacity block; the run files are the last trial's)\n", folder);
    fmt::print("  reports: {} (charts, opens offline) and {}\n", report_files.html.string(), report_files.markdown.string());
  }
  // A target that answered nothing in any trial is unreachable or down: no measurement at all
  // (the verdict above has said so, as for `run`), not a target that failed its SLO.
  const bool answered = std::any_of(result.steps.begin(), result.steps.end(), [](const loadgen::CapacityStep& step) { return step.completed > 0; });
  if (!answered) return kExitUntrusted;
  return reports::capacity_exit_code(result.outcome);
}

}  // namespace

std::vector<Command> capacity_commands() {
  return {{"capacity", "Find the highest rate the target carries within its SLO, and when the forecast demand outgrows it",
           "uptake capacity SCENARIO [--target URL] [--slo EXPR]... [--out DIR] [--servers N] [--instances N]\n"
           "       uptake capacity --url URL [--method M] [--body TEXT] [--header H]... --slo EXPR [--out DIR]",
           {"uptake capacity scenarios/ecert-korea.yaml              # the embedded reference service, the scenario's SLO",
            "uptake capacity scenarios/smoke.yaml --slo 'p99<20ms' --slo 'error_rate<0.1%' --out results/smoke-capacity",
            "uptake capacity --url http://127.0.0.1:8080/healthz --slo 'p99<5ms' --start 500",
            "uptake capacity scenarios/ecert-korea.yaml --target http://127.0.0.1:8080 --instances 3 --utilisation 0.7"},
           [](po::options_description& options, po::positional_options_description& positional) {
             options.add_options()("scenario", po::value<std::string>(), "scenario file (positional): its mix at the design peak hour, its SLO, its forecast")(
                 "target", po::value<std::string>(), "base URL of the service under test (default: the embedded reference service)")(
                 "url", po::value<std::string>(), "ad hoc: the URL to load")(
                 "slo", po::value<std::vector<std::string>>()->composing(), "a threshold each step must meet, such as 'p99<50ms' (repeatable; default: the scenario's slo)")(
                 "out", po::value<std::string>(), "results folder (default: results/NAME-capacity-TIME)")(
                 "seed", po::value<std::uint64_t>(), "random seed (default: the scenario's)")(
                 "start", po::value<double>()->default_value(100), "requests per second of the first step")(
                 "max", po::value<double>()->default_value(1e6), "the highest rate the search offers")(
                 "precision", po::value<double>()->default_value(0.02), "bisection ends when the bracket is this fraction of its lower end")(
                 "step-seconds", po::value<double>()->default_value(3), "seconds of a step's first look (longer when the rate brings too few responses to decide)")(
                 "looks", po::value<int>()->default_value(5), "looks per step before it counts as undecided (not passed)")(
                 "confidence", po::value<double>()->default_value(0.9), "of the capacity interval; each step's verdict errs at most half of the rest")(
                 "budget", po::value<std::string>()->default_value("15m"), "trial time after which the search stops (exit 3): 15m, 900s, 1h")(
                 "servers", po::value<int>()->default_value(0), "the target's servers, for the queueing models (0: estimate from Erlang C)")(
                 "instances", po::value<int>()->default_value(1), "instances deployed today, for the plan")(
                 "utilisation", po::value<double>()->default_value(1.0), "share of its capacity an instance is planned to run at (0 to 1)");
             declare_engine_options(options);
             declare_force_option(options);
             declare_ad_hoc_request(options);
             positional.add("scenario", 1);
           },
           capacity}};
}

}  // namespace uptake::cli

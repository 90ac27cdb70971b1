#include "uptake/workflow/capacity.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/capacity_trial.hpp"
#include "uptake/loadgen/results.hpp"
#include "uptake/loadgen/summary.hpp"
#include "uptake/reports/forecast_report.hpp"
#include "uptake/sim/forecast.hpp"
#include "uptake/sim/planning.hpp"
#include "uptake/sim/scenario_loader.hpp"
#include "uptake/workflow/embedded_service.hpp"
#include "uptake/workflow/judge.hpp"

namespace uptake::workflow {
namespace {

void say(const CapacityRequest& request, const std::string& text) {
  if (request.notice) request.notice(text);
}

// The SLO every step must meet: the request's, else the scenario's (whose throughput thresholds
// are left out, saying so: the search chooses the offered rate itself).
std::vector<sim::Threshold> slo_of(const CapacityRequest& request, const sim::Scenario* scenario, const std::vector<std::string>& endpoints) {
  std::vector<sim::Threshold> slo;
  if (!request.slo.empty()) {
    for (const auto& text : request.slo) slo.push_back(sim::parse_threshold_or_throw(text, {}, "--slo"));
    loadgen::check_capacity_slo(slo, endpoints, "--slo");
    return slo;
  }
  if (!scenario) throw InputError({}, "--slo", "is missing", "the SLO each step must meet, such as --slo 'p99<50ms' --slo 'error_rate<0.1%'");
  for (std::size_t i = 0; i < scenario->slo.size(); ++i) {
    auto threshold = sim::parse_threshold_or_throw(scenario->slo[i], {scenario->file, 0, 0}, fmt::format("slo[{}]", i));
    if (threshold.metric == sim::ThresholdMetric::throughput) {
      say(request, fmt::format("the scenario's '{}' is left out of the search's SLO: the search chooses the offered rate itself", threshold.text));
      continue;
    }
    slo.push_back(std::move(threshold));
  }
  if (slo.empty()) throw InputError({scenario->file, 0, 0}, "slo", "has no latency or error threshold to search against", "slo: ['p99<300ms'], or --slo");
  loadgen::check_capacity_slo(slo, endpoints, "slo");
  return slo;
}

// The years the plan covers: every projected year of the driving series (after its last year
// of history), or the last projected year alone when history reaches it.
std::pair<int, int> planned_years(const sim::Scenario& scenario) {
  const int last = scenario.growth.project_to_year;
  const int first = std::min(scenario.driving_series().last_year() + 1, last);
  return {first, last};
}

void check_plan_options(const CapacityRequest& request) {
  if (request.servers < 0) throw InputError({}, "--servers", fmt::format("{} is negative", request.servers), "the target's servers (0: estimate them)");
  if (request.instances < 1) throw InputError({}, "--instances", fmt::format("{} is below 1", request.instances), "the instances deployed today, at least 1");
  if (!(request.utilisation > 0 && request.utilisation <= 1)) {
    throw InputError({}, "--utilisation", fmt::format("{} is out of range", request.utilisation), "a fraction above 0 and at most 1");
  }
  if (!(request.risk > 0 && request.risk < 1)) {
    throw InputError({}, "--risk", fmt::format("{}% is out of range", request.risk * 100), "a percentage above 0 and below 100, such as 10%");
  }
}

}  // namespace

int CapacityRun::exit_code() const {
  // A target that answered nothing in any trial is unreachable or down: no measurement at all
  // (the last trial's verdict says so, as for `run`), not a target that failed its SLO.
  const auto& steps = findings.search.steps;
  const bool answered = std::any_of(steps.begin(), steps.end(), [](const loadgen::CapacityStep& step) { return step.completed > 0; });
  if (!answered) return kExitUntrusted;
  return reports::capacity_exit_code(findings.search.outcome);
}

namespace {

// The plan with the forecast's draws, each against a capacity drawn from the search's interval.
// A capacity that is a lower bound only has no upper end to draw from: it is drawn as itself,
// and the dates are then at the earliest, as the plan's text says.
sim::UncertainPlan uncertain_plan(const std::vector<sim::YearlyDesignPeak>& peaks, const loadgen::CapacitySearchResult& result,
                                  const CapacityRequest& request, std::uint64_t seed) {
  std::size_t draws = 0;
  for (const auto& peak : peaks) draws = std::max(draws, peak.draws.size());
  // No forecast interval: the capacity's own uncertainty still gives a spread of dates.
  if (draws == 0) draws = 400;
  sim::UncertainCapacity capacity{result.capacity_rps, std::nullopt, std::nullopt, result.confidence};
  if (!loadgen::is_lower_bound(result.outcome) && result.lower_rps > 0 && result.upper_rps > result.lower_rps) {
    capacity.lower = result.lower_rps;
    capacity.upper = result.upper_rps;
  }
  const auto capacities = sim::capacity_draws(capacity, static_cast<int>(draws), seed);
  return sim::plan_with_uncertainty(peaks, capacities, request.instances, request.utilisation, request.risk);
}

}  // namespace

CapacityRun run_capacity_workflow(const CapacityRequest& request) {
  // The plan's options are checked before any load: a bad one must not cost a whole search.
  check_plan_options(request);
  if (!request.scenario_file.empty() && request.ad_hoc) throw InputError({}, "--url", "is given together with a scenario", "either SCENARIO or --url");
  if (request.scenario_file.empty() && !request.ad_hoc) throw InputError({}, "SCENARIO", "is missing", "a scenario file, or ad hoc: --url URL --slo EXPR");
  if (request.ad_hoc && !request.target_url.empty()) throw InputError({}, "--target", "is given with --url", "--url alone names the ad hoc target");

  loadgen::CapacityTrialOptions trial;
  trial.engine = request.engine;
  trial.lag_bound_seconds = request.lag_bound_seconds;
  auto& engine = trial.engine;
  loadgen::RunContext context;
  context.lag_bound_seconds = request.lag_bound_seconds;
  CapacityRun run;
  auto& findings = run.findings;
  std::optional<sim::Scenario> scenario;
  std::optional<sim::Forecast> forecast;
  std::optional<EmbeddedService> embedded;
  loadgen::RequestPlan plan;

  if (!request.scenario_file.empty()) {
    scenario = sim::load_scenario(request.scenario_file);
    engine.seed = request.seed.value_or(scenario->seed);
    const auto [first_year, last_year] = planned_years(*scenario);
    forecast.emplace(sim::make_forecast(*scenario, first_year, last_year));
    for (const auto* warnings : {&scenario->warnings, &forecast->warnings}) {
      for (const auto& warning : *warnings) say(request, "warning: " + warning);
    }
    const auto& peak = forecast->design_peaks.back();
    trial.rate_model = forecast->rate_model.get();
    trial.mix_at = peak.peak_hour_start;
    findings.mix = fmt::format("the {} design peak hour's mix", peak.year);
    context.scenario = scenario->name;
    context.scenario_file = scenario->file;
    aim_at_scenario_target(*scenario, request.target_url, engine, embedded, request.notice);
    plan = loadgen::plan_from_scenario(*scenario, forecast->rate_model->endpoints(), engine.target);
  } else {
    const auto& load = *request.ad_hoc;
    engine.seed = request.seed.value_or(1);
    context.scenario = "ad hoc";
    engine.target = loadgen::parse_target_or_throw(load.url, "--url");
    plan = loadgen::plan_ad_hoc(engine.target, load.method, load.body, load.headers);
    findings.mix = fmt::format("one endpoint ({} {})", load.method, engine.target.path);
  }
  std::vector<std::string> endpoint_names;
  for (const auto& endpoint : plan.endpoints) endpoint_names.push_back(endpoint.endpoint);
  auto search = request.search;
  search.slo = slo_of(request, scenario ? &*scenario : nullptr, endpoint_names);
  search.on_step = request.on_step;
  context.seed = engine.seed;
  run.folder = request.out_folder.empty() ? default_folder(scenario ? scenario->name + "-capacity" : "capacity") : request.out_folder;
  loadgen::claim_results_folder(run.folder, "--out", request.force);

  std::optional<loadgen::RunResult> last_run;
  trial.on_run = [&last_run](const loadgen::RunResult& result) { last_run = result; };
  LiveMetrics live_metrics(request.live_metrics, request.notice);
  live_metrics.attach(trial.engine, {context.scenario, engine.target.to_string(), "capacity", "0/1", 0.0, 0});
  trial.on_trial_start = [&live_metrics](double rate, std::uint64_t number) { live_metrics.trial(rate, number); };
  say(request, fmt::format("searching {} from {:.0f}/s; each step a test at {:.0f}% confidence of up to {} look(s) of {:.0f} s or more (then doubling), "
                           "after a warm-up; the whole search within {}",
                           engine.target.to_string(), search.start_rps, (1 + search.confidence) / 2 * 100, search.max_looks, search.step_duration.count(),
                           format_duration(search.max_elapsed)));
  findings.search = loadgen::search_capacity(search, loadgen::engine_trial_runner(trial, plan));
  embedded.reset();
  const auto& result = findings.search;

  findings.scalability = loadgen::fit_scalability_to_steps(result.steps);
  findings.prediction = loadgen::predict_capacity(result.low_load_service_times, request.servers, search.slo, result.capacity_rps, engine.seed);
  if (findings.prediction) findings.prediction->mean_server_seconds = loadgen::mean_seconds(result.low_load_server_times);
  if (forecast && result.capacity_rps > 0) {
    findings.peaks = sim::yearly_design_peaks(*forecast);
    findings.plan_options.instance_capacity_per_second = result.capacity_rps;
    findings.plan_options.deployed_instances = request.instances;
    findings.plan_options.target_utilisation_fraction = request.utilisation;
    findings.plan = sim::plan_capacity(findings.peaks, findings.plan_options);
    findings.uncertain_plan = uncertain_plan(findings.peaks, result, request, engine.seed);
  }

  // The results folder: the last trial as its run, and the whole search in summary.json's
  // `capacity` block.
  if (last_run) {
    for (const auto& threshold : result.slo) context.slo.push_back(threshold);
    loadgen::write_results(run.folder, *last_run, context, loadgen::judge_generator(*last_run, context));
    loadgen::update_summary_file(run.folder, [&](loadgen::Summary& summary) { summary.capacity = reports::capacity_json(findings); });
    if (forecast) write_file_atomically(run.folder + "/forecast.json", reports::render_forecast_json(*forecast));
    run.last_trial = judge_results_folder(run.folder, {});
    run.reports = reports::write_reports(run.folder, run.folder);
  }
  live_metrics.linger(engine.stop);
  return run;
}

}  // namespace uptake::workflow

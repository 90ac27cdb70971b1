#include "uptake/workflow/run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <thread>

#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/slo.hpp"
#include "uptake/reports/forecast_report.hpp"
#include "uptake/sim/forecast.hpp"
#include "uptake/sim/scenario_loader.hpp"
#include "uptake/sim/threshold.hpp"
#include "uptake/workflow/embedded_service.hpp"
#include "uptake/workflow/judge.hpp"

namespace uptake::workflow {
namespace {

// --abort-on-fail counts the schedule before the run, on one thread; past this many arrivals
// (about a second of counting) the count would delay the start, and shards their --start-at.
constexpr std::uint64_t kMostArrivalsCountedAhead = 100'000'000;

// --abort-on-fail: the rule the engine applies once a second. Every threshold of the run (the
// scenario's SLO and --threshold) is watched, against the number of requests the whole schedule
// plans for its series, counted here before the run (the engine draws the same arrivals).
std::function<std::optional<loadgen::AbortReason>(const std::vector<loadgen::EndpointResult>&)> abort_rule(
    const std::vector<std::string>& slo, const std::vector<std::string>& extra, const loadgen::RequestPlan& plan, const loadgen::EngineOptions& options) {
  std::vector<sim::Threshold> thresholds;
  for (const auto& text : slo) thresholds.push_back(sim::parse_threshold_or_throw(text, {}, "slo"));
  for (const auto& text : extra) thresholds.push_back(sim::parse_threshold_or_throw(text, {}, "--threshold"));
  std::vector<std::uint64_t> planned(plan.endpoints.size(), 0);
  for (unsigned thread = 0; thread < options.threads; ++thread) {
    auto schedule = options.make_schedule(sim::Shard{thread, options.threads});
    // Each thread's part is drawn from the whole schedule's stream: counting costs the whole.
    if (schedule.expected_arrivals() * options.threads > static_cast<double>(kMostArrivalsCountedAhead)) {
      throw InputError({}, "--abort-on-fail", fmt::format("needs the schedule counted ahead, and its {:.0f} arrivals are too many to count before the start",
                                                          schedule.expected_arrivals()),
                       fmt::format("a schedule of at most {} arrivals (a shorter or sharded run)", kMostArrivalsCountedAhead));
    }
    if (plan.sessions) {
      // Arrivals of sessions: the requests each sends are drawn as it runs, so its part of the
      // plan is what a session sends on average.
      std::uint64_t sessions = 0;
      for (sim::Arrival arrival; schedule.next(arrival);) ++sessions;
      for (std::size_t e = 0; e < planned.size(); ++e) {
        planned[e] += static_cast<std::uint64_t>(std::llround(static_cast<double>(sessions) * plan.sessions->requests_per_endpoint()[e]));
      }
      continue;
    }
    for (sim::Arrival arrival; schedule.next(arrival);) ++planned[arrival.endpoint];
  }
  std::vector<std::string> names;
  for (const auto& endpoint : plan.endpoints) names.push_back(endpoint.endpoint);
  std::vector<std::optional<std::size_t>> series_of;  // per threshold: an endpoint's index, or empty for the whole run
  for (const auto& threshold : thresholds) {
    if (threshold.endpoint.empty()) {
      series_of.emplace_back();
      continue;
    }
    loadgen::check_endpoint_of(threshold, names, {}, "--threshold", "the run");
    series_of.emplace_back(static_cast<std::size_t>(std::find(names.begin(), names.end(), threshold.endpoint) - names.begin()));
  }
  std::uint64_t planned_total = 0;
  for (const auto count : planned) planned_total += count;
  return [thresholds, series_of, planned, planned_total](const std::vector<loadgen::EndpointResult>& so_far) -> std::optional<loadgen::AbortReason> {
    loadgen::EndpointResult total;
    for (const auto& endpoint : so_far) total.add(endpoint);
    for (std::size_t t = 0; t < thresholds.size(); ++t) {
      const auto& series = series_of[t] ? so_far.at(*series_of[t]) : total;
      const loadgen::SeriesFigures figures{series, 0.0, &series.response_time, series.completed};
      if (auto why = loadgen::cannot_pass(thresholds[t], figures, series_of[t] ? planned.at(*series_of[t]) : planned_total)) {
        return loadgen::AbortReason{thresholds[t].text, *why};
      }
    }
    return std::nullopt;
  };
}

// Waits for --start-at, or until a stop (the run then starts at once, stops at once, and its
// results say it was interrupted). A shard that starts late sends its whole schedule shifted by
// the delay: merged with its peers, its seconds no longer line up with theirs. Say so rather
// than hide it.
void wait_for_start(double start_at, const std::atomic<bool>* stop, const std::function<void(std::string_view)>& notice) {
  const auto at = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(Seconds{start_at}));
  const auto now = std::chrono::system_clock::now();
  if (now - at > std::chrono::seconds(1) && notice) {
    notice(fmt::format("warning: --start-at {:.0f} passed {:.1f} s ago; this run starts now, out of step with shards that started on time", start_at,
                       std::chrono::duration<double>(now - at).count()));
  }
  while (std::chrono::system_clock::now() < at && !(stop && stop->load())) {
    std::this_thread::sleep_until(std::min(at, std::chrono::system_clock::now() + std::chrono::milliseconds(100)));
  }
}


}  // namespace

std::string default_folder(const std::string& name) {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  const auto base = fmt::format("results/{}-{:04}{:02}{:02}-{:02}{:02}{:02}", name, utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
  auto folder = base;
  for (int suffix = 2; std::filesystem::exists(folder); ++suffix) folder = fmt::format("{}-{}", base, suffix);
  return folder;
}

RunOutcome run_workflow(const RunRequest& request) {
  auto options = request.engine;
  loadgen::RunContext context;
  context.lag_bound_seconds = request.lag_bound_seconds;
  context.shard = request.shard;
  for (const auto& expression : request.thresholds) sim::parse_threshold_or_throw(expression, {}, "--threshold");  // before any load
  if (request.start_at) {
    // Judged as a number before it becomes a time point: 1e308 seconds overflow the clock's
    // nanoseconds, and the run started at once.
    const double start_at = *request.start_at;
    const double latest = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() + 86400;
    if (!(start_at >= 0 && start_at <= latest)) {
      throw InputError({}, "--start-at", fmt::format("{:g} is not a Unix time from 0 to a day ahead", start_at), "an epoch time within the next day");
    }
    context.start_at = start_at;
  }
  const auto shard = request.shard;
  const auto threads = options.threads;

  std::optional<sim::Scenario> scenario;
  std::optional<sim::Forecast> forecast;
  std::optional<EmbeddedService> embedded;
  loadgen::RequestPlan plan;
  double schedule_seconds = 0;
  if (!request.scenario_file.empty()) {
    scenario = sim::load_scenario(request.scenario_file);
    sim::override_replay(*scenario, request.replay);
    options.seed = request.seed.value_or(scenario->seed);
    forecast.emplace(sim::make_forecast(*scenario, scenario->growth.project_to_year, scenario->growth.project_to_year));
    if (request.notice) {
      for (const auto* warnings : {&scenario->warnings, &forecast->warnings}) {
        for (const auto& warning : *warnings) request.notice("warning: " + warning);
      }
    }
    const auto window = sim::replay_window(*scenario, *forecast->rate_model);
    schedule_seconds = window.duration.count();
    // What the schedule stands for, recorded in summary.json and said in the reports.
    context.replay = sim::replay_context(*scenario, *forecast->rate_model, window);
    context.scenario = scenario->name;
    context.scenario_file = scenario->file;
    context.replay_overridden_by = scenario->replay.overridden_by;
    context.slo = scenario->slo;
    // Without a target, the embedded default: the reference service on an ephemeral loopback port.
    aim_at_scenario_target(*scenario, request.target_url, options, embedded, request.notice);
    plan = loadgen::plan_from_scenario(*scenario, forecast->rate_model->endpoints(), options.target);
    const auto& model = *forecast->rate_model;
    const auto seed = options.seed;
    options.make_schedule = [&model, &plan, window, seed, shard, threads](sim::Shard thread) {
      // Each thread takes its own sub-shard of this run's shard: sequence mod (N*T) = K + N*t.
      return loadgen::schedule_for(plan, model, window, seed, sim::Shard{shard.index + shard.count * thread.index, shard.count * threads});
    };
  } else if (request.ad_hoc) {
    if (!request.replay.empty()) throw InputError({}, "--window/--year/--replay-duration/--scale", "apply to scenario runs only", "--rate and --duration for an ad hoc run");
    const auto& load = *request.ad_hoc;
    options.seed = request.seed.value_or(1);
    context.scenario = "ad hoc";
    options.target = loadgen::parse_target_or_throw(load.url, "--url");
    plan = loadgen::plan_ad_hoc(options.target, load.method, load.body, load.headers);
    const double duration = load.duration.count();
    if (!(duration > 0 && duration <= 86400)) throw InputError({}, "--duration", fmt::format("{:g}s is out of range", duration), "a duration above 0 and at most 1d (86400s)");
    if (!load.rate_rps) {
      options.closed_loop = true;
      options.closed_loop_duration = load.duration;
    } else {
      const double rps = *load.rate_rps;
      if (!(rps > 0 && rps <= 10'000'000)) throw InputError({}, "--rate", fmt::format("'{}' is not a rate", rps), "requests per second above 0, or max");
      const auto seed = options.seed;
      schedule_seconds = duration;
      options.make_schedule = [rps, duration, seed, shard, threads](sim::Shard thread) {
        return sim::ArrivalSchedule::constant(rps, Seconds{duration}, seed, sim::Shard{shard.index + shard.count * thread.index, shard.count * threads});
      };
    }
  } else {
    throw InputError({}, "SCENARIO", "is missing", "a scenario file, or ad hoc: --url URL --rate RPS|max --duration SECONDS");
  }
  if (request.abort_on_fail) {
    if (options.closed_loop) throw InputError({}, "--abort-on-fail", "is given with --rate max", "an open-loop run: a closed loop plans no requests to judge against");
    const double grace = request.abort_grace.count();
    if (!(grace >= 0 && grace <= 86400)) throw InputError({}, "--abort-grace", fmt::format("{:g}s is out of range", grace), "a duration from 0s to 1d (86400s)");
    options.abort_after = request.abort_grace;
    options.abort_when = abort_rule(context.slo, request.thresholds, plan, options);
  }
  // Progress shows elapsed time against the schedule's length.
  if (request.engine.on_progress) {
    const double total_seconds = options.closed_loop ? options.closed_loop_duration.count() : schedule_seconds;
    options.on_progress = [total_seconds, report = request.engine.on_progress](loadgen::Progress progress) {
      progress.total_seconds = total_seconds;
      report(progress);
    };
  }
  RunOutcome outcome;
  outcome.replay = context.replay;
  outcome.folder = request.out_folder.empty() ? default_folder(scenario ? scenario->name : "adhoc") : request.out_folder;
  loadgen::claim_results_folder(outcome.folder, "--out", request.force);
  context.seed = options.seed;
  LiveMetrics live_metrics(request.live_metrics, request.notice);
  live_metrics.attach(options, {context.scenario, options.target.to_string(), options.closed_loop ? "closed_loop" : "open_loop",
                                fmt::format("{}/{}", shard.index, shard.count), std::nullopt, 0});

  if (request.start_at) wait_for_start(*request.start_at, options.stop, request.notice);
  outcome.result = loadgen::run_engine(options, plan);
  outcome.result.schedule_seconds = schedule_seconds;
  embedded.reset();
  outcome.generator = loadgen::judge_generator(outcome.result, context);
  loadgen::write_results(outcome.folder, outcome.result, context, outcome.generator);
  // The demand behind the schedule, for report.html's demand charts.
  if (forecast) write_file_atomically((std::filesystem::path(outcome.folder) / loadgen::kForecastFile).string(), reports::render_forecast_json(*forecast));
  // The thresholds are judged on the files just written, as `uptake gate` would judge them, and
  // recorded in summary.json before anything renders it.
  outcome.verdict = judge_results_folder(outcome.folder, request.thresholds);
  outcome.reports = reports::write_reports(outcome.folder, outcome.folder);
  live_metrics.linger(options.stop);
  return outcome;
}

}  // namespace uptake::workflow

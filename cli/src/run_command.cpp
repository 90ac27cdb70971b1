// uptake run: replay a scenario's arrival schedule (or an ad hoc rate) as open-loop traffic.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <thread>

#include "command.hpp"
#include "target_setup.hpp"
#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/engine.hpp"
#include "uptake/loadgen/results.hpp"
#include "uptake/loadgen/slo.hpp"
#include "uptake/reports/forecast_report.hpp"
#include "uptake/reports/report_files.hpp"
#include "uptake/reports/text_table.hpp"
#include "uptake/sim/forecast.hpp"
#include "uptake/sim/scenario_loader.hpp"
#include "uptake/sim/threshold.hpp"

namespace uptake::cli {
namespace {

void print_progress(const loadgen::Progress& progress) {
  const bool terminal = ::isatty(STDERR_FILENO);
  if (progress.elapsed_seconds < 0.05 && progress.completed == 0) return;  // warm-up: the clock has not started
  const auto total = progress.total_seconds > 0 ? fmt::format(" of {:.0f} s", progress.total_seconds) : std::string();
  const auto p99 = progress.p99_ms > 0 ? fmt::format("p99 {:.2f} ms", progress.p99_ms) : std::string("p99 —");
  const auto line = fmt::format("  {:6.1f} s{}  {:>9} done  {:>8.0f}/s  {}  {} errors", progress.elapsed_seconds, total,
                                reports::group_thousands(static_cast<double>(progress.completed)), progress.rate, p99, progress.errors);
  if (terminal) fmt::print(stderr, "\r{}\x1b[K", line);
  else fmt::print(stderr, "{}\n", line);
}

void print_summary(const loadgen::RunResult& result, const loadgen::Verdict& verdict, const std::string& folder) {
  if (::isatty(STDERR_FILENO)) fmt::print(stderr, "\n");
  using reports::TextTable;
  TextTable table({"endpoint", "planned", "completed", "errors", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "p99.9 ms", "max ms"}, {TextTable::Align::left});
  auto row = [&](const loadgen::EndpointResult& e) {
    const auto& h = e.response_time;
    auto at = [&](double p) { return h.total_count() ? fmt::format("{:.2f}", static_cast<double>(h.value_at_percentile(p)) / 1e6) : std::string("—"); };
    table.add_row({e.name, reports::group_thousands(static_cast<double>(e.planned)), reports::group_thousands(static_cast<double>(e.completed)),
                   reports::group_thousands(static_cast<double>(e.errors)), at(50), at(90), at(95), at(99), at(99.9),
                   h.total_count() ? fmt::format("{:.2f}", static_cast<double>(h.max()) / 1e6) : "—"});
  };
  for (const auto& endpoint : result.endpoints) row(endpoint);
  if (result.endpoints.size() > 1) row(result.total());
  const auto total = result.total();
  fmt::print("\nResponse times from the intended send time (no coordinated omission), {} {} in {:.1f} s ({:.1f}/s){}\n",
             reports::group_thousands(static_cast<double>(total.completed)), "responses", result.duration_seconds,
             static_cast<double>(total.completed) / std::max(result.duration_seconds, 1e-9), result.interrupted ? ", interrupted: partial results" : "");
  fmt::print("{}", table.render());
  const auto& lag = result.schedule_lag;
  if (lag.total_count()) {
    fmt::print("  schedule lag p50 {:.3f} ms, p99 {:.3f} ms, max {:.3f} ms ({} pacing; busiest generator thread {:.0f}% busy); {} request(s) waited for a connection\n",
               static_cast<double>(lag.value_at_percentile(50)) / 1e6, static_cast<double>(lag.value_at_percentile(99)) / 1e6,
               static_cast<double>(lag.max()) / 1e6, to_string(result.pacing), result.busiest_thread_fraction * 100, result.waited_for_connection);
  }
  std::string errors;
  for (std::size_t i = 0; i < result.errors.size(); ++i) {
    if (result.errors[i]) errors += fmt::format(" {}={}", loadgen::to_string(static_cast<loadgen::ErrorClass>(i)), result.errors[i]);
  }
  if (!errors.empty()) fmt::print("  errors by class:{}\n", errors);
  if (verdict.generator_behind) fmt::print("  UNTRUSTED: {}\n", verdict.reason);
  if (!result.aborted_threshold.empty()) {
    fmt::print("  ABORTED at {:.1f} s (--abort-on-fail): {} can no longer hold: {}\n", result.aborted_at_seconds, result.aborted_threshold, result.aborted_reason);
  }
  fmt::print("  results in {}/ (summary.json, latency.hlog, timeseries.csv)\n", folder);
}

// --abort-on-fail: the rule the engine applies once a second. Every threshold of the run (the
// scenario's SLO and --threshold) is watched, against the number of requests the whole schedule
// plans for its series, counted here before the run (the engine counts the same arrivals).
std::function<std::optional<loadgen::AbortReason>(const std::vector<loadgen::EndpointResult>&)> abort_rule(
    const std::vector<std::string>& slo, const std::vector<std::string>& extra, const loadgen::RequestPlan& plan, const loadgen::EngineOptions& options) {
  std::vector<sim::Threshold> thresholds;
  for (const auto& text : slo) thresholds.push_back(sim::parse_threshold_or_throw(text, {}, "slo"));
  for (const auto& text : extra) thresholds.push_back(sim::parse_threshold_or_throw(text, {}, "--threshold"));
  std::vector<std::uint64_t> planned(plan.endpoints.size(), 0);
  for (unsigned thread = 0; thread < options.threads; ++thread) {
    auto schedule = options.make_schedule(sim::Shard{thread, options.threads});
    for (sim::Arrival arrival; schedule.next(arrival);) ++planned[arrival.endpoint];
  }
  std::vector<std::optional<std::size_t>> series_of;  // per threshold: an endpoint's index, or empty for the whole run
  for (const auto& threshold : thresholds) {
    if (threshold.endpoint.empty()) {
      series_of.emplace_back();
      continue;
    }
    const auto at = std::find_if(plan.endpoints.begin(), plan.endpoints.end(), [&](const auto& endpoint) { return endpoint.endpoint == threshold.endpoint; });
    if (at == plan.endpoints.end()) throw InputError({}, "--threshold", fmt::format("'{}' names no endpoint '{}' of the run", threshold.text, threshold.endpoint), "an endpoint of the scenario");
    series_of.emplace_back(static_cast<std::size_t>(at - plan.endpoints.begin()));
  }
  return [thresholds, series_of, planned](const std::vector<loadgen::EndpointResult>& so_far) -> std::optional<loadgen::AbortReason> {
    loadgen::EndpointResult total;
    for (const auto& endpoint : so_far) total.add(endpoint);
    std::uint64_t planned_total = 0;
    for (const auto count : planned) planned_total += count;
    for (std::size_t t = 0; t < thresholds.size(); ++t) {
      const auto& series = series_of[t] ? so_far.at(*series_of[t]) : total;
      const loadgen::SeriesFigures figures{series.planned, series.completed, series.ok, series.errors, 0.0, &series.response_time};
      if (auto why = loadgen::cannot_pass(thresholds[t], figures, series_of[t] ? planned.at(*series_of[t]) : planned_total)) return loadgen::AbortReason{thresholds[t].text, *why};
    }
    return std::nullopt;
  };
}

int run(const po::variables_map& values) {
  // From the start: a SIGINT while the embedded service starts still ends in partial results.
  const StopOnSignal stop_on_signal;
  loadgen::EngineOptions options;
  loadgen::RunContext context;
  context.lag_bound_seconds = engine_options_of(values, options);
  options.seed = values.count("seed") ? values["seed"].as<std::uint64_t>() : 1;
  options.stop = StopOnSignal::stop_flag();
  const auto extra_thresholds = values.count("threshold") ? values["threshold"].as<std::vector<std::string>>() : std::vector<std::string>{};
  for (const auto& expression : extra_thresholds) sim::parse_threshold_or_throw(expression, {}, "--threshold");  // before any load
  sim::Shard shard;
  if (values.count("shard")) {
    const auto parsed = sim::parse_shard(values["shard"].as<std::string>());
    if (!parsed) throw InputError({}, "--shard", fmt::format("'{}' is not a shard", values["shard"].as<std::string>()), "K/N with 0 <= K < N, such as 0/4");
    shard = *parsed;
  }
  context.shard = shard;

  std::optional<sim::Scenario> scenario;
  std::optional<sim::Forecast> forecast;
  std::optional<sim::ReplayWindow> window;
  loadgen::RequestPlan plan;
  std::optional<EmbeddedService> embedded;
  if (values.count("scenario")) {
    if (values.count("url") || values.count("rate")) throw InputError({}, "--url/--rate", "are given together with a scenario", "either SCENARIO or --url with --rate");
    scenario = sim::load_scenario(values["scenario"].as<std::string>());
    if (!values.count("seed")) options.seed = scenario->seed;
    forecast.emplace(sim::make_forecast(*scenario, scenario->growth.project_to_year, scenario->growth.project_to_year));
    window = sim::replay_window(*scenario, *forecast->rate_model);
    context.scenario = scenario->name;
    context.scenario_file = scenario->file;
    context.slo = scenario->slo;
    // Without a target, the embedded default: the reference service on an ephemeral loopback port.
    if (!values.count("target")) embedded.emplace("run");
    const auto url = embedded ? embedded->url() : values["target"].as<std::string>();
    options.target = target_of(url, "--target");
    plan = loadgen::plan_from_scenario(*scenario, forecast->rate_model->endpoints(), options.target);
    options.warmup_requests = values["warmup"].as<unsigned>();
    const auto& model = *forecast->rate_model;
    const auto the_window = *window;
    const auto seed = options.seed;
    const auto threads = options.threads;
    options.make_schedule = [&model, the_window, seed, shard, threads](sim::Shard thread) {
      // Each thread takes its own sub-shard of this run's shard: sequence mod (N*T) = K + N*t.
      return sim::ArrivalSchedule(model, the_window, seed, sim::Shard{shard.index + shard.count * thread.index, shard.count * threads});
    };
  } else {
    if (!values.count("url") || !values.count("rate") || !values.count("duration")) {
      throw InputError({}, "SCENARIO", "is missing", "a scenario file, or ad hoc: --url URL --rate RPS|max --duration SECONDS");
    }
    context.scenario = "ad hoc";
    options.target = target_of(values["url"].as<std::string>(), "--url");
    plan = ad_hoc_plan(values, options.target);
    const double duration = values["duration"].as<double>();
    if (!(duration > 0 && duration <= 86400)) throw InputError({}, "--duration", fmt::format("{} is out of range", duration), "seconds from 0 to 86400");
    const auto rate = values["rate"].as<std::string>();
    if (rate == "max") {
      options.closed_loop = true;
      options.closed_loop_duration = Seconds{duration};
    } else {
      double rps = 0;
      try {
        rps = std::stod(rate);
      } catch (const std::exception&) {
        rps = -1;
      }
      if (!(rps > 0 && rps <= 10'000'000)) throw InputError({}, "--rate", fmt::format("'{}' is not a rate", rate), "requests per second above 0, or max");
      const auto seed = options.seed;
      const auto threads = options.threads;
      options.make_schedule = [rps, duration, seed, shard, threads](sim::Shard thread) {
        return sim::ArrivalSchedule::constant(rps, Seconds{duration}, seed, sim::Shard{shard.index + shard.count * thread.index, shard.count * threads});
      };
    }
  }
  if (values.count("abort-on-fail")) {
    if (options.closed_loop) throw InputError({}, "--abort-on-fail", "is given with --rate max", "an open-loop run: a closed loop plans no requests to judge against");
    const double grace = values["abort-grace"].as<double>();
    if (!(grace >= 0 && grace <= 86400)) throw InputError({}, "--abort-grace", fmt::format("{} is out of range", grace), "seconds from 0 to 86400");
    options.abort_after = Seconds{grace};
    options.abort_when = abort_rule(context.slo, extra_thresholds, plan, options);
  }
  // Progress shows elapsed time against the schedule's length.
  const double planned_seconds = window ? window->duration.count() : values["duration"].as<double>();
  options.on_progress = [planned_seconds](loadgen::Progress progress) {
    progress.total_seconds = planned_seconds;
    print_progress(progress);
  };
  const auto folder = values.count("out") ? values["out"].as<std::string>() : default_folder(scenario ? scenario->name : "adhoc");
  loadgen::claim_results_folder(folder, "--out", values.count("force") > 0);
  context.seed = options.seed;

  if (values.count("start-at")) {
    context.start_at = values["start-at"].as<double>();
    const auto at = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(Seconds{values["start-at"].as<double>()}));
    const auto now = std::chrono::system_clock::now();
    if (at > now + std::chrono::hours(24)) throw InputError({}, "--start-at", "is more than a day ahead", "an epoch time within the next day");
    // A shard that starts late sends its whole schedule shifted by the delay: merged with its
    // peers, its seconds no longer line up with theirs. Say so rather than hide it.
    if (now - at > std::chrono::seconds(1)) {
      fmt::print(stderr, "uptake run: warning: --start-at {:.0f} passed {:.1f} s ago; this run starts now, out of step with shards that started on time\n",
                 values["start-at"].as<double>(), std::chrono::duration<double>(now - at).count());
    }
    std::this_thread::sleep_until(at);
  }
  auto result = loadgen::run_engine(options, plan);
  if (window) result.schedule_seconds = window->duration.count();
  else if (!options.closed_loop) result.schedule_seconds = values["duration"].as<double>();
  embedded.reset();
  const auto verdict = loadgen::judge_generator(result, context);
  loadgen::write_results(folder, result, context, verdict);
  // The demand behind the schedule, for report.html's demand charts.
  if (forecast) write_file_atomically(folder + "/forecast.json", reports::render_forecast_json(*forecast));
  print_summary(result, verdict, folder);
  // The thresholds are judged on the files just written, as `uptake gate` would judge them, and
  // recorded in summary.json before anything renders it.
  const int exit_code = judge_run_folder(folder, extra_thresholds);
  const auto report_files = reports::write_reports(folder, folder);
  fmt::print("  reports: {} (charts, opens offline) and {}\n", report_files.html.string(), report_files.markdown.string());
  return exit_code;
}

}  // namespace

std::vector<Command> run_commands() {
  return {{"run", "Replay a scenario's demand (or an ad hoc rate) as open-loop traffic and measure it",
           "uptake run SCENARIO [--target URL] [--out DIR] [--seed N] [--shard K/N] [--start-at EPOCH]\n"
           "       uptake run --url URL --rate RPS|max --duration SECONDS [--method M] [--body TEXT] [--header H]... [--connections N] [--threads N] [--out DIR]",
           {"uptake run scenarios/ecert-korea.yaml                 # against the embedded reference service",
            "uptake run scenarios/smoke.yaml --target http://127.0.0.1:8080 --out results/smoke",
            "uptake run --url http://127.0.0.1:8080/healthz --rate 2000 --duration 30",
            "uptake run --url http://127.0.0.1:8080/healthz --rate max --connections 50 --duration 10   # closed-loop ceiling, as wrk",
            "uptake run scenarios/gov24.yaml --shard 0/4 --start-at 1790000000   # one shard of four, aligned start",
            "uptake run --url http://127.0.0.1:8080/healthz --rate 10000 --duration 30 --pacing spin   # sub-100-us pacing, one busy core",
            "uptake run scenarios/smoke.yaml --threshold 'verify.p99<50ms' --threshold 'error_rate<0.1%'   # exit 1 when one fails",
            "uptake run scenarios/ecert-korea.yaml --abort-on-fail   # stop at once when the SLO can no longer hold (exit 1)",
            "uptake run --url https://127.0.0.1:8443/v1/verify --method POST --header 'Content-Type: application/json' --body '{\"credential\":\"x\"}' --rate 500 --duration 20 --timeout 2"},
           [](po::options_description& options, po::positional_options_description& positional) {
             options.add_options()("scenario", po::value<std::string>(), "scenario file (positional)")(
                 "target", po::value<std::string>(), "base URL of the service under test (default: the embedded reference service)")(
                 "url", po::value<std::string>(), "ad hoc: the URL to load")("rate", po::value<std::string>(), "ad hoc: requests per second, or max (closed loop)")(
                 "duration", po::value<double>(), "ad hoc: seconds")(
                 "out", po::value<std::string>(), "results folder (default: results/NAME-TIME)")("seed", po::value<std::uint64_t>(), "random seed (default: the scenario's)")(
                 "shard", po::value<std::string>(), "K/N: send only shard K of N of the schedule")(
                 "start-at", po::value<double>(), "start at this Unix time (aligns shards on many machines)")(
                 "threshold", po::value<std::vector<std::string>>()->composing(), "threshold judged at the end, such as p99<300ms or verify.error_rate<1% (repeatable; added to the scenario's slo)");
             options.add_options()("abort-on-fail", "stop early, with exit 1, once a threshold can no longer hold whatever the rest of the run brings")(
                 "abort-grace", po::value<double>()->default_value(5), "seconds from the start before --abort-on-fail judges");
             declare_engine_options(options);
             declare_force_option(options);
             declare_ad_hoc_request(options);
             positional.add("scenario", 1);
           },
           run}};
}

}  // namespace uptake::cli

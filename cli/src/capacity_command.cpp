// uptake capacity: the highest steady open-loop rate at which the target meets its SLO, the
// queueing models' view of it, and (with a scenario) the plan against the forecast's demand.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <string_view>

#include "command.hpp"
#include "target_setup.hpp"
#include "uptake/base/civil_time.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/capacity_search.hpp"
#include "uptake/reports/capacity_summary.hpp"
#include "uptake/workflow/capacity.hpp"

namespace uptake::cli {
namespace {

double positive(const po::variables_map& values, const char* name, const char* expected) {
  const double value = values[name].as<double>();
  if (!(value > 0 && std::isfinite(value))) throw InputError({}, fmt::format("--{}", name), fmt::format("{} is out of range", value), expected);
  return value;
}

loadgen::CapacitySearchOptions search_options_of(const po::variables_map& values) {
  loadgen::CapacitySearchOptions search;
  search.start_rps = positive(values, "start", "a rate above 0 to begin the search at, in requests per second");
  search.max_rps = positive(values, "max", "the highest rate the search may offer, in requests per second");
  if (search.max_rps < search.start_rps) throw InputError({}, "--max", fmt::format("{} is below --start {}", search.max_rps, search.start_rps), "a ceiling at or above the starting rate");
  search.min_rps = std::min(1.0, search.start_rps);
  search.precision = positive(values, "precision", "a fraction such as 0.02 (2%)");
  if (search.precision >= 1) throw InputError({}, "--precision", fmt::format("{} is not below 1", search.precision), "a fraction such as 0.02 (2%)");
  search.step_duration = duration_of(values, "step-seconds");
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
  search.max_elapsed = duration_of(values, "budget");
  if (!(search.max_elapsed.count() >= 1)) throw InputError({}, "--budget", fmt::format("'{}' is shorter than a second", values["budget"].as<std::string>()), "a duration such as 15m, 900s or 1h");
  return search;
}

int capacity(const po::variables_map& values) {
  workflow::CapacityRequest request;
  request.lag_bound_seconds = engine_options_of(values, request.engine);
  request.engine.stop = StopOnSignal::stop_flag();
  request.live_metrics = live_metrics_of(values);
  request.search = search_options_of(values);
  request.servers = values["servers"].as<int>();
  request.instances = values["instances"].as<int>();
  request.utilisation = values["utilisation"].as<double>();
  request.risk = percentage_of(values, "risk");
  // Which of SCENARIO, --url and --target go together is the workflow's to check.
  if (values.count("scenario")) request.scenario_file = values["scenario"].as<std::string>();
  if (values.count("target")) request.target_url = values["target"].as<std::string>();
  if (values.count("url")) {
    workflow::AdHocLoad load;
    refuse_line_breaks(values);
    load.url = values["url"].as<std::string>();
    load.method = values["method"].as<std::string>();
    load.body = values.count("body") ? values["body"].as<std::string>() : "";
    load.headers = headers_of(values);
    request.ad_hoc = std::move(load);
  }
  if (values.count("seed")) request.seed = values["seed"].as<std::uint64_t>();
  if (values.count("slo")) request.slo = values["slo"].as<std::vector<std::string>>();
  if (values.count("out")) request.out_folder = values["out"].as<std::string>();
  request.force = values.count("force") > 0;
  request.notice = [](std::string_view text) {
    fmt::print(text.starts_with("warning:") ? stderr : stdout, "uptake capacity: {}\n", text);
    std::fflush(stdout);  // before the progress lines on standard error
  };
  request.on_step = [](const loadgen::CapacityStep& step) {
    fmt::print("{}\n", loadgen::format_step_line(step));
    std::fflush(stdout);
  };

  const auto run = [&] {
    const StopOnSignal stop_on_signal;
    return workflow::run_capacity_workflow(request);
  }();
  fmt::print("{}", reports::render_capacity_text(run.findings));
  if (run.last_trial) {
    print_verdict(*run.last_trial);
    fmt::print("  results in {}/ (summary.json with the capacity block; the run files are the last trial's)\n", run.folder);
    fmt::print("  reports: {} (charts, opens offline) and {}\n", run.reports->html.string(), run.reports->markdown.string());
  }
  return run.exit_code();
}

}  // namespace

std::vector<Command> capacity_commands() {
  return {{"capacity", "Find the highest rate the target carries within its SLO, and when the forecast demand outgrows it",
           "uptake capacity SCENARIO [--target URL] [--slo EXPR]... [--out DIR] [--servers N] [--instances N] [--utilisation F] [--risk PCT]\n"
           "       uptake capacity --url URL [--method M] [--body TEXT] [--header H]... --slo EXPR [--out DIR]\n"
           "  Durations (--step-seconds, --budget, --timeout...) are 500ms, 30s, 5m, 2h, 1d, or a number of seconds. An option of the other form is refused.",
           {"uptake capacity scenarios/ecert-korea.yaml              # the embedded reference service, the scenario's SLO",
            "uptake capacity scenarios/smoke.yaml --slo 'p99<20ms' --slo 'error_rate<0.1%' --out results/smoke-capacity",
            "uptake capacity --url http://127.0.0.1:8080/healthz --slo 'p99<5ms' --start 500",
            "uptake capacity scenarios/ecert-korea.yaml --target http://127.0.0.1:8080 --instances 3 --utilisation 0.7",
            "uptake capacity scenarios/ecert-korea.yaml --risk 5%       # instances that carry each year's peak in 95% of futures",
            "uptake capacity --url http://127.0.0.1:8080/healthz --slo 'p90<20ms' --budget 5m --confidence 0.8   # a quicker, looser search",
            "uptake capacity scenarios/smoke.yaml --step-seconds 10s --timeout 500ms   # longer looks; answers later than 500 ms count as timeouts",
            "uptake capacity scenarios/smoke.yaml --metrics-listen 127.0.0.1:9464   # watch each trial's rate and figures live",
            "uptake capacity --url https://127.0.0.1:8443/healthz --slo 'p99<10ms' --http2 --connections 8 --streams 20   # over HTTP/2"},
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
                 "step-seconds", po::value<std::string>()->default_value("3s"), "how long a step's first look is, such as 3s (longer when the rate brings too few responses to decide)")(
                 "looks", po::value<int>()->default_value(5), "looks per step before it counts as undecided (not passed)")(
                 "confidence", po::value<double>()->default_value(0.9, "0.9"), "of the capacity interval; each step's verdict errs at most half of the rest")(
                 "budget", po::value<std::string>()->default_value("15m"), "trial time after which the search stops (exit 3): 15m, 900s, 1h (a bare number is seconds)")(
                 "servers", po::value<int>()->default_value(0), "the target's servers, for the queueing models (0: estimate from Erlang C)")(
                 "instances", po::value<int>()->default_value(1), "instances deployed today, for the plan")(
                 "utilisation", po::value<double>()->default_value(1.0), "share of its capacity an instance is planned to run at (0 to 1)")(
                 "risk", po::value<std::string>()->default_value("10%"),
                 "the chance a plan accepts that a year's peak outgrows its instances, from the forecast's and the capacity's uncertainty");
             declare_engine_options(options);
             declare_live_metrics_options(options);
             declare_force_option(options);
             declare_ad_hoc_request(options);
             positional.add("scenario", 1);
           },
           capacity}};
}

}  // namespace uptake::cli

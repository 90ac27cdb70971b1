// uptake run: replay a scenario's arrival schedule (or an ad hoc rate) as open-loop traffic.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <thread>

#include "command.hpp"
#include "target_setup.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/engine.hpp"
#include "uptake/reports/gate.hpp"
#include "uptake/reports/replay_text.hpp"
#include "uptake/reports/text_table.hpp"
#include "uptake/sim/replay_override.hpp"
#include "uptake/workflow/run.hpp"

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

// "sleep pacing, 100 µs batches" or "spin pacing": how the sends waited, beside their lag.
std::string pacing_described(const loadgen::RunResult& result) {
  if (result.pacing != loadgen::Pacing::sleep) return fmt::format("{} pacing", to_string(result.pacing));
  return fmt::format("sleep pacing, {} µs batches", result.batch_window.count());
}

void print_summary(const loadgen::RunResult& result, const loadgen::Verdict& verdict, const std::string& folder, const std::optional<sim::ReplayContext>& replay,
                   std::uint32_t shard_count) {
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
  if (replay) fmt::print("  {}.\n", reports::replay_sentence(*replay, shard_count));
  const auto& lag = result.schedule_lag;
  if (lag.total_count()) {
    fmt::print("  schedule lag p50 {:.3f} ms, p99 {:.3f} ms, max {:.3f} ms ({}; busiest generator thread {:.0f}% busy); {} request(s) waited for a connection\n",
               static_cast<double>(lag.value_at_percentile(50)) / 1e6, static_cast<double>(lag.value_at_percentile(99)) / 1e6,
               static_cast<double>(lag.max()) / 1e6, pacing_described(result), result.busiest_thread_fraction * 100, result.waited_for_connection);
  }
  std::string errors;
  for (std::size_t i = 0; i < result.errors.size(); ++i) {
    if (result.errors[i]) errors += fmt::format(" {}={}", loadgen::to_string(static_cast<loadgen::ErrorClass>(i)), result.errors[i]);
  }
  if (!errors.empty()) fmt::print("  errors by class:{}\n", errors);
  if (!errors.empty() && !result.sample_failure.empty()) fmt::print("  first failure: {}\n", result.sample_failure);
  if (const auto& sessions = result.sessions) {
    fmt::print("  sessions: {} started, {} completed, {} abandoned (a step lacked a value its session had not captured), {} unfinished at the end{}\n",
               sessions->started, sessions->completed, sessions->abandoned, sessions->unfinished,
               sessions->not_started ? fmt::format(", {} not started (stopped)", sessions->not_started) : std::string());
  }
  if (verdict.generator_behind) fmt::print("  UNTRUSTED: {}\n", verdict.reason);
  if (!result.aborted_threshold.empty()) {
    fmt::print("  ABORTED at {:.1f} s (--abort-on-fail): {} can no longer hold: {}\n", result.aborted_at_seconds, result.aborted_threshold, result.aborted_reason);
  }
  fmt::print("  results in {}/ (summary.json, latency.hlog, timeseries.csv)\n", folder);
}

// --window, --year, --replay-duration and --scale: the scenario's replay block, overridden. Their
// bounds are the scenario loader's, checked by sim::override_replay once the scenario is loaded.
sim::ReplayOverride replay_override_of(const po::variables_map& values) {
  sim::ReplayOverride replay;
  if (values.count("window")) replay.window = values["window"].as<std::string>();
  if (values.count("year")) replay.year = values["year"].as<int>();
  if (values.count("replay-duration")) replay.duration = duration_of(values, "replay-duration");
  if (values.count("scale")) {
    const auto text = values["scale"].as<std::string>();
    replay.scale = decimal_number(text);
    if (!replay.scale) throw InputError({}, "--scale", fmt::format("'{}' is not a number", text), "a share of the modelled demand above 0, such as 0.02 or 2");
  }
  return replay;
}

int run(const po::variables_map& values) {
  // From the start: a SIGINT while the embedded service starts still ends in partial results.
  const StopOnSignal stop_on_signal;
  workflow::RunRequest request;
  request.lag_bound_seconds = engine_options_of(values, request.engine);
  request.engine.stop = StopOnSignal::stop_flag();
  request.engine.on_progress = print_progress;
  if (values.count("seed")) request.seed = values["seed"].as<std::uint64_t>();
  if (values.count("threshold")) request.thresholds = values["threshold"].as<std::vector<std::string>>();
  if (values.count("shard")) {
    const auto parsed = sim::parse_shard(values["shard"].as<std::string>());
    if (!parsed) throw InputError({}, "--shard", fmt::format("'{}' is not a shard", values["shard"].as<std::string>()), "K/N with 0 <= K < N, such as 0/4");
    request.shard = *parsed;
  }
  if (values.count("scenario")) {
    if (values.count("url")) throw InputError({}, "--url", "is given together with a scenario", "either SCENARIO or --url with --rate");
    request.scenario_file = values["scenario"].as<std::string>();
    if (values.count("target")) request.target_url = values["target"].as<std::string>();
    request.replay = replay_override_of(values);
  } else {
    if (!values.count("url") || !values.count("rate") || !values.count("duration")) {
      throw InputError({}, "SCENARIO", "is missing", "a scenario file, or ad hoc: --url URL --rate RPS|max --duration SECONDS");
    }
    auto& load = request.ad_hoc.emplace();
    refuse_line_breaks(values);
    load.url = values["url"].as<std::string>();
    load.duration = duration_of(values, "duration");
    load.method = values["method"].as<std::string>();
    if (values.count("body")) load.body = values["body"].as<std::string>();
    load.headers = headers_of(values);
    const auto rate = values["rate"].as<std::string>();
    if (rate != "max") {
      // Its range is the workflow's to check.
      const auto rps = decimal_number(rate);
      if (!rps) throw InputError({}, "--rate", fmt::format("'{}' is not a rate", rate), "requests per second above 0, or max");
      load.rate_rps = *rps;
    }
  }
  if (values.count("start-at")) {
    // Its range is the workflow's to check.
    const auto text = values["start-at"].as<std::string>();
    const auto epoch = decimal_number(text);
    if (!epoch) throw InputError({}, "--start-at", fmt::format("'{}' is not a Unix time", text), "seconds since the epoch, such as 1790000000");
    request.start_at = *epoch;
  }
  if (values.count("out")) request.out_folder = values["out"].as<std::string>();
  request.force = values.count("force") > 0;
  request.abort_on_fail = values.count("abort-on-fail") > 0;
  request.abort_grace = duration_of(values, "abort-grace");
  request.live_metrics = live_metrics_of(values);
  request.notice = [](std::string_view text) {
    fmt::print(text.starts_with("warning:") ? stderr : stdout, "uptake run: {}\n", text);
    std::fflush(stdout);  // before the progress lines on standard error
  };

  const auto outcome = workflow::run_workflow(request);
  print_summary(outcome.result, outcome.generator, outcome.folder, outcome.replay, request.shard.count);
  print_verdict(outcome.verdict);
  fmt::print("  reports: {} (charts, opens offline) and {}\n", outcome.reports.html.string(), outcome.reports.markdown.string());
  return outcome.exit_code();
}

}  // namespace

std::vector<Command> run_commands() {
  return {{"run", "Replay a scenario's demand (or an ad hoc rate) as open-loop traffic and measure it",
           "uptake run SCENARIO [--target URL] [--window W] [--year YYYY] [--replay-duration D] [--scale X] [--out DIR] [--seed N] [--shard K/N] [--start-at EPOCH]\n"
           "       uptake run --url URL --rate RPS|max --duration D [--method M] [--body TEXT] [--header H]... [--connections N] [--threads N] [--out DIR]\n"
           "  A duration D is 500ms, 30s, 5m, 2h, 1d, or a number of seconds. An option of the other form is refused.",
           {"uptake run scenarios/ecert-korea.yaml                 # against the embedded reference service",
            "uptake run scenarios/smoke.yaml --target http://127.0.0.1:8080 --out results/smoke",
            "uptake run scenarios/ecert-korea.yaml --replay-duration 5m --scale 0.1   # the peak hour in five minutes, a tenth of it",
            "uptake run scenarios/ecert-korea.yaml --window peak_hour --year 2026    # another year's design peak hour",
            "uptake run scenarios/gov24.yaml --window day:2027-03-31 --replay-duration 10m   # a whole day, compressed",
            "uptake run scenarios/gov24.yaml --window 2027-03-31T09:00..2027-03-31T10:00   # an hour of local time, in real time",
            "uptake run --url http://127.0.0.1:8080/healthz --rate 2000 --duration 30s",
            "uptake run --url http://127.0.0.1:8080/healthz --rate max --connections 50 --duration 10s   # closed-loop ceiling, as wrk",
            "uptake run scenarios/gov24.yaml --shard 0/4 --start-at 1790000000   # one shard of four, aligned start",
            "uptake run --url http://127.0.0.1:8080/healthz --rate 10000 --duration 30s --pacing spin   # sub-100-us pacing, one busy core",
            "uptake run --url https://127.0.0.1:8443/healthz --rate 5000 --duration 30s --http2 --connections 4 --streams 50   # h2 by ALPN",
            "uptake run scenarios/smoke.yaml --target http://127.0.0.1:8080 --http2   # h2c with prior knowledge",
            "uptake run scenarios/smoke.yaml --threshold 'verify.p99<50ms' --threshold 'error_rate<0.1%'   # exit 1 when one fails",
            "uptake run scenarios/ecert-korea.yaml --abort-on-fail   # stop at once when the SLO can no longer hold (exit 1)",
            "uptake run scenarios/gov24.yaml --replay-duration 1h --metrics-listen 127.0.0.1:9464   # scrape live metrics while it runs",
            "uptake run --url https://127.0.0.1:8443/v1/verify --method POST --header 'Content-Type: application/json' --body '{\"credential\":\"x\"}' --rate 500 --duration 20s --timeout 2s"},
           [](po::options_description& options, po::positional_options_description& positional) {
             options.add_options()("scenario", po::value<std::string>(), "scenario file (positional)")(
                 "target", po::value<std::string>(), "base URL of the service under test (default: the embedded reference service)")(
                 "url", po::value<std::string>(), "ad hoc: the URL to load")("rate", po::value<std::string>(), "ad hoc: requests per second, or max (closed loop)")(
                 "duration", po::value<std::string>(), "ad hoc: how long to send, such as 30s or 5m (a bare number is seconds)")(
                 "window", po::value<std::string>(), "scenario: the window of the forecast to replay instead of the file's replay.window: peak_hour, "
                                                     "day:YYYY-MM-DD, or FROM..TO in local time (2027-03-31T09:00..2027-03-31T12:00)")(
                 "year", po::value<int>(), "scenario: the year of a peak_hour window (replay.year)")(
                 "replay-duration", po::value<std::string>(), "scenario: the replay's length, into which the window is compressed (replay.duration), such as 10m")(
                 "scale", po::value<std::string>(), "scenario: the share of the modelled demand to send (replay.scale), such as 0.02")(
                 "out", po::value<std::string>(), "results folder (default: results/NAME-TIME)")("seed", po::value<std::uint64_t>(), "random seed (default: the scenario's)")(
                 "shard", po::value<std::string>(), "K/N: send only shard K of N of the schedule")(
                 "start-at", po::value<std::string>(), "start at this Unix time (aligns shards on many machines)")(
                 "threshold", po::value<std::vector<std::string>>()->composing(), "threshold judged at the end, such as p99<300ms or verify.error_rate<1% (repeatable; added to the scenario's slo)");
             options.add_options()("abort-on-fail", "stop early, with exit 1, once a threshold can no longer hold whatever the rest of the run brings")(
                 "abort-grace", po::value<std::string>()->default_value(fmt::format("{:g}s", workflow::RunRequest{}.abort_grace.count())),
                 "with --abort-on-fail: how long from the start before it judges, such as 5s");
             declare_engine_options(options);
             declare_live_metrics_options(options);
             declare_force_option(options);
             declare_ad_hoc_request(options);
             positional.add("scenario", 1);
           },
           run}};
}

}  // namespace uptake::cli

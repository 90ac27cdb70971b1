#include "target_setup.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>

#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/results.hpp"
#include "uptake/workflow/run.hpp"

namespace uptake::cli {
namespace {

std::atomic<bool> stop_requested{false};
// The first signal asks for a stop: sending stops, requests in flight get a short drain, and the
// partial results are written. A second one means "now": the process ends at once with exit 3
// (a run that cannot be trusted), writing nothing further; every results file is written whole
// by an atomic rename, so none is left half-written.
extern "C" void request_stop(int) {
  if (stop_requested.exchange(true)) {
    static constexpr char kMessage[] = "\nuptake: stopped at once by a second signal; no results were written\n";
    [[maybe_unused]] const auto written = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    ::_exit(3);
  }
  static constexpr char kMessage[] = "\nuptake: stopping: no more requests are sent; the ones in flight get up to 2 s (a second signal ends at once)\n";
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
}

}  // namespace

void declare_ad_hoc_request(po::options_description& options) {
  options.add_options()("method", po::value<std::string>()->default_value("GET"), "ad hoc: HTTP method")(
      "body", po::value<std::string>(), "ad hoc: request body")("header", po::value<std::vector<std::string>>()->composing(), "ad hoc: 'Name: value' (repeatable)");
}

std::vector<std::pair<std::string, std::string>> headers_of(const po::variables_map& values) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (values.count("header")) {
    for (const auto& header : values["header"].as<std::vector<std::string>>()) {
      const auto colon = header.find(':');
      if (colon == std::string::npos || colon == 0) throw InputError({}, "--header", fmt::format("'{}' is not 'Name: value'", header), "a header such as 'Content-Type: application/json'");
      auto value = header.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      headers.emplace_back(header.substr(0, colon), value);
    }
  }
  return headers;
}

void refuse_line_breaks(const po::variables_map& values) {
  const auto check = [](const std::string& option, const std::string& value) {
    if (value.find_first_of("\r\n") != std::string::npos) {
      throw InputError({}, "--" + option, "holds a line break (CR or LF)", "one line: a line break would become a line of the request");
    }
  };
  for (const char* option : {"method", "url"}) {
    if (values.count(option)) check(option, values[option].as<std::string>());
  }
  if (values.count("header")) {
    for (const auto& header : values["header"].as<std::vector<std::string>>()) check("header", header);
  }
}

loadgen::RequestPlan ad_hoc_plan(const po::variables_map& values, const loadgen::Target& target) {
  return loadgen::plan_ad_hoc(target, values["method"].as<std::string>(), values.count("body") ? values["body"].as<std::string>() : "", headers_of(values));
}

void declare_engine_options(po::options_description& options) {
  // The defaults are the workflow's and the engine's own, so that they are written once.
  const auto defaults = workflow::command_engine_defaults();
  const double lag_bound_ms = loadgen::RunContext{}.lag_bound_seconds * 1e3;
  options.add_options()("threads", po::value<unsigned>()->default_value(defaults.threads), "generator threads (one io_context each)")(
      "connections", po::value<unsigned>()->default_value(defaults.connections), "cap on open connections over all threads")(
      "http2", po::bool_switch(), "speak HTTP/2: h2 by ALPN for https:// targets, h2c with prior knowledge for http:// ones (a scenario may say http: 2)")(
      "streams", po::value<unsigned>()->default_value(defaults.streams),
      "with HTTP/2: concurrent requests per connection (fewer when the server's SETTINGS allow fewer); a request waits for a free stream as for a free connection")(
      "warmup", po::value<unsigned>()->default_value(defaults.warmup_requests), "requests per capturing endpoint and thread before the clock starts, to seed captures")(
      "lag-bound", po::value<std::string>()->default_value(fmt::format("{:g}ms", lag_bound_ms)),
      "schedule lag (p99) beyond which a run is untrusted (exit 3), such as 10ms (a bare number is milliseconds)")(
      "connect-timeout", po::value<std::string>()->default_value(fmt::format("{:g}s", defaults.connect_timeout.count())),
      "how long a connection (and TLS handshake) may take before it counts as a connect error, such as 500ms or 5s")(
      "timeout", po::value<std::string>()->default_value(fmt::format("{:g}s", defaults.request_timeout.count())),
      "how long from sending a request to its whole response before it counts as a timeout (and that a request may wait for a free connection), such as 2s")(
      "pacing", po::value<std::string>()->default_value(loadgen::to_string(defaults.pacing)),
      "open loop: 'sleep' until each send time (arrivals within --batch-window share a wake-up), or 'spin' (poll the last 200 us: the least schedule lag, one busy core per thread)")(
      "batch-window", po::value<std::string>()->default_value(fmt::format("{}us", loadgen::kDefaultBatchWindow.count())),
      "with sleep pacing: the arrivals within this of the next one due share its wake-up, such as 1ms; the first of each batch leaves up to this much late (its schedule lag shows it), and a wider window costs less CPU per request at high rates; 0us sends each at its own wake-up (at most 2ms)");
}

double engine_options_of(const po::variables_map& values, loadgen::EngineOptions& engine) {
  engine.threads = values["threads"].as<unsigned>();
  engine.connections = values["connections"].as<unsigned>();
  engine.warmup_requests = values["warmup"].as<unsigned>();
  if (engine.threads == 0 || engine.connections == 0) throw InputError({}, "--threads/--connections", "is 0", "at least 1");
  engine.http2 = values["http2"].as<bool>();
  engine.streams = values["streams"].as<unsigned>();
  if (engine.streams == 0 || engine.streams > loadgen::kMostStreams) {
    throw InputError({}, "--streams", fmt::format("{} is out of range", engine.streams), fmt::format("1 to {} concurrent streams per connection", loadgen::kMostStreams));
  }
  // Over HTTP/1.1 a connection carries one request at a time: --streams would be ignored. A
  // scenario's `http: 2` may still turn HTTP/2 on, so only a run without one is refused.
  if (!values["streams"].defaulted() && !engine.http2 && !values.count("scenario")) {
    throw InputError({}, "--streams", "is given without --http2", "--http2 with it, or leave --streams out (HTTP/1.1 carries one request per connection at a time)");
  }
  if (engine.threads > 256) throw InputError({}, "--threads", fmt::format("{} is too many", engine.threads), "at most 256 (one per core is the useful most)");
  auto seconds_of = [&](const char* name, BareNumber bare, double most, const char* expected) {
    const double value = duration_of(values, name, bare).count();
    if (!(value > 0 && value <= most)) throw InputError({}, fmt::format("--{}", name), fmt::format("{} is out of range", values[name].as<std::string>()), expected);
    return value;
  };
  engine.connect_timeout = Seconds{seconds_of("connect-timeout", BareNumber::seconds, 300, "a duration above 0, at most 300s")};
  engine.request_timeout = Seconds{seconds_of("timeout", BareNumber::seconds, 3600, "a duration above 0, at most 3600s (1h)")};
  const auto pacing_text = values["pacing"].as<std::string>();
  const auto pacing = loadgen::parse_pacing(pacing_text);
  if (!pacing) throw InputError({}, "--pacing", fmt::format("'{}' is not a pacing", pacing_text), "sleep or spin");
  engine.pacing = *pacing;
  const double window = duration_of(values, "batch-window", BareNumber::refused).count();
  if (!(window >= 0 && window <= std::chrono::duration<double>(loadgen::kWidestBatchWindow).count())) {
    throw InputError({}, "--batch-window", fmt::format("{} is out of range", values["batch-window"].as<std::string>()), "a duration from 0 to 2ms, such as 100us or 1ms");
  }
  engine.batch_window = std::chrono::microseconds(std::llround(window * 1e6));
  return seconds_of("lag-bound", BareNumber::milliseconds, 60, "a duration above 0, at most 60s (60000 milliseconds)");
}

void declare_live_metrics_options(po::options_description& options) {
  options.add_options()("metrics-listen", po::value<std::string>(),
                        "serve live metrics (Prometheus text, or OpenMetrics when asked) at http://HOST:PORT/metrics while it runs, such as 127.0.0.1:9464, or 0.0.0.0:9464 for a pod's scraper")(
      "metrics-linger", po::value<std::string>(), "with --metrics-listen: keep serving the final figures this long after the results are written, such as 30s (default 0s)");
}

workflow::LiveMetricsRequest live_metrics_of(const po::variables_map& values) {
  workflow::LiveMetricsRequest request;
  if (values.count("metrics-listen")) request.listen = loadgen::parse_listen_address(values["metrics-listen"].as<std::string>(), "--metrics-listen");
  if (values.count("metrics-linger")) {
    if (!request.listen) throw InputError({}, "--metrics-linger", "is given without --metrics-listen", "--metrics-listen HOST:PORT, or leave --metrics-linger out");
    request.linger = duration_of(values, "metrics-linger", BareNumber::seconds);
    if (!(request.linger.count() >= 0 && request.linger.count() <= 3600)) {
      throw InputError({}, "--metrics-linger", fmt::format("{} is out of range", values["metrics-linger"].as<std::string>()), "a duration from 0s to 1h (3600s)");
    }
  }
  return request;
}

void declare_force_option(po::options_description& options) {
  options.add_options()("force", "write into a results folder that holds another run's files, removing uptake's files there first");
}

StopOnSignal::StopOnSignal() {
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
}

StopOnSignal::~StopOnSignal() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

std::atomic<bool>* StopOnSignal::stop_flag() { return &stop_requested; }

}  // namespace uptake::cli

#include "uptake/loadgen/live_metrics.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace uptake::loadgen {

void LiveFigures::add(const LiveFigures& thread) {
  if (endpoints.empty()) {
    endpoints = thread.endpoints;
    errors = thread.errors;
  } else {
    for (std::size_t e = 0; e < endpoints.size() && e < thread.endpoints.size(); ++e) endpoints[e].add(thread.endpoints[e]);
    for (std::size_t e = 0; e < errors.size() && e < thread.errors.size(); ++e) {
      for (std::size_t c = 0; c < kErrorClassCount; ++c) errors[e][c] += thread.errors[e][c];
    }
  }
  schedule_lag.add(thread.schedule_lag);
  in_flight += thread.in_flight;
  open_connections += thread.open_connections;
  busiest_thread_fraction = std::max(busiest_thread_fraction, thread.busiest_thread_fraction);
  elapsed_seconds = std::max(elapsed_seconds, thread.elapsed_seconds);
}

const char* content_type(MetricsFormat format) {
  return format == MetricsFormat::openmetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8" : "text/plain; version=0.0.4; charset=utf-8";
}

MetricsFormat format_for_accept(std::string_view accept) {
  return accept.find("application/openmetrics-text") != std::string_view::npos ? MetricsFormat::openmetrics : MetricsFormat::prometheus;
}

namespace {

// A label value as both formats write it: backslash, double quote and line feed escaped.
std::string label_value(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// The shortest text that reads back as the same double: "0.0025", not "0.0025000000000000001".
std::string number(double value) { return fmt::format("{}", value); }

class Exposition {
 public:
  explicit Exposition(MetricsFormat format) : format_(format) {}

  // A family's HELP and TYPE lines. Counters: `name` without its _total suffix, which
  // OpenMetrics leaves out of the family's name and Prometheus text keeps.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    const bool counter = type == "counter";
    const auto shown = counter && format_ == MetricsFormat::prometheus ? fmt::format("{}_total", name) : std::string(name);
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", shown, help, shown, type);
  }
  void sample(std::string_view name, std::string_view labels, std::string_view value) {
    out_ += name;
    if (!labels.empty()) out_ += fmt::format("{{{}}}", labels);
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  // One histogram's samples: cumulative buckets in seconds, its count and sum.
  void histogram(std::string_view name, std::string_view labels, const HdrHistogram& histogram) {
    std::array<std::int64_t, kLiveBucketsSeconds.size()> at_or_below{};
    histogram.for_each_recorded_value([&](const RecordedValue& value) {
      for (std::size_t b = 0; b < kLiveBucketsSeconds.size(); ++b) {
        if (static_cast<double>(value.lowest) <= kLiveBucketsSeconds[b] * 1e9) at_or_below[b] += value.count;
      }
    });
    const auto separator = labels.empty() ? "" : ",";
    for (std::size_t b = 0; b < kLiveBucketsSeconds.size(); ++b) {
      sample(fmt::format("{}_bucket", name), fmt::format("{}{}le=\"{}\"", labels, separator, number(kLiveBucketsSeconds[b])), fmt::format("{}", at_or_below[b]));
    }
    const auto count = histogram.total_count();
    sample(fmt::format("{}_bucket", name), fmt::format("{}{}le=\"+Inf\"", labels, separator), fmt::format("{}", count));
    sample(fmt::format("{}_count", name), labels, fmt::format("{}", count));
    sample(fmt::format("{}_sum", name), labels, number(count ? histogram.mean() * static_cast<double>(count) / 1e9 : 0.0));
  }
  std::string finish() {
    if (format_ == MetricsFormat::openmetrics) out_ += "# EOF\n";
    return std::move(out_);
  }

 private:
  MetricsFormat format_;
  std::string out_;
};

std::string endpoint_label(const EndpointResult& endpoint) { return fmt::format("endpoint=\"{}\"", label_value(endpoint.name)); }

}  // namespace

std::string render_metrics(const LiveFigures& figures, const LiveContext& context, MetricsFormat format) {
  Exposition out(format);
  out.family("uptake_run_info", "gauge", "What the run is: its scenario, target, mode and shard (value 1).");
  out.sample("uptake_run_info",
             fmt::format("scenario=\"{}\",target=\"{}\",mode=\"{}\",shard=\"{}\"", label_value(context.scenario), label_value(context.target), label_value(context.mode),
                         label_value(context.shard)),
             "1");
  out.family("uptake_run_elapsed_seconds", "gauge", "Seconds since the run's (or capacity trial's) schedule started.");
  out.sample("uptake_run_elapsed_seconds", "", number(figures.elapsed_seconds));
  out.family("uptake_run_finished", "gauge", "1 once the run has ended and these are its final figures, as its results hold them.");
  out.sample("uptake_run_finished", "", figures.finished ? "1" : "0");

  struct Counter {
    const char* name;
    std::uint64_t RequestCounts::*field;
    const char* help;
  };
  for (const auto& counter : {Counter{"uptake_requests_planned", &RequestCounts::planned, "Requests the schedule planned so far (by intended time)."},
                              Counter{"uptake_requests_sent", &RequestCounts::sent, "Requests a connection took."},
                              Counter{"uptake_requests_completed", &RequestCounts::completed, "Requests answered (any status)."},
                              Counter{"uptake_requests_ok", &RequestCounts::ok, "Requests answered as their flow expects (without checks: below 400)."}}) {
    out.family(counter.name, "counter", counter.help);
    const auto name = fmt::format("{}_total", counter.name);
    for (const auto& endpoint : figures.endpoints) out.sample(name, endpoint_label(endpoint), fmt::format("{}", endpoint.*counter.field));
  }
  out.family("uptake_request_errors", "counter", "Requests that failed, by endpoint and error class (summary.json errors).");
  for (std::size_t e = 0; e < figures.endpoints.size() && e < figures.errors.size(); ++e) {
    for (std::size_t c = 0; c < kErrorClassCount; ++c) {
      out.sample("uptake_request_errors_total", fmt::format("{},class=\"{}\"", endpoint_label(figures.endpoints[e]), to_string(static_cast<ErrorClass>(c))),
                 fmt::format("{}", figures.errors[e][c]));
    }
  }
  out.family("uptake_response_time_seconds", "histogram", "Response time from each request's intended send time (no coordinated omission).");
  for (const auto& endpoint : figures.endpoints) out.histogram("uptake_response_time_seconds", endpoint_label(endpoint), endpoint.response_time);
  out.family("uptake_service_time_seconds", "histogram", "Service time from each request's actual send.");
  for (const auto& endpoint : figures.endpoints) out.histogram("uptake_service_time_seconds", endpoint_label(endpoint), endpoint.service_time);
  out.family("uptake_schedule_lag_seconds", "histogram", "How late the generator sent each request after its intended time.");
  out.histogram("uptake_schedule_lag_seconds", "", figures.schedule_lag);
  out.family("uptake_requests_in_flight", "gauge", "Requests sent and not yet answered, or waiting for a connection.");
  out.sample("uptake_requests_in_flight", "", fmt::format("{}", figures.in_flight));
  out.family("uptake_connections_open", "gauge", "Connections open to the target.");
  out.sample("uptake_connections_open", "", fmt::format("{}", figures.open_connections));
  out.family("uptake_generator_busiest_thread_ratio", "gauge", "CPU share of the busiest generator thread over the last second (near 1: the generator limits the run).");
  out.sample("uptake_generator_busiest_thread_ratio", "", number(figures.busiest_thread_fraction));
  if (context.trial_rate_rps) {
    out.family("uptake_capacity_trial", "gauge", "uptake capacity: the number of the trial under way, from 1.");
    out.sample("uptake_capacity_trial", "", fmt::format("{}", context.trial));
    out.family("uptake_capacity_trial_rate_rps", "gauge", "uptake capacity: the planned rate of the trial under way, requests per second.");
    out.sample("uptake_capacity_trial_rate_rps", "", number(*context.trial_rate_rps));
  }
  return out.finish();
}

}  // namespace uptake::loadgen

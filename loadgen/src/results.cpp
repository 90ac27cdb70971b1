#include "uptake/loadgen/results.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/histogram_log.hpp"
#include "uptake/loadgen/summary.hpp"

namespace uptake::loadgen {
namespace {

double ms(std::int64_t nanoseconds) { return static_cast<double>(nanoseconds) / 1e6; }

}  // namespace

HdrHistogram make_latency_histogram() { return HdrHistogram(1, 3'600'000'000'000LL, 3); }

const char* to_string(ErrorClass error) {
  switch (error) {
    case ErrorClass::connect: return "connect";
    case ErrorClass::timeout: return "timeout";
    case ErrorClass::reset: return "reset";
    case ErrorClass::tls: return "tls";
    case ErrorClass::protocol: return "protocol";
    case ErrorClass::http_4xx: return "http_4xx";
    case ErrorClass::http_5xx: return "http_5xx";
    case ErrorClass::missing_capture: return "missing_capture";
    case ErrorClass::wait_timeout: return "wait_timeout";
    case ErrorClass::check_failed: return "check_failed";
    case ErrorClass::unsafe_value: return "unsafe_value";
    case ErrorClass::redirect: return "redirect";
    case ErrorClass::stream_reset: return "stream_reset";
    case ErrorClass::goaway: return "goaway";
    case ErrorClass::flow_control: return "flow_control";
    case ErrorClass::count: break;
  }
  return "?";
}

const char* to_string(Pacing pacing) { return pacing == Pacing::spin ? "spin" : "sleep"; }

std::optional<Pacing> parse_pacing(std::string_view text) {
  for (const auto pacing : {Pacing::sleep, Pacing::spin}) {
    if (text == to_string(pacing)) return pacing;
  }
  return std::nullopt;
}

std::size_t achieved_window_seconds(double schedule_seconds, double duration_seconds) {
  if (schedule_seconds > 0) return static_cast<std::size_t>(std::max(1.0, std::floor(schedule_seconds)));
  return static_cast<std::size_t>(std::ceil(std::max(duration_seconds, 0.0))) + 1;  // a closed loop: every second of it
}

RequestCounts counts_in_window(const std::vector<Interval>& seconds, std::size_t window) {
  RequestCounts counts;
  for (std::size_t second = 0; second < std::min(window, seconds.size()); ++second) counts += seconds[second];
  return counts;
}

double achieved_ratio(std::uint64_t completed_in_window, std::uint64_t planned) {
  return planned ? static_cast<double>(completed_in_window) / static_cast<double>(planned) : 0.0;
}

double error_rate(std::uint64_t ok, std::uint64_t errors) {
  const auto attempts = ok + errors;
  return attempts ? static_cast<double>(errors) / static_cast<double>(attempts) : 0.0;
}

void EndpointResult::add(const EndpointResult& other) {
  *this += other;
  tampered += other.tampered;
  revoked += other.revoked;
  redirects += other.redirects;
  response_time.add(other.response_time);
  service_time.add(other.service_time);
  server_time.add(other.server_time);
}

EndpointResult RunResult::total() const {
  EndpointResult total;
  total.name = "total";
  for (const auto& endpoint : endpoints) total.add(endpoint);
  return total;
}

Verdict judge_generator(const RunResult& result, const RunContext& context) {
  Verdict verdict;
  if (result.closed_loop || result.schedule_lag.total_count() == 0) return verdict;
  const double lag_p99 = static_cast<double>(result.schedule_lag.value_at_percentile(99)) / 1e9;
  if (lag_p99 > context.lag_bound_seconds) {
    verdict.generator_behind = true;
    verdict.reason = fmt::format("the generator fell behind its schedule: schedule lag p99 {:.3f} ms exceeds the bound of {:.3f} ms "
                                 "(too few threads, or the machine is saturated); the latencies measure the generator, not the target",
                                 lag_p99 * 1e3, context.lag_bound_seconds * 1e3);
  } else if (result.pacing == Pacing::sleep && result.busiest_thread_fraction > kSaturatedThreadFraction) {
    // A sleeping pacer that never sleeps has no slack left: the next burst of the schedule, or
    // any more work per request, makes it late, so its lag so far proves nothing. (A spinning
    // pacer is busy by design.)
    verdict.generator_behind = true;
    verdict.reason = fmt::format("the generator is saturated: its busiest thread was busy {:.0f}% of the run (above {:.0f}%), so it could not "
                                 "keep to a busier schedule; use more --threads",
                                 result.busiest_thread_fraction * 100, kSaturatedThreadFraction * 100);
  }
  return verdict;
}

namespace {

// RFC 4180: a name holding a comma, a quote or a line break is quoted, its quotes doubled.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

std::string timeseries_csv(const RunResult& result) {
  std::string out = "second,endpoint,planned,sent,completed,errors,p50_ms,p90_ms,p99_ms,max_ms\n";
  auto rows = [&](const std::vector<Interval>& series, std::size_t second, const std::string& name) {
    const Interval empty;
    const auto& interval = second < series.size() ? series[second] : empty;
    std::string percentiles = ",,,";
    if (!interval.response_time.empty()) {
      const auto histogram = decode_compressed(interval.response_time);
      percentiles = fmt::format("{:.3f},{:.3f},{:.3f},{:.3f}", ms(histogram.value_at_percentile(50)), ms(histogram.value_at_percentile(90)),
                                ms(histogram.value_at_percentile(99)), ms(histogram.max()));
    }
    out += fmt::format("{},{},{},{},{},{},{}\n", second, csv_field(name), interval.planned, interval.sent, interval.completed, interval.errors, percentiles);
  };
  for (std::size_t second = 0; second < result.intervals.size(); ++second) {
    rows(result.intervals, second, "total");
    for (std::size_t e = 0; e < result.endpoint_intervals.size() && e < result.endpoints.size(); ++e) {
      rows(result.endpoint_intervals[e], second, result.endpoints[e].name);
    }
  }
  return out;
}

std::string endpoint_tag(std::string_view prefix, std::string_view endpoint) {
  std::string tag(prefix);
  for (const char c : endpoint) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == ',' || c == '%' || byte <= ' ' || byte == 0x7f) tag += fmt::format("%{:02X}", byte);
    else tag += c;
  }
  return tag;
}

std::optional<std::string> endpoint_of_tag(std::string_view tag, std::string_view prefix) {
  if (tag.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string endpoint;
  for (std::size_t i = prefix.size(); i < tag.size(); ++i) {
    if (tag[i] != '%') {
      endpoint += tag[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= tag.size()) return std::nullopt;  // '%' needs two hex digits after it
    const auto [end, error] = std::from_chars(tag.data() + i + 1, tag.data() + i + 3, value, 16);
    if (error != std::errc{} || end != tag.data() + i + 3) return std::nullopt;
    endpoint += static_cast<char>(value);
    i += 2;
  }
  if (endpoint.empty()) return std::nullopt;
  return endpoint;
}

std::string latency_log(const RunResult& result) {
  HistogramLogWriter writer(std::chrono::duration<double>(result.started_at.time_since_epoch()).count());
  // Whole-run intervals first, so interval starts never go back in time.
  const double whole_run = std::max(result.duration_seconds, 0.0);
  for (const auto& endpoint : result.endpoints) {
    if (endpoint.service_time.total_count()) writer.add_interval(0.0, whole_run, endpoint.service_time, endpoint_tag(kServiceTimeTagPrefix, endpoint.name));
  }
  if (result.schedule_lag.total_count()) writer.add_interval(0.0, whole_run, result.schedule_lag, kScheduleLagTag);
  for (std::size_t i = 0; i < result.intervals.size(); ++i) {
    if (!result.intervals[i].response_time.empty()) {
      writer.add_interval(static_cast<double>(i), 1.0, decode_compressed(result.intervals[i].response_time));
    }
    for (std::size_t e = 0; e < result.endpoint_intervals.size() && e < result.endpoints.size(); ++e) {
      const auto& series = result.endpoint_intervals[e];
      if (i >= series.size() || series[i].response_time.empty()) continue;
      writer.add_interval(static_cast<double>(i), 1.0, decode_compressed(series[i].response_time),
                          endpoint_tag(kResponseTimeTagPrefix, result.endpoints[e].name));
    }
  }
  return writer.text();
}

namespace {

// Whether a file of a results folder's name carries the mark uptake writes into that kind of
// file, within its first few kilobytes.
bool written_by_uptake(const std::filesystem::path& file) {
  const auto name = file.filename().string();
  const char* mark = name == kSummaryFile          ? "\"uptake.summary/v"
                     : name == kForecastFile       ? "\"uptake.forecast/v"
                     : name == kTimeSeriesFile     ? "second,endpoint,planned,sent,completed,errors"
                     : name == kLatencyLogFile     ? "#[Logged with uptake]"
                     : name == kJunitFile          ? "<testsuites name=\"uptake gate\""
                     : name == kHtmlReportFile     ? "<title>uptake report: "
                     : name == kMarkdownReportFile ? " uptake run of "
                                                   : nullptr;
  if (!mark) return false;
  std::ifstream in(file, std::ios::binary);
  std::string head(8192, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return head.find(mark) != std::string::npos;
}

}  // namespace

void claim_results_folder(const std::string& folder, const char* field, bool force) {
  namespace fs = std::filesystem;
  std::error_code error;
  auto path = fs::absolute(folder, error);
  if (error) throw InputError({}, field, fmt::format("'{}' is not a usable path ({})", folder, error.message()), "a folder uptake may create or write in");
  if (fs::exists(path, error) && !fs::is_directory(path, error)) {
    throw InputError({}, field, fmt::format("'{}' cannot hold the results: it is not a folder", folder), "a folder uptake may create or write in");
  }
  if (fs::is_directory(path, error)) {
    std::vector<std::string> found;
    for (const char* name : kResultFiles) {
      if (fs::exists(path / name, error)) found.emplace_back(name);
    }
    if (!found.empty() && !force) {
      throw InputError({}, field, fmt::format("'{}' already holds the results of another run ({})", folder, fmt::join(found, ", ")),
                       "a new or empty folder, or --force to remove uptake's files there first");
    }
    // --force removes what uptake wrote, and nothing that only shares a name with it (a
    // project's own junit.xml or report.md, with --out .).
    for (const auto& name : found) {
      if (!written_by_uptake(path / name)) {
        throw InputError({(path / name).string(), 0, 0}, field, "was not written by uptake, so --force does not remove it",
                         "a folder without it, or remove it yourself");
      }
    }
    for (const auto& name : found) {
      if (!fs::remove(path / name, error) || error) {
        throw InputError({(path / name).string(), 0, 0}, field, "cannot be removed: " + error.message(), "a results folder uptake may write in");
      }
    }
  }
  // The folder itself when it exists, else the nearest ancestor that does: that is where the
  // results (or the folders leading to them) will be created.
  while (!fs::exists(path, error) && path.has_parent_path() && path != path.parent_path()) path = path.parent_path();
  if (!fs::is_directory(path, error)) {
    throw InputError({}, field, fmt::format("'{}' cannot hold the results: {} is not a folder", folder, path.string()), "a folder uptake may create or write in");
  }
  if (::access(path.c_str(), W_OK | X_OK) != 0) {
    throw InputError({}, field, fmt::format("'{}' cannot be written: {} is not writable", folder, path.string()), "a folder uptake may create or write in");
  }
}

void write_results(const std::string& folder, const RunResult& result, const RunContext& context, const Verdict& verdict) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) throw InputError({folder, 0, 0}, "", "cannot be made as the results folder: " + error.message(), "a folder uptake may create and write in");
  const std::filesystem::path at(folder);
  write_summary_file(at / kSummaryFile, make_summary(result, context, verdict));
  write_file_atomically((at / kTimeSeriesFile).string(), timeseries_csv(result));
  write_file_atomically((at / kLatencyLogFile).string(), latency_log(result));
}

}  // namespace uptake::loadgen

#include "uptake/reports/results_dir.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "uptake/base/csv.hpp"
#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/histogram_log.hpp"
#include "uptake/loadgen/results.hpp"
#include "uptake/loadgen/run_result.hpp"

namespace uptake::reports {
namespace {

using nlohmann::ordered_json;

constexpr const char* kTimeSeriesHeader = "second,endpoint,planned,sent,completed,errors,p50_ms,p90_ms,p99_ms,max_ms";
constexpr const char* kFolderExpected = "a results folder written by uptake run or uptake merge (summary.json, timeseries.csv, latency.hlog)";

// ---- timeseries.csv ----

template <class Number>
std::optional<Number> parse_number(std::string_view text) {
  Number value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  if constexpr (std::is_floating_point_v<Number>) {
    if (!std::isfinite(value) || value < 0) return std::nullopt;
  }
  return value;
}

// `last_second`: the latest second a row may have, from summary.json's durations.
std::vector<TimeSeriesRow> read_timeseries(const std::filesystem::path& folder, const std::vector<std::string>& endpoints, std::int64_t last_second) {
  const auto file = folder / "timeseries.csv";
  const auto text = read_whole_file(file.string(), kFolderExpected);
  if (text.empty() || text.back() != '\n') {
    throw InputError({file.string(), 0, 0}, "", "does not end with a line break: it was cut short", "whole lines, each ending with a line break");
  }
  const auto table = parse_csv(text, file.string());
  static constexpr const char* kColumns[] = {"second", "endpoint", "planned", "sent", "completed", "errors", "p50_ms", "p90_ms", "p99_ms", "max_ms"};
  if (!std::equal(table.columns.begin(), table.columns.end(), std::begin(kColumns), std::end(kColumns))) {
    throw InputError({file.string(), 1, 1}, "", "does not have the columns of a time series", fmt::format("the header '{}'", kTimeSeriesHeader));
  }
  std::vector<TimeSeriesRow> rows;
  for (std::size_t r = 0; r < table.rows(); ++r) {
    auto fail = [&](std::size_t column, const char* expected) -> InputError {
      return InputError({file.string(), table.row_lines[r], 0}, kColumns[column], fmt::format("is '{}'", table.at(r, column)), expected);
    };
    TimeSeriesRow row;
    const auto second = parse_number<std::int64_t>(table.at(r, 0));
    if (!second || *second < 0) throw fail(0, "seconds since started_at, 0 or more");
    if (*second > last_second) throw fail(0, fmt::format("seconds since started_at, at most {} (summary.json's duration_s and schedule_s)", last_second).c_str());
    row.second = *second;
    row.endpoint = std::string(table.at(r, 1));
    if (row.endpoint != "total" && std::find(endpoints.begin(), endpoints.end(), row.endpoint) == endpoints.end()) {
      throw fail(1, "total or an endpoint of summary.json");
    }
    std::uint64_t* counters[] = {&row.planned, &row.sent, &row.completed, &row.errors};
    for (std::size_t c = 0; c < 4; ++c) {
      const auto value = parse_number<std::uint64_t>(table.at(r, 2 + c));
      if (!value) throw fail(2 + c, "a whole number, 0 or more");
      *counters[c] = *value;
    }
    std::optional<double>* percentiles[] = {&row.p50_ms, &row.p90_ms, &row.p99_ms, &row.max_ms};
    for (std::size_t c = 0; c < 4; ++c) {
      if (table.at(r, 6 + c).empty()) continue;
      *percentiles[c] = parse_number<double>(table.at(r, 6 + c));
      if (!*percentiles[c]) throw fail(6 + c, "milliseconds, or empty when nothing completed in that second");
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// The rows of each series must add up to the summary's counters: a file cut at a line break
// still parses, but no longer adds up.
void check_timeseries_totals(const RunResults& results) {
  std::map<std::string, RunResults::Counters> sums;
  for (const auto& row : results.timeseries) {
    sums[row.endpoint] += row;
  }
  std::vector<std::string> series = results.endpoint_names();
  series.insert(series.begin(), "total");
  for (const auto& name : series) {
    const auto expected = results.counters_of(name);
    const auto& sum = sums[name];
    const std::pair<const char*, std::pair<std::uint64_t, std::uint64_t>> checks[] = {{"planned", {sum.planned, expected.planned}},
                                                                                     {"sent", {sum.sent, expected.sent}},
                                                                                     {"completed", {sum.completed, expected.completed}},
                                                                                     {"errors", {sum.errors, expected.errors}}};
    for (const auto& [column, values] : checks) {
      if (values.first == values.second) continue;
      throw InputError({(results.folder / "timeseries.csv").string(), 0, 0}, column,
                       fmt::format("the '{}' rows add up to {}, but summary.json says {}", name, values.first, values.second),
                       "the timeseries.csv written with that summary.json, whole (is it cut short?)");
    }
  }
}

// ---- latency.hlog ----

void read_latency_log(RunResults& results) {
  const auto file = (results.folder / "latency.hlog").string();
  require_regular_file(file, kFolderExpected);
  const auto endpoints = results.endpoint_names();
  auto known = [&](const std::optional<std::string>& endpoint) {
    return endpoint && std::find(endpoints.begin(), endpoints.end(), *endpoint) != endpoints.end();
  };
  // Scanned, not read whole: one decoded histogram at a time, however long the run.
  const auto log = loadgen::scan_histogram_log_file(file, [&](loadgen::LogInterval&& interval) {
    const auto second = std::llround(interval.start);
    if (interval.tag.empty()) {
      results.response_time.at("total").add(interval.histogram);
      RunResults::add_compressed(results.response_time_by_second["total"][second], interval.histogram);
    } else if (const auto endpoint = loadgen::endpoint_of_tag(interval.tag, loadgen::kResponseTimeTagPrefix); known(endpoint)) {
      results.response_time.at(*endpoint).add(interval.histogram);
      RunResults::add_compressed(results.response_time_by_second[*endpoint][second], interval.histogram);
    } else if (const auto of_service = loadgen::endpoint_of_tag(interval.tag, loadgen::kServiceTimeTagPrefix); known(of_service)) {
      results.service_time.at(*of_service).add(interval.histogram);
      results.service_time.at("total").add(interval.histogram);
    } else if (interval.tag == loadgen::kScheduleLagTag) {
      results.schedule_lag.add(interval.histogram);
    } else {
      throw InputError({file, interval.line, 1}, "Tag", fmt::format("'{}' names no endpoint of summary.json", interval.tag),
                       fmt::format("untagged, {}<endpoint>, {}<endpoint> or {}", loadgen::kResponseTimeTagPrefix, loadgen::kServiceTimeTagPrefix,
                                   loadgen::kScheduleLagTag));
    }
  });
  const double started_at = results.summary.started_at;
  if (!log.start_time || std::abs(*log.start_time - started_at) > 0.001) {
    throw InputError({file, 0, 0}, "StartTime", log.start_time ? fmt::format("is {:.3f}, but summary.json's started_at is {:.3f}", *log.start_time, started_at) : "is missing",
                     "the latency.hlog written with that summary.json");
  }
  // The log's counts must be the summary's: a log cut at a line break still parses.
  std::vector<std::string> series = endpoints;
  series.insert(series.begin(), "total");
  for (const auto& name : series) {
    const auto completed = static_cast<std::int64_t>(results.counters_of(name).completed);
    const std::pair<const char*, std::int64_t> counts[] = {{"response time", results.response_time.at(name).total_count()},
                                                           {"service time", results.service_time.at(name).total_count()}};
    for (const auto& [what, count] : counts) {
      if (count == completed) continue;
      throw InputError({file, 0, 0}, "", fmt::format("holds {} {} values for '{}', but summary.json says {} responses completed", count, what, name, completed),
                       "the latency.hlog written with that summary.json, whole (is it cut short?)");
    }
  }
}

}  // namespace

loadgen::HdrHistogram RunResults::empty_histogram() { return loadgen::make_latency_histogram(); }

void RunResults::add_compressed(std::string& slot, const loadgen::HdrHistogram& histogram) {
  if (slot.empty()) {
    slot = loadgen::encode_compressed(histogram, 1);
    return;
  }
  auto sum = loadgen::decode_compressed(slot);
  sum.add(histogram);
  slot = loadgen::encode_compressed(sum, 1);
}

std::vector<std::string> RunResults::endpoint_names() const {
  std::vector<std::string> names;
  for (const auto& endpoint : summary.endpoints) names.push_back(endpoint.name);
  return names;
}

RunResults::Counters RunResults::counters_of(const std::string& series) const {
  Counters counters;
  if (series == "total") {
    static_cast<loadgen::RequestCounts&>(counters) = summary.requests;
    counters.achieved_rps = summary.rate.achieved_rps;
  } else {
    const auto* endpoint = summary.endpoint(series);
    if (!endpoint) throw std::out_of_range("no endpoint '" + series + "' in the summary");
    static_cast<loadgen::RequestCounts&>(counters) = endpoint->requests;
    counters.tampered = endpoint->negative.tampered;
    counters.revoked = endpoint->negative.revoked;
    counters.redirects = endpoint->redirects;
    counters.achieved_rps = endpoint->achieved_rps;
  }
  if (const auto it = completed_in_window.find(series); it != completed_in_window.end()) counters.completed_in_window = it->second;
  return counters;
}

const loadgen::HdrHistogram& RunResults::response_time_of(const std::string& series) const { return response_time.at(series); }
const loadgen::HdrHistogram& RunResults::service_time_of(const std::string& series) const { return service_time.at(series); }

namespace {

// ---- forecast.json (optional) ----

std::optional<ordered_json> read_forecast(const std::filesystem::path& folder) {
  const auto file = folder / "forecast.json";
  std::error_code error;
  if (!std::filesystem::exists(file, error)) return std::nullopt;
  auto forecast = loadgen::read_json_file(file, "the JSON document uptake forecast --format json writes");
  if (!forecast.is_object()) throw InputError({file.string(), 0, 0}, "", "is not a JSON object", "the forecast object uptake forecast --format json writes");
  const auto schema = forecast.find("schema");
  if (schema == forecast.end() || *schema != "uptake.forecast/v1") {
    throw InputError({file.string(), 0, 0}, "schema", schema == forecast.end() ? "is missing" : fmt::format("is {}, which this uptake does not read", schema->dump()),
                     "\"uptake.forecast/v1\"");
  }
  const auto found_series = forecast.find("series");
  if (found_series == forecast.end() || !found_series->is_array()) {
    throw InputError({file.string(), 0, 0}, "series", found_series == forecast.end() ? "is missing" : fmt::format("is {}", found_series->dump()), "an array");
  }
  const auto& series = *found_series;
  for (std::size_t s = 0; s < series.size(); ++s) {
    const auto at = fmt::format("series[{}]", s);
    if (!series[s].is_object() || !series[s].contains("years") || !series[s]["years"].is_array()) {
      throw InputError({file.string(), 0, 0}, at + ".years", "is missing or not an array", "the years of the series");
    }
    for (std::size_t y = 0; y < series[s]["years"].size(); ++y) {
      const auto& year = series[s]["years"][y];
      for (const char* key : {"year", "model", "measured", "lower", "upper"}) {
        const bool required = std::string_view(key) == "year" || std::string_view(key) == "model";
        const bool fits = year.is_object() && year.contains(key) ? year[key].is_number() || (!required && year[key].is_null()) : !required && year.is_object();
        if (!fits) throw InputError({file.string(), 0, 0}, fmt::format("{}.years[{}].{}", at, y, key), "is missing or not a number", "a number");
      }
    }
  }
  return forecast;
}

}  // namespace

RunResults read_results(const std::filesystem::path& folder) {
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error)) throw InputError({folder.string(), 0, 0}, "", "is not a folder", kFolderExpected);
  RunResults results;
  results.folder = folder;
  results.summary = loadgen::read_summary_file(folder / loadgen::kSummaryFile);
  const auto endpoints = results.endpoint_names();
  results.response_time.emplace("total", RunResults::empty_histogram());
  results.service_time.emplace("total", RunResults::empty_histogram());
  for (const auto& name : endpoints) {
    results.response_time.emplace(name, RunResults::empty_histogram());
    results.service_time.emplace(name, RunResults::empty_histogram());
  }
  // A row may fall in the second after the last whole one (a response completing at its end).
  const double longest = std::max(results.summary.duration_s, results.summary.schedule_s);
  const auto last_second = static_cast<std::int64_t>(std::ceil(std::clamp(longest, 0.0, 1e9))) + 1;
  results.timeseries = read_timeseries(folder, endpoints, last_second);
  const auto window = loadgen::achieved_window_seconds(results.summary.schedule_s, results.summary.duration_s);
  for (const auto& row : results.timeseries) {
    if (static_cast<std::size_t>(row.second) < window) results.completed_in_window[row.endpoint] += row.completed;
  }
  check_timeseries_totals(results);
  read_latency_log(results);
  results.forecast = read_forecast(folder);
  return results;
}

}  // namespace uptake::reports

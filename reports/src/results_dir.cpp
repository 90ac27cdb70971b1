#include "uptake/reports/results_dir.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "uptake/base/csv.hpp"
#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/histogram_log.hpp"
#include "uptake/loadgen/results.hpp"
#include "uptake/loadgen/run_result.hpp"

namespace uptake::reports {
namespace {

using nlohmann::ordered_json;

constexpr const char* kSchema = "uptake.summary/v1";
constexpr const char* kTimeSeriesHeader = "second,endpoint,planned,sent,completed,errors,p50_ms,p90_ms,p99_ms,max_ms";
constexpr const char* kFolderExpected = "a results folder written by uptake run or uptake merge (summary.json, timeseries.csv, latency.hlog)";

std::string read_whole(const std::filesystem::path& file) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error)) throw InputError({file.string(), 0, 0}, "", "is missing", kFolderExpected);
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError({file.string(), 0, 0}, "", "cannot be opened", "a readable file");
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError({file.string(), 0, 0}, "", "could not be read to the end");
  return text.str();
}

InputLocation location_of_offset(const std::filesystem::path& file, const std::string& text, std::size_t offset) {
  int line = 1;
  int column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {file.string(), line, column};
}

// A whole JSON file; InputError at the line and column where it stops being JSON.
ordered_json read_json(const std::filesystem::path& file, const char* expected) {
  const auto text = read_whole(file);
  try {
    return ordered_json::parse(text);
  } catch (const ordered_json::parse_error& error) {
    throw InputError(location_of_offset(file, text, error.byte > 0 ? error.byte - 1 : 0), "",
                     fmt::format("is not valid JSON (cut short, or damaged): {}", error.what()), expected);
  }
}

// ---- summary.json ----

enum class Kind { object, array, string, boolean, number, count };

const char* describe(Kind kind) {
  switch (kind) {
    case Kind::object: return "an object";
    case Kind::array: return "an array";
    case Kind::string: return "a string";
    case Kind::boolean: return "true or false";
    case Kind::number: return "a number";
    case Kind::count: return "a whole number, 0 or more";
  }
  return "?";
}

bool is(const ordered_json& value, Kind kind) {
  switch (kind) {
    case Kind::object: return value.is_object();
    case Kind::array: return value.is_array();
    case Kind::string: return value.is_string();
    case Kind::boolean: return value.is_boolean();
    case Kind::number: return value.is_number();
    case Kind::count: return value.is_number_unsigned() || (value.is_number_integer() && value.get<std::int64_t>() >= 0);
  }
  return false;
}

class SummaryChecker {
 public:
  SummaryChecker(const std::filesystem::path& file, const ordered_json& root) : file_(file), root_(root) {}

  // `keys` lead from the root to the field; endpoint names may hold dots, so they are separate.
  const ordered_json& require(const std::vector<std::string>& keys, Kind kind) const {
    const ordered_json* at = &root_;
    std::string path;
    for (const auto& key : keys) {
      path += (path.empty() ? "" : ".") + key;
      if (!at->is_object() || !at->contains(key)) throw InputError({file_.string(), 0, 0}, path, "is missing", describe(kind));
      at = &(*at)[key];
    }
    if (!is(*at, kind)) throw InputError({file_.string(), 0, 0}, path, fmt::format("is {}", at->dump()), describe(kind));
    return *at;
  }

 private:
  const std::filesystem::path& file_;
  const ordered_json& root_;
};

ordered_json read_summary(const std::filesystem::path& folder) {
  const auto file = folder / "summary.json";
  auto summary = read_json(file, "the JSON document uptake run writes");
  const SummaryChecker check(file, summary);
  if (!summary.is_object()) throw InputError({file.string(), 0, 0}, "", "is not a JSON object", "the summary object uptake run writes");
  const auto& schema = check.require({"schema"}, Kind::string);
  if (schema != kSchema) {
    throw InputError({file.string(), 0, 0}, "schema", fmt::format("is {}, which this uptake does not read", schema.dump()), fmt::format("\"{}\"", kSchema));
  }
  check.require({"scenario"}, Kind::string);
  check.require({"target"}, Kind::string);
  check.require({"mode"}, Kind::string);
  check.require({"seed"}, Kind::count);
  check.require({"shard_count"}, Kind::count);
  check.require({"started_at"}, Kind::number);
  check.require({"started_at_ns"}, Kind::count);
  check.require({"duration_s"}, Kind::number);
  check.require({"schedule_s"}, Kind::number);
  check.require({"interrupted"}, Kind::boolean);
  for (const char* counter : {"planned", "sent", "completed", "ok", "errors"}) check.require({"requests", counter}, Kind::count);
  check.require({"rate", "achieved_rps"}, Kind::number);
  check.require({"errors"}, Kind::object);
  check.require({"generator", "trusted"}, Kind::boolean);
  check.require({"generator", "lag_bound_ms"}, Kind::number);
  if (summary["generator"].contains("pacing")) {  // absent from summaries written before --pacing
    const auto& pacing = check.require({"generator", "pacing"}, Kind::string);
    if (!loadgen::parse_pacing(pacing.get<std::string>())) {
      throw InputError({file.string(), 0, 0}, "generator.pacing", fmt::format("is {}", pacing.dump()), "\"sleep\" or \"spin\"");
    }
  }
  for (const auto& expression : check.require({"slo"}, Kind::array)) {
    if (!expression.is_string()) throw InputError({file.string(), 0, 0}, "slo", fmt::format("holds {}", expression.dump()), "threshold expressions as strings");
  }
  check.require({"thresholds"}, Kind::array);
  // A run whose schedule came due for nothing has no endpoints block at all.
  if (summary.contains("endpoints")) {
    for (const auto& [name, endpoint] : check.require({"endpoints"}, Kind::object).items()) {
      for (const char* counter : {"planned", "sent", "completed", "ok", "errors"}) check.require({"endpoints", name, "requests", counter}, Kind::count);
      check.require({"endpoints", name, "achieved_rps"}, Kind::number);
    }
  }
  return summary;
}

// ---- timeseries.csv ----

template <class Number>
std::optional<Number> parse_number(const std::string& text) {
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
  const auto text = read_whole(file);
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
    row.endpoint = table.at(r, 1);
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
  if (!std::filesystem::is_regular_file(results.folder / "latency.hlog")) throw InputError({file, 0, 0}, "", "is missing", kFolderExpected);
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
  const double started_at = results.summary["started_at"].get<double>();
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
  if (const auto it = summary.find("endpoints"); it != summary.end()) {
    for (const auto& [name, endpoint] : it->items()) names.push_back(name);
  }
  return names;
}

std::int64_t RunResults::started_at_ns() const { return summary.at("started_at_ns").get<std::int64_t>(); }

RunResults::Counters RunResults::counters_of(const std::string& series) const {
  const auto& block = series == "total" ? summary : summary.at("endpoints").at(series);
  const auto& requests = block.at("requests");
  Counters counters;
  counters.planned = requests.at("planned").get<std::uint64_t>();
  counters.sent = requests.at("sent").get<std::uint64_t>();
  counters.completed = requests.at("completed").get<std::uint64_t>();
  counters.ok = requests.at("ok").get<std::uint64_t>();
  counters.errors = requests.at("errors").get<std::uint64_t>();
  if (series != "total" && block.contains("negative") && block["negative"].is_object()) {
    counters.tampered = block["negative"].value("tampered", std::uint64_t{0});
    counters.revoked = block["negative"].value("revoked", std::uint64_t{0});
  }
  counters.achieved_rps = series == "total" ? summary.at("rate").at("achieved_rps").get<double>() : block.at("achieved_rps").get<double>();
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
  auto forecast = read_json(file, "the JSON document uptake forecast --format json writes");
  if (!forecast.is_object()) throw InputError({file.string(), 0, 0}, "", "is not a JSON object", "the forecast object uptake forecast --format json writes");
  const SummaryChecker check(file, forecast);
  const auto& schema = check.require({"schema"}, Kind::string);
  if (schema != "uptake.forecast/v1") {
    throw InputError({file.string(), 0, 0}, "schema", fmt::format("is {}, which this uptake does not read", schema.dump()), "\"uptake.forecast/v1\"");
  }
  const auto& series = check.require({"series"}, Kind::array);
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
  results.summary = read_summary(folder);
  const auto endpoints = results.endpoint_names();
  results.response_time.emplace("total", RunResults::empty_histogram());
  results.service_time.emplace("total", RunResults::empty_histogram());
  for (const auto& name : endpoints) {
    results.response_time.emplace(name, RunResults::empty_histogram());
    results.service_time.emplace(name, RunResults::empty_histogram());
  }
  // A row may fall in the second after the last whole one (a response completing at its end).
  const double longest = std::max(results.summary["duration_s"].get<double>(), results.summary.value("schedule_s", 0.0));
  const auto last_second = static_cast<std::int64_t>(std::ceil(std::clamp(longest, 0.0, 1e9))) + 1;
  results.timeseries = read_timeseries(folder, endpoints, last_second);
  const auto window = loadgen::achieved_window_seconds(results.summary.value("schedule_s", 0.0), results.summary["duration_s"].get<double>());
  for (const auto& row : results.timeseries) {
    if (static_cast<std::size_t>(row.second) < window) results.completed_in_window[row.endpoint] += row.completed;
  }
  check_timeseries_totals(results);
  read_latency_log(results);
  results.forecast = read_forecast(folder);
  return results;
}

void set_summary_field(const std::string& folder, const std::string& key, nlohmann::ordered_json value) {
  const auto file = std::filesystem::path(folder) / "summary.json";
  auto summary = read_json(file, "the summary.json of a results folder");
  if (!summary.is_object()) throw InputError({file.string(), 0, 0}, "", "is not a JSON object", "the summary.json of a results folder");
  summary[key] = std::move(value);
  write_file_atomically(file.string(), summary.dump(2) + "\n");
}

}  // namespace uptake::reports

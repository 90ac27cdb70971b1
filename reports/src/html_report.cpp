#include "uptake/reports/html_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "report_assets.hpp"
#include "run_overview.hpp"
#include "uptake/base/civil_time.hpp"
#include "uptake/reports/replay_text.hpp"
#include "uptake/reports/text_table.hpp"
#include "uptake/sim/threshold.hpp"

namespace uptake::reports {
namespace {

using nlohmann::ordered_json;

// A JSON text that is safe inside <script type="application/json">: '<', '>' and '&' occur only
// inside strings, where their \u escapes mean the same to JSON.parse, and without them no
// "</script>" or "<!--" can appear.
std::string json_for_script(const ordered_json& json) {
  const auto text = json.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (const char c : text) {
    switch (c) {
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default: out += c;
    }
  }
  return out;
}

// Inlined library text must not close its element early: "</script" (or "</style") becomes
// "<\/script", which means the same inside the JavaScript strings and regular expressions
// (and CSS strings) where such text can occur.
std::string inline_text(std::string_view text, std::string_view element) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<' && i + 1 + element.size() < text.size() && text[i + 1] == '/') {
      bool closes = true;
      for (std::size_t k = 0; k < element.size(); ++k) {
        if (std::tolower(static_cast<unsigned char>(text[i + 2 + k])) != element[k]) closes = false;
      }
      if (closes) {
        out += "<\\/";
        ++i;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

ordered_json number_or_null(std::optional<double> value) {
  return value && std::isfinite(*value) ? ordered_json(*value) : ordered_json(nullptr);
}

struct Page {
  ordered_json charts = ordered_json::array();
  std::string figures;

  void add(ordered_json chart, const std::string& note = {}) {
    figures += fmt::format("<figure class=\"chart\" id=\"chart-{0}\" data-chart=\"{0}\" data-points=\"0\"><figcaption>{1}</figcaption>{2}<div class=\"plot\"></div></figure>\n",
                           escape_html(chart["id"].get<std::string>()), escape_html(chart["title"].get<std::string>()),
                           note.empty() ? std::string() : "<p class=\"note\">" + escape_html(note) + "</p>");
    charts.push_back(std::move(chart));
  }
};

ordered_json series_of(const std::string& label, ordered_json values, const std::string& style = "line", int color = -1) {
  ordered_json series{{"label", label}, {"values", std::move(values)}, {"style", style}};
  if (color >= 0) series["color"] = color;
  return series;
}

// Chart ids become element ids: keep letters and digits, so any endpoint name gives a valid id.
std::string id_part(const std::string& name, std::size_t index) {
  std::string id;
  for (const unsigned char c : name) id += std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '-';
  return fmt::format("{}-{}", id.substr(0, 40), index);
}

void add_demand_charts(Page& page, const ordered_json& forecast) {
  if (!forecast.contains("series") || !forecast["series"].is_array()) return;
  const double level = forecast.value("interval_level", 0.9);
  std::size_t index = 0;
  for (const auto& series : forecast["series"]) {
    ordered_json years = ordered_json::array(), measured = ordered_json::array(), model = ordered_json::array(),
                 upper = ordered_json::array(), lower = ordered_json::array();
    const auto value = [](const ordered_json& year, const char* key) {
      return year.contains(key) && year[key].is_number() ? ordered_json(year[key].get<double>()) : ordered_json(nullptr);
    };
    for (const auto& year : series.value("years", ordered_json::array())) {
      if (!year.contains("year") || !year["year"].is_number()) continue;
      years.push_back(year["year"]);
      measured.push_back(value(year, "measured"));
      model.push_back(value(year, "model"));
      upper.push_back(value(year, "upper"));
      lower.push_back(value(year, "lower"));
    }
    if (years.empty()) continue;
    const auto name = series.value("name", std::string("demand"));
    const auto unit = series.value("unit", std::string());
    const auto model_name = series.value("model", std::string("model"));
    const auto interval = fmt::format("{:.0f}% interval", level * 100);
    // The candidates the projection averages, each its own curve; one alone is the projection.
    std::vector<ordered_json> candidates;
    for (const auto& candidate : series.value("candidates", ordered_json::array())) {
      const double weight = candidate.contains("weight") && candidate["weight"].is_number() ? candidate["weight"].get<double>() : 0.0;
      if (weight > 0 && candidate.contains("volumes") && candidate["volumes"].is_array() && candidate["volumes"].size() == years.size()) {
        candidates.push_back(series_of(fmt::format("{} (weight {:.2f})", candidate.value("model", std::string("model")), weight),
                                       candidate["volumes"], "dashed", 2 + static_cast<int>(candidates.size())));
      }
    }
    const bool averaged = candidates.size() > 1;
    // The year `uptake run` replays, marked on the projection.
    ordered_json replayed = ordered_json::array();
    const int replayed_year = forecast.contains("replayed_year") && forecast["replayed_year"].is_number() ? forecast["replayed_year"].get<int>() : 0;
    for (std::size_t y = 0; y < years.size(); ++y) {
      replayed.push_back(years[y].get<int>() == replayed_year ? model[y] : ordered_json(nullptr));
    }
    ordered_json chart{{"id", "demand-" + id_part(name, index++)},
                       {"kind", "years"},
                       {"title", fmt::format("Demand: {}{}", name, unit.empty() ? "" : " (" + unit + " per year)")},
                       {"x_label", "year"},
                       {"y_label", "per year"},
                       {"x", years},
                       {"series", {series_of("measured", measured, "points", 0),
                                   series_of(averaged ? "averaged projection" : model_name + " fit and projection", model, "line", 1),
                                   series_of(interval + " (upper)", upper, "dashed", 1), series_of(interval + " (lower)", lower, "dashed", 1)}},
                       {"band", {2, 3}}};
    if (averaged) {
      for (auto& candidate : candidates) chart["series"].push_back(std::move(candidate));
    }
    if (replayed_year > 0) chart["series"].push_back(series_of(fmt::format("replayed ({})", replayed_year), replayed, "points", 6));
    const bool has_interval = std::any_of(upper.begin(), upper.end(), [](const ordered_json& bound) { return bound.is_number(); });
    auto note = series.value("reason", std::string());
    const auto interval_note = series.contains("interval_note") && series["interval_note"].is_string()
                                   ? series["interval_note"].get<std::string>()
                                   : std::string("no prediction interval: the model fits the history exactly");
    if (!has_interval) note += (note.empty() ? "" : "; ") + interval_note;
    page.add(std::move(chart), note);
  }
}

// Rows of timeseries.csv by series ("total", endpoints) and second, over the run's seconds.
struct SecondsGrid {
  std::int64_t first = 0, last = -1;
  std::map<std::string, std::map<std::int64_t, const TimeSeriesRow*>> rows;

  explicit SecondsGrid(const std::vector<TimeSeriesRow>& timeseries) {
    for (const auto& row : timeseries) {
      if (last < first) first = last = row.second;
      first = std::min(first, row.second);
      last = std::max(last, row.second);
      rows[row.endpoint][row.second] = &row;
    }
  }
  ordered_json seconds() const {
    auto x = ordered_json::array();
    for (auto second = first; second <= last; ++second) x.push_back(second);
    return x;
  }
  template <typename Read>
  ordered_json column(const std::string& series, Read read) const {
    auto values = ordered_json::array();
    const auto found = rows.find(series);
    for (auto second = first; second <= last; ++second) {
      const TimeSeriesRow* row = nullptr;
      if (found != rows.end()) {
        const auto at = found->second.find(second);
        if (at != found->second.end()) row = at->second;
      }
      values.push_back(row ? read(*row) : ordered_json(nullptr));
    }
    return values;
  }
};

// The series the per-second charts show: the run as a whole, then each endpoint when there are
// several (with one endpoint, its rows are the total's).
std::vector<std::string> series_names(const RunResults& results) {
  std::vector<std::string> names{"total"};
  const auto endpoints = results.endpoint_names();
  if (endpoints.size() > 1) names.insert(names.end(), endpoints.begin(), endpoints.end());
  return names;
}

void add_time_charts(Page& page, const RunResults& results) {
  const SecondsGrid grid(results.timeseries);
  if (grid.last < grid.first) return;
  const auto count = [](std::uint64_t TimeSeriesRow::*field) { return [field](const TimeSeriesRow& row) { return ordered_json(row.*field); }; };
  const auto milliseconds = [](std::optional<double> TimeSeriesRow::*field) { return [field](const TimeSeriesRow& row) { return number_or_null(row.*field); }; };

  page.add({{"id", "rate"}, {"kind", "seconds"}, {"title", "Requests per second: planned against achieved"},
            {"x_label", "time since start"}, {"y_label", "requests per second"}, {"x", grid.seconds()},
            {"series", {series_of("planned", grid.column("total", count(&TimeSeriesRow::planned)), "line", 0),
                        series_of("sent", grid.column("total", count(&TimeSeriesRow::sent)), "dashed", 4),
                        series_of("completed (achieved)", grid.column("total", count(&TimeSeriesRow::completed)), "line", 1)}}},
           "Planned by intended send time; sent and completed as they happened.");

  const auto names = series_names(results);
  const auto endpoints = results.endpoint_names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& name = names[i];
    const auto shown = name == "total" && endpoints.size() == 1 ? endpoints.front() : name == "total" ? std::string("all endpoints") : name;
    page.add({{"id", "latency-" + id_part(name, i)}, {"kind", "seconds"}, {"title", "Response time per second: " + shown},
              {"x_label", "time since start"}, {"y_label", "milliseconds"}, {"x", grid.seconds()},
              {"series", {series_of("p50", grid.column(name, milliseconds(&TimeSeriesRow::p50_ms)), "line", 0),
                          series_of("p90", grid.column(name, milliseconds(&TimeSeriesRow::p90_ms)), "line", 1),
                          series_of("p99", grid.column(name, milliseconds(&TimeSeriesRow::p99_ms)), "line", 2)}}},
             "Of the responses completed in each second, measured from the intended send time.");
  }

  ordered_json errors = ordered_json::array();
  for (std::size_t i = 0; i < names.size(); ++i) {
    errors.push_back(series_of(names[i] == "total" ? "all endpoints" : names[i], grid.column(names[i], count(&TimeSeriesRow::errors)), "line",
                               names[i] == "total" ? 2 : static_cast<int>(i + 2)));
  }
  page.add({{"id", "errors"}, {"kind", "seconds"}, {"title", "Errors per second"}, {"x_label", "time since start"}, {"y_label", "errors per second"},
            {"x", grid.seconds()}, {"series", errors}},
           "Failures of any class, 4xx and 5xx answers included, by completion time.");
}

void add_distribution_chart(Page& page, const RunResults& results) {
  struct Line {
    std::string label;
    const loadgen::HdrHistogram* histogram;
    std::string style;
  };
  std::vector<Line> lines{{"response time", &results.response_time_of("total"), "line"}, {"service time", &results.service_time_of("total"), "dashed"}};
  const auto endpoints = results.endpoint_names();
  if (endpoints.size() > 1) {
    for (const auto& endpoint : endpoints) lines.push_back({"response time: " + endpoint, &results.response_time_of(endpoint), "line"});
  }
  std::int64_t most = 0;
  for (const auto& line : lines) most = std::max(most, line.histogram->total_count());
  if (most == 0) return;
  // Ten levels a decade of 1/(1-q), up to the level the count still resolves (q = 1 - 1/count).
  std::vector<double> levels;
  for (int step = 0; std::pow(10.0, step / 10.0) <= static_cast<double>(most) * (1 + 1e-9); ++step) levels.push_back(std::pow(10.0, step / 10.0));
  ordered_json series = ordered_json::array();
  int color = 0;
  for (const auto& line : lines) {
    auto values = ordered_json::array();
    for (const double level : levels) {
      const auto count = static_cast<double>(line.histogram->total_count());
      if (count == 0 || level > count * (1 + 1e-9)) values.push_back(nullptr);
      else values.push_back(static_cast<double>(line.histogram->value_at_percentile(100.0 * (1.0 - 1.0 / level))) / 1e6);
    }
    series.push_back(series_of(line.label, std::move(values), line.style, color++));
  }
  page.add({{"id", "distribution"}, {"kind", "percentiles"}, {"title", "Latency by percentile, whole run"}, {"x_label", "percentile"},
            {"y_label", "milliseconds"}, {"x", levels}, {"series", series}},
           "Response time from the intended send time; service time from the actual send. The axis stretches the tail, as HdrHistogram's plots do.");
}

void add_capacity_chart(Page& page, const loadgen::Summary& summary) {
  if (!summary.capacity) return;
  const ordered_json::json_pointer steps_at("/steps");
  const auto& capacity = *summary.capacity;
  if (!capacity.contains(steps_at) || !capacity.at(steps_at).is_array()) return;
  // A search tries rates out of order (it grows, then bisects) and tries one rate more than once
  // (its looks, each pooled with the ones before): the curve runs through the last trial at each
  // rate, the one that decided it, in rising order of rate, and the earlier looks at a rate are
  // points of their own beside it (a rate's x repeats for them), so that one can see a verdict
  // settle.
  struct Trial {
    double rate = 0;
    ordered_json achieved, p50, p99;
  };
  std::vector<Trial> trials;
  for (const auto& step : capacity.at(steps_at)) {
    if (!step.is_object()) continue;
    const auto offered_rps = number_at(step, "/offered_rps");
    if (!offered_rps) continue;
    auto step_p99 = number_at(step, "/p99_ms");
    if (!step_p99) step_p99 = number_at(step, "/latency_ms/p99");
    trials.push_back({*offered_rps, number_or_null(number_at(step, "/achieved_rps")), number_or_null(number_at(step, "/p50_ms")), number_or_null(step_p99)});
  }
  std::stable_sort(trials.begin(), trials.end(), [](const Trial& a, const Trial& b) { return a.rate < b.rate; });
  auto offered = ordered_json::array(), achieved = ordered_json::array(), p50 = ordered_json::array(), p99 = ordered_json::array(),
       earlier = ordered_json::array();
  for (std::size_t i = 0; i < trials.size(); ++i) {
    const bool deciding = i + 1 == trials.size() || trials[i + 1].rate != trials[i].rate;
    offered.push_back(trials[i].rate);
    achieved.push_back(deciding ? trials[i].achieved : ordered_json(nullptr));
    p50.push_back(deciding ? trials[i].p50 : ordered_json(nullptr));
    p99.push_back(deciding ? trials[i].p99 : ordered_json(nullptr));
    earlier.push_back(deciding ? ordered_json(nullptr) : trials[i].p99);
  }
  if (offered.empty()) return;
  auto p50_series = series_of("p50 response time", p50, "line_points", 1);
  auto p99_series = series_of("p99 response time", p99, "line_points", 2);
  auto earlier_series = series_of("p99, earlier looks", earlier, "points", 2);
  p50_series["axis"] = p99_series["axis"] = earlier_series["axis"] = "y2";
  auto achieved_series = series_of("achieved", achieved, "line_points", 0);
  // The curves run across the earlier looks' x, where they have no value of their own.
  achieved_series["span_gaps"] = p50_series["span_gaps"] = p99_series["span_gaps"] = true;
  auto series = ordered_json::array({series_of("offered", offered, "dashed", 9), achieved_series, p50_series, p99_series});
  if (std::any_of(earlier.begin(), earlier.end(), [](const ordered_json& value) { return !value.is_null(); })) series.push_back(earlier_series);
  // The SLO's whole-run latency bound (the first), as a level on the milliseconds axis: where
  // a percentile's line crosses it is where the steps start to fail.
  std::string bound_text;
  if (capacity.contains("slo") && capacity["slo"].is_array()) {
    for (const auto& text : capacity["slo"]) {
      std::string problem;
      const auto threshold = text.is_string() ? sim::parse_threshold(text.get<std::string>(), problem) : std::nullopt;
      if (!threshold || !threshold->endpoint.empty() || threshold->metric != sim::ThresholdMetric::latency_percentile) continue;
      auto level = series_of(threshold->text + " (bound)", ordered_json(std::vector<double>(offered.size(), threshold->bound * 1e3)), "dashed", 3);
      level["axis"] = "y2";
      series.push_back(level);
      bound_text = " The dashed level is " + threshold->text + "'s bound.";
      break;
    }
  }
  const auto overview = capacity_overview_of(summary);
  page.add({{"id", "capacity"}, {"kind", "rate"}, {"title", "Capacity: offered against achieved rate"}, {"x_label", "offered rate"},
            {"y_label", "requests per second"}, {"y2_label", "milliseconds"}, {"x", offered}, {"series", series}},
           (overview ? "Capacity " + overview->headline + ". " : std::string()) +
               "Each step offers a fixed open-loop rate (its looks pooled into one point); capacity is where achieved falls behind offered or a "
               "percentile breaks its bound." + bound_text + " Requests per second on the left axis, milliseconds on the right; errors per "
               "trial are in the capacity table above.");
}

// What report.js needs to label the per-second charts' time axis in the modelled local time and
// to shade the events: replay seconds (the charts' x, from the schedule's start) mapped onto the
// scenario's clock.
ordered_json replay_island(const sim::ReplayContext& replay) {
  const double compression = replay.compression();
  ordered_json changes = ordered_json::array();
  double offset = replay.utc_offset_seconds;
  for (const auto& change : replay.clock_changes) {
    changes.push_back({{"at_s", replay.replay_seconds_of(change.at)}, {"shift_s", change.utc_offset_seconds - offset}});
    offset = change.utc_offset_seconds;
  }
  ordered_json events = ordered_json::array();
  for (const auto& event : replay.events) {
    events.push_back({{"name", fmt::format("{} ×{:g}", event.name, event.multiplier)},
                      {"from_s", replay.replay_seconds_of(event.from)},
                      {"to_s", replay.replay_seconds_of(event.to)}});
  }
  return {{"local_origin_s", replay.from + replay.utc_offset_seconds},
          {"compression", compression},
          {"window_s", replay.window_seconds()},
          {"clock_changes", std::move(changes)},
          {"time_zone", time_zone_text(replay)},
          {"events", std::move(events)}};
}

std::string replay_header(const RunResults& results) {
  const auto& summary = results.summary;
  if (!summary.replay) return "";
  const auto& replay = *summary.replay;
  std::string html = "<p class=\"replay\" id=\"replay\">" + escape_html(replay_sentence(replay, summary.shard_index ? summary.shard_count : 1)) + ".</p>\n";
  if (const auto events = replay_events_text(replay); !events.empty()) {
    html += "<p class=\"meta\" id=\"replay-events\">Events in the window (shaded on the per-second charts): " + escape_html(events) + "</p>\n";
  }
  return html;
}

std::string count_text(std::uint64_t value) { return group_thousands(static_cast<double>(value)); }
std::string rate_text(double value) { return readable_number(value) + "/s"; }

std::string row(std::initializer_list<std::string> cells, bool first_is_text = true) {
  std::string out = "<tr>";
  bool first = true;
  for (const auto& cell : cells) {
    out += first && first_is_text ? "<th scope=\"row\">" + cell + "</th>" : "<td>" + cell + "</td>";
    first = false;
  }
  return out + "</tr>\n";
}

std::string summary_section(const RunResults& results, const RunOverview& overview) {
  const auto& summary = results.summary;
  std::string html = "<section id=\"summary\"><h2>Summary</h2>\n<div class=\"columns\">\n<table><tbody>\n";
  html += row({"requests planned", count_text(summary.requests.planned)});
  html += row({"sent", count_text(summary.requests.sent)});
  html += row({"completed", count_text(summary.requests.completed)});
  html += row({"ok", count_text(summary.requests.ok)});
  html += row({"errors", count_text(summary.requests.errors)});
  html += row({"error rate", fmt::format("{:.3f}%", summary.error_rate * 100)});
  html += "</tbody></table>\n<table><tbody>\n";
  html += row({"planned rate", rate_text(summary.rate.planned_rps)});
  html += row({"achieved rate", rate_text(summary.rate.achieved_rps)});
  html += row({"achieved / planned", fmt::format("{:.1f}%", summary.rate.achieved_ratio * 100)});
  html += row({"duration", fmt::format("{:.1f} s", summary.duration_s)});
  html += row({"connections opened", count_text(summary.connections.opened)});
  html += row({"requests that waited", count_text(summary.connections.requests_that_waited)});
  html += "</tbody></table>\n<table><tbody>\n";
  std::string errors;
  for (const auto& [error_class, count] : overview.errors_by_class) errors += row({escape_html(error_class), group_thousands(static_cast<double>(count))});
  html += errors.empty() ? row({"errors by class", "none"}) : "<tr><th colspan=\"2\">errors by class</th></tr>\n" + errors;
  html += "</tbody></table>\n</div>\n";

  html += "<h3>Latency (ms)</h3>\n<table><thead><tr><th></th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr></thead><tbody>\n";
  const auto latency_row = [&](const std::string& label, const loadgen::LatencySummary& block) {
    std::string out = "<tr><th scope=\"row\">" + escape_html(label) + "</th>";
    for (const auto& value : {block.p50, block.p90, block.p95, block.p99, block.p999, block.max, block.mean}) {
      out += "<td>" + (value ? fmt::format("{:.3f}", *value) : std::string("—")) + "</td>";
    }
    return out + "</tr>\n";
  };
  html += latency_row("response time (from intended send)", summary.latency_ms);
  html += latency_row("service time (from actual send)", summary.service_time_ms);
  html += latency_row("schedule lag", summary.schedule_lag_ms);
  html += "</tbody></table>\n";

  const auto endpoints = results.endpoint_names();
  if (!endpoints.empty()) {
    html += "<h3>Endpoints</h3>\n<table><thead><tr><th>endpoint</th><th>planned</th><th>completed</th><th>errors</th><th>achieved</th>"
            "<th>p50 ms</th><th>p90 ms</th><th>p95 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th></tr></thead><tbody>\n";
    for (const auto& endpoint : endpoints) {
      const auto counters = results.counters_of(endpoint);
      const auto& histogram = results.response_time_of(endpoint);
      const auto at = [&](double percentile) {
        return histogram.total_count() ? fmt::format("{:.3f}", static_cast<double>(histogram.value_at_percentile(percentile)) / 1e6) : std::string("—");
      };
      html += "<tr><td class=\"text\">" + escape_html(endpoint) + "</td><td>" + group_thousands(static_cast<double>(counters.planned)) + "</td><td>" +
              group_thousands(static_cast<double>(counters.completed)) + "</td><td>" + group_thousands(static_cast<double>(counters.errors)) + "</td><td>" +
              readable_number(counters.achieved_rps) + "/s</td><td>" + at(50) + "</td><td>" + at(90) + "</td><td>" + at(95) + "</td><td>" + at(99) + "</td><td>" + at(99.9) +
              "</td><td>" + at(100) + "</td></tr>\n";
    }
    html += "</tbody></table>\n";
  }
  return html + "</section>\n";
}

std::string thresholds_section(const RunOverview& overview) {
  std::string html = "<section id=\"thresholds\"><h2>SLO verdicts</h2>\n";
  if (overview.thresholds.empty()) return html + "<p>no thresholds</p>\n</section>\n";
  html += "<table><thead><tr><th>threshold</th><th>observed</th><th>verdict</th><th>why</th></tr></thead><tbody>\n";
  for (const auto& threshold : overview.thresholds) {
    const auto* verdict = threshold.passed ? "<td class=\"pass\">✔ pass</td>" : "<td class=\"fail\">✘ fail</td>";
    html += "<tr><td class=\"text\">" + escape_html(threshold.text) + "</td><td>" + escape_html(threshold.observed) + "</td>" + verdict +
            "<td class=\"text\">" + escape_html(threshold.message) + "</td></tr>\n";
  }
  return html + "</tbody></table>\n</section>\n";
}

std::string capacity_section(const loadgen::Summary& summary) {
  const auto capacity = capacity_overview_of(summary);
  if (!capacity) return "";
  const auto table = [](const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
    std::string html = "<table><thead><tr>";
    for (const auto& header : headers) html += "<th>" + escape_html(header) + "</th>";
    html += "</tr></thead><tbody>\n";
    for (const auto& cells : rows) {
      html += "<tr>";
      for (std::size_t i = 0; i < cells.size(); ++i) html += (i == 0 ? "<td class=\"text\">" : "<td>") + escape_html(cells[i]) + "</td>";
      html += "</tr>\n";
    }
    return html + "</tbody></table>\n";
  };
  std::string html = "<section id=\"capacity-summary\"><h2>Capacity</h2>\n<p><strong>" + escape_html(capacity->headline) + "</strong></p>\n";
  if (!capacity->explanation.empty()) html += "<p>" + escape_html(capacity->explanation) + "</p>\n";
  if (!capacity->models.empty()) {
    html += "<h3>Queueing models beside the measurement</h3>\n<p>" + escape_html(capacity->models_note) + "</p>\n";
    html += table({"", "capacity", "objective at the measured rate"}, capacity->models);
  }
  if (!capacity->plan.empty()) {
    html += "<h3>Plan against the forecast</h3>\n";
    html += table({"year", "design peak", "capacity", "headroom", "instances needed"}, capacity->plan);
    html += "<p>Demand exceeds capacity: <strong>" + escape_html(capacity->exhaustion) + "</strong> (the point forecast against the capacity's estimate)</p>\n";
    if (!capacity->exhaustion_quantiles.empty()) {
      html += "<p>With the forecast's and the capacity's uncertainty: <strong>" + escape_html(capacity->exhaustion_quantiles) + "</strong></p>\n";
    }
  }
  if (!capacity->steps.empty()) {
    html += "<h3>Every trial of the search</h3>\n";
    html += table(kCapacityStepColumns, capacity->steps);
  }
  return html + "</section>\n";
}

}  // namespace

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_html_report(const RunResults& results) {
  const auto& summary = results.summary;
  const auto overview = overview_of(results);
  const auto name = run_name(results);

  Page page;
  if (results.forecast) add_demand_charts(page, *results.forecast);
  add_time_charts(page, results);
  add_distribution_chart(page, results);
  add_capacity_chart(page, summary);

  std::string meta = "target " + summary.target;
  if (!summary.mode.empty()) meta += " · " + summary.mode;
  meta += " · started " + format_date_time(started_at_of(summary)) + " UTC";
  meta += fmt::format(" · seed {}", summary.seed);
  if (!summary.shard.empty()) meta += " · shard " + summary.shard;
  if (!summary.scenario_file.empty()) meta += " · " + summary.scenario_file;
  const char* outcome_class = overview.outcome == RunOutcome::pass ? "pass" : overview.outcome == RunOutcome::fail ? "fail" : "untrusted";

  std::string html;
  html.reserve(uplot_script().size() + report_script().size() + 64 * 1024);
  html += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"color-scheme\" content=\"light dark\">\n";
  html += "<title>uptake report: " + escape_html(name) + "</title>\n";
  html += fmt::format("<style>\n/* uPlot {} (MIT licence, copyright Leon Sorokin) */\n{}\n</style>\n", uplot_version(), inline_text(uplot_style(), "style"));
  html += "<style>\n" + inline_text(report_style(), "style") + "</style>\n</head>\n<body>\n";
  // A capacity search leads with its answer; the run the rest of the page shows is only its
  // last trial, and its verdict says so.
  const bool capacity = summary.capacity.has_value();
  html += "<header>\n<h1>uptake " + std::string(capacity ? "capacity" : "report") + ": " + escape_html(name) + "</h1>\n<p class=\"meta\">" + escape_html(meta) + "</p>\n";
  html += replay_header(results);
  if (capacity) html += capacity_section(summary);
  html += fmt::format("<div class=\"verdict {}\" id=\"verdict\">{}{}</div>\n", outcome_class, capacity ? "The last trial: " : "", escape_html(overview.verdict));
  html += fmt::format("<p class=\"meta\">Generator: <span class=\"{}\">{}</span></p>\n</header>\n<main>\n",
                      overview.generator_trusted ? "pass" : "untrusted", escape_html((overview.generator_trusted ? "trusted: " : "not trusted: ") + overview.generator_note));
  html += summary_section(results, overview);
  html += thresholds_section(overview);
  html += "<section id=\"charts\"><h2>Charts</h2>\n<noscript><p>The charts need JavaScript.</p></noscript>\n";
  if (summary.replay) {
    html += "<p class=\"axis-choice\"><label><input type=\"checkbox\" id=\"local-time-axis\"> label the per-second charts' time axis in the modelled local time (" +
            escape_html(time_zone_text(*summary.replay)) + ")</label></p>\n";
  }
  html += "<div class=\"charts\">\n" + page.figures + "</div>\n</section>\n";
  html += "</main>\n<footer>Written by uptake from " + escape_html(results.folder.string()) +
          fmt::format(". Charts drawn with uPlot {} (MIT licence, copyright Leon Sorokin, https://github.com/leeoniya/uPlot), embedded in this file.</footer>\n", uplot_version());
  ordered_json island{{"charts", page.charts}};
  if (summary.replay) island["replay"] = replay_island(*summary.replay);
  html += "<script type=\"application/json\" id=\"report-data\">" + json_for_script(island) + "</script>\n";
  html += fmt::format("<script>\n/*! uPlot {} | MIT licence | copyright (c) Leon Sorokin | https://github.com/leeoniya/uPlot */\n{}\n</script>\n", uplot_version(),
                      inline_text(uplot_script(), "script"));
  html += "<script>\n" + inline_text(report_script(), "script") + "</script>\n</body>\n</html>\n";
  return html;
}

}  // namespace uptake::reports

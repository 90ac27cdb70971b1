#include "uptake/reports/forecast_report.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "uptake/reports/text_table.hpp"
#include "uptake/sim/planning.hpp"

namespace uptake::reports {
namespace {

using Align = TextTable::Align;

std::string local_time(const sim::Forecast& forecast, sim::Instant instant) {
  const auto& zone = forecast.scenario->calendar.time_zone;
  const std::chrono::sys_seconds local{std::chrono::seconds{std::llround(zone.to_local(instant))}};
  return format_date_time(local).substr(0, 16);
}

std::string parameters_text(const sim::GrowthFit& fit) {
  std::string text;
  for (const auto& parameter : fit.parameters) {
    if (!text.empty()) text += ", ";
    text += fmt::format("{} = {:.5g}", parameter.name, parameter.value);
  }
  if (fit.kind == sim::GrowthModelKind::bass) text += fmt::format(", launch = {:.2f}", fit.launch);
  return text;
}

// " (K = 80,000,000, the market size)", " (K in 50,000,000 – 200,000,000, shown at its centre)"
std::string held_note(const sim::Series& series) {
  std::string note;
  for (const auto& [name, range] : series.ranges) {
    note += fmt::format("{}{} assumed in {} – {}", note.empty() ? "" : "; ", name, readable_number(range.low), readable_number(range.high));
    note += range.likely ? fmt::format(", most likely {}", readable_number(*range.likely)) : ", shown at its centre";
  }
  if (series.market_size && !series.ranges.count("K")) note += std::string(note.empty() ? "" : "; ") + "K held at the market size";
  return note.empty() ? "" : " (" + note + ")";
}

// A candidate's own curve over the projection's years, as the averaged projection counts them.
std::vector<double> candidate_volumes(const sim::GrowthFit& candidate, const std::vector<sim::YearProjection>& years) {
  std::vector<double> volumes;
  for (const auto& year : years) volumes.push_back(candidate.yearly_volume(year.year));
  return volumes;
}

// The year whose demand `uptake run` replays: the peak hour's year, or the year the replayed
// day or interval starts in (local time).
int replayed_year(const sim::Scenario& scenario) {
  if (scenario.replay.window == sim::ReplayWindowKind::peak_hour) return scenario.replay.year;
  const double start = static_cast<double>(scenario.replay.from.time_since_epoch().count());
  const std::chrono::sys_seconds local{std::chrono::seconds{std::llround(scenario.calendar.time_zone.to_local(start))}};
  return static_cast<int>(std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(local)}.year());
}

}  // namespace

std::string render_forecast_text(const sim::Forecast& forecast) {
  const auto& scenario = *forecast.scenario;
  std::string out = fmt::format("Forecast of {} ({})\n", scenario.name, scenario.file);
  const int level = static_cast<int>(std::lround(scenario.growth.interval_level * 100));
  for (const auto& series : forecast.series) {
    const auto& fit = series.choice.chosen;
    out += fmt::format("\nSeries {}{}\n", series.series->name, series.series->unit.empty() ? "" : " — " + series.series->unit);
    const auto weighted = std::count_if(series.choice.weights.begin(), series.choice.weights.end(), [](double w) { return w > 0; });
    out += fmt::format("  model       {}: {}\n", weighted > 1 ? "averaged" : to_string(fit.kind), series.choice.reason);
    out += fmt::format("  parameters  {}{}{}\n", weighted > 1 ? "heaviest, " + to_string(fit.kind) + ": " : "", parameters_text(fit),
                       held_note(*series.series));
    out += fmt::format("  fit         n = {}, free parameters = {}, log RMSE = {:.4f}, MAPE = {:.2f}%, R² (log) = {}, AICc = {}\n",
                       fit.observations, fit.free_parameters, fit.log_rmse, fit.mape * 100,
                       std::isfinite(fit.r_squared) ? fmt::format("{:.4f}", fit.r_squared) : "—",
                       fit.aicc ? fmt::format("{:.2f}", *fit.aicc) : "— (too few observations)");
    if (series.choice.candidates.size() > 1) {
      TextTable candidates({"candidate", "free params", "log RMSE", "AICc", "weight"}, {Align::left});
      for (std::size_t i = 0; i < series.choice.candidates.size(); ++i) {
        const auto& candidate = series.choice.candidates[i];
        candidates.add_row({to_string(candidate.kind), std::to_string(candidate.free_parameters), fmt::format("{:.4f}", candidate.log_rmse),
                            candidate.aicc ? fmt::format("{:.2f}", *candidate.aicc) : "—", fmt::format("{:.2f}", series.choice.weights[i])});
      }
      out += "\n" + candidates.render(2);
    }
    TextTable years({"year", "measured", "model", fmt::format("{}% interval", level), "growth"}, {Align::left});
    double previous = NAN;
    for (const auto& year : series.projection) {
      const auto measured = series.series->measured_volume(year.year);
      const double volume = measured.value_or(year.volume);
      const std::string interval = measured ? "" : year.lower ? fmt::format("{} – {}", group_thousands(*year.lower), group_thousands(*year.upper)) : "—";
      years.add_row({std::to_string(year.year), measured ? group_thousands(*measured) : "", group_thousands(year.volume), interval,
                     std::isfinite(previous) ? signed_percent(volume / previous - 1.0) : ""});
      previous = volume;
    }
    out += "\n" + years.render(2);
    if (!series.interval_note.empty()) out += "  " + series.interval_note + "\n";
    for (const auto& evidence : series.market_size_evidence) {
      if (evidence.contradicted) out += "  warning: " + sim::describe(evidence) + "\n";
    }
  }

  const auto& model = *forecast.rate_model;
  out += fmt::format("\nDesign peaks (series {}; busiest local hour of each year; rates in requests per second)\n",
                     scenario.driving_series().name);
  const auto yearly = sim::yearly_design_peaks(forecast);
  std::vector<std::string> headers{"year", "peak hour (local)", "total mean", fmt::format("{}% upper", level), "total p99.9 s"};
  for (const auto& endpoint : model.endpoints()) {
    headers.push_back(endpoint + " mean");
    headers.push_back(endpoint + " p99.9 s");
  }
  TextTable peaks(headers, {Align::left, Align::left});
  for (std::size_t y = 0; y < forecast.design_peaks.size(); ++y) {
    const auto& peak = forecast.design_peaks[y];
    std::vector<std::string> row{std::to_string(peak.year), local_time(forecast, peak.peak_hour_start), readable_number(peak.total_peak_hour_rate),
                                 yearly[y].upper ? readable_number(*yearly[y].upper) : "", group_thousands(peak.total_peak_second_rate)};
    for (std::size_t e = 0; e < model.endpoints().size(); ++e) {
      row.push_back(readable_number(peak.peak_hour_rate[e]));
      row.push_back(group_thousands(peak.peak_second_rate[e]));
    }
    peaks.add_row(row);
  }
  out += "\n" + peaks.render(2);
  const auto& burstiness = model.burstiness();
  const auto process = burstiness && burstiness->rate_cv > 0
                           ? fmt::format("the scenario's bursty process (a gamma rate multiplier per {}, coefficient of variation {:g})\n  at the peak-hour mean",
                                         format_duration(burstiness->interval), burstiness->rate_cv)
                           : std::string("a Poisson process at the peak-hour mean");
  out += fmt::format("  ({}% upper: the upper end of the total mean's {}% interval, from the volume's; p99.9 s: requests in one\n"
                     "  second that {} exceeds in only 0.1% of seconds)\n", level, level, process);
  return out;
}

std::string render_forecast_json(const sim::Forecast& forecast) {
  using nlohmann::ordered_json;
  const auto& scenario = *forecast.scenario;
  ordered_json root;
  root["schema"] = "uptake.forecast/v1";
  root["warnings"] = forecast.warnings;
  root["scenario"] = scenario.name;
  root["file"] = scenario.file;
  root["interval_level"] = scenario.growth.interval_level;
  root["series"] = ordered_json::array();
  for (const auto& series : forecast.series) {
    const auto& fit = series.choice.chosen;
    ordered_json item;
    item["name"] = series.series->name;
    item["unit"] = series.series->unit;
    item["model"] = to_string(fit.kind);
    item["reason"] = series.choice.reason;
    for (const auto& parameter : fit.parameters) item["parameters"][parameter.name] = parameter.value;
    if (fit.kind == sim::GrowthModelKind::bass) item["parameters"]["launch"] = fit.launch;
    item["fit"] = {{"observations", fit.observations}, {"free_parameters", fit.free_parameters}, {"log_rmse", fit.log_rmse},
                   {"mape", fit.mape}, {"r_squared_log", std::isfinite(fit.r_squared) ? ordered_json(fit.r_squared) : ordered_json(nullptr)},
                   {"aicc", fit.aicc ? ordered_json(*fit.aicc) : ordered_json(nullptr)}, {"log_residuals", fit.log_residuals}};
    item["candidates"] = ordered_json::array();
    for (const auto& candidate : series.choice.candidates) {
      const auto index = static_cast<std::size_t>(&candidate - series.choice.candidates.data());
      item["candidates"].push_back({{"model", to_string(candidate.kind)}, {"free_parameters", candidate.free_parameters}, {"log_rmse", candidate.log_rmse},
                                    {"aicc", candidate.aicc ? ordered_json(*candidate.aicc) : ordered_json(nullptr)},
                                    {"weight", series.choice.weights[index]},
                                    {"volumes", candidate_volumes(candidate, series.projection)}});
    }
    item["interval_note"] = series.interval_note.empty() ? ordered_json(nullptr) : ordered_json(series.interval_note);
    item["assumed_ranges"] = ordered_json::object();
    for (const auto& [name, range] : series.series->ranges) {
      item["assumed_ranges"][name] = {{"low", range.low}, {"high", range.high}, {"likely", range.likely ? ordered_json(*range.likely) : ordered_json(nullptr)}};
    }
    item["market_size_evidence"] = ordered_json::array();
    for (const auto& evidence : series.market_size_evidence) {
      item["market_size_evidence"].push_back(
          {{"model", to_string(evidence.kind)}, {"assumed_low", evidence.assumed_low}, {"assumed_high", evidence.assumed_high},
           {"likelihood_ratio", evidence.likelihood_ratio}, {"supported_low", evidence.supported_low},
           {"supported_high", evidence.supported_high ? ordered_json(*evidence.supported_high) : ordered_json(nullptr)},
           {"contradicted", evidence.contradicted}});
    }
    item["years"] = ordered_json::array();
    for (const auto& year : series.projection) {
      const auto measured = series.series->measured_volume(year.year);
      item["years"].push_back({{"year", year.year},
                               {"measured", measured ? ordered_json(*measured) : ordered_json(nullptr)},
                               {"model", year.volume},
                               {"lower", year.lower ? ordered_json(*year.lower) : ordered_json(nullptr)},
                               {"upper", year.upper ? ordered_json(*year.upper) : ordered_json(nullptr)}});
    }
    root["series"].push_back(item);
  }
  const auto& model = *forecast.rate_model;
  root["driving_series"] = scenario.driving_series().name;
  root["replayed_year"] = replayed_year(scenario);
  root["design_peaks"] = ordered_json::array();
  const auto yearly = sim::yearly_design_peaks(forecast);
  for (std::size_t y = 0; y < forecast.design_peaks.size(); ++y) {
    const auto& peak = forecast.design_peaks[y];
    ordered_json item{{"year", peak.year},
                      {"peak_hour_start", peak.peak_hour_start},
                      {"peak_hour_start_utc", format_rfc3339(std::chrono::sys_seconds{std::chrono::seconds{static_cast<long long>(peak.peak_hour_start)}})},
                      {"peak_hour_start_local", local_time(forecast, peak.peak_hour_start)},
                      {"total", {{"peak_hour_rps", peak.total_peak_hour_rate},
                                 {"peak_hour_rps_lower", yearly[y].lower ? ordered_json(*yearly[y].lower) : ordered_json(nullptr)},
                                 {"peak_hour_rps_upper", yearly[y].upper ? ordered_json(*yearly[y].upper) : ordered_json(nullptr)},
                                 {"peak_second_p999", peak.total_peak_second_rate}}}};
    for (std::size_t e = 0; e < model.endpoints().size(); ++e) {
      item["endpoints"][model.endpoints()[e]] = {{"peak_hour_rps", peak.peak_hour_rate[e]}, {"peak_second_p999", peak.peak_second_rate[e]}};
    }
    root["design_peaks"].push_back(item);
  }
  return root.dump(2) + "\n";
}

namespace {

// A yearly point as its year ("2022"), a month's or period's as its fractional time ("2022.75").
std::string time_text(double time) {
  const double whole = std::floor(time);
  return std::abs(time - whole - 0.5) < 1e-9 ? fmt::format("{:.0f}", whole) : fmt::format("{:.2f}", time);
}

std::string coverage_text(const sim::Backtest& backtest, int level) {
  if (backtest.with_interval == 0) return "no held-back point had an interval";
  return fmt::format("the {}% intervals held {} of {} held-back points ({:.0f}%)", level, backtest.held, backtest.with_interval,
                     100.0 * backtest.held / backtest.with_interval);
}

}  // namespace

std::string render_backtest_text(const std::vector<sim::Backtest>& backtests, double interval_level) {
  const int level = static_cast<int>(std::lround(interval_level * 100));
  std::string out;
  int with_interval = 0;
  int held = 0;
  for (const auto& backtest : backtests) {
    out += fmt::format("Backtest of {}: each earlier cut of the history refitted and projected to the points held back\n\n", backtest.series);
    if (backtest.cuts.empty()) {
      out += fmt::format("  {} observation(s): too few for a backtest, which refits on 2 or more and holds 1 or more back\n\n",
                         backtest.observations);
      continue;
    }
    TextTable table({"history to", "model", "point", "measured", "projected", "error", fmt::format("{}% interval", level), "held"},
                    {Align::left, Align::left, Align::left});
    std::string notes;
    for (const auto& cut : backtest.cuts) {
      const std::string history = fmt::format("{} ({} pts)", time_text(cut.last_known_time), cut.observations);
      if (!cut.interval_note.empty()) notes += fmt::format("  {}: {}\n", history, cut.interval_note);
      if (cut.points.empty() || cut.model.empty()) {
        table.add_row({history, "—", "", "", "", "", "", ""});
        continue;
      }
      for (const auto& point : cut.points) {
        table.add_row({history, cut.model, time_text(point.time), group_thousands(point.actual), group_thousands(point.projected),
                       signed_percent(point.projected / point.actual - 1),
                       point.lower ? fmt::format("{} – {}", group_thousands(*point.lower), group_thousands(*point.upper)) : "—",
                       point.held ? (*point.held ? "yes" : "NO") : ""});
      }
    }
    out += table.render(2) + notes;
    out += "  " + coverage_text(backtest, level) + "\n\n";
    with_interval += backtest.with_interval;
    held += backtest.held;
  }
  if (backtests.size() > 1 && with_interval > 0) {
    out += fmt::format("Over every series, the {}% intervals held {} of {} held-back points ({:.0f}%).\n", level, held, with_interval,
                       100.0 * held / with_interval);
  }
  return out;
}

std::string render_backtest_json(const std::vector<sim::Backtest>& backtests, double interval_level) {
  using nlohmann::ordered_json;
  ordered_json root{{"schema", "uptake.backtest/v1"}, {"interval_level", interval_level}, {"series", ordered_json::array()}};
  for (const auto& backtest : backtests) {
    ordered_json series{{"name", backtest.series}, {"observations", backtest.observations}, {"with_interval", backtest.with_interval}, {"held", backtest.held}, {"cuts", ordered_json::array()}};
    for (const auto& cut : backtest.cuts) {
      ordered_json item{{"observations", cut.observations},
                        {"last_known_time", cut.last_known_time},
                        {"model", cut.model.empty() ? ordered_json(nullptr) : ordered_json(cut.model)},
                        {"note", cut.interval_note.empty() ? ordered_json(nullptr) : ordered_json(cut.interval_note)},
                        {"points", ordered_json::array()}};
      for (const auto& point : cut.points) {
        item["points"].push_back({{"time", point.time},
                                  {"measured", point.actual},
                                  {"projected", point.projected},
                                  {"lower", point.lower ? ordered_json(*point.lower) : ordered_json(nullptr)},
                                  {"upper", point.upper ? ordered_json(*point.upper) : ordered_json(nullptr)},
                                  {"held", point.held ? ordered_json(*point.held) : ordered_json(nullptr)}});
      }
      series["cuts"].push_back(item);
    }
    root["series"].push_back(series);
  }
  return root.dump(2) + "\n";
}

}  // namespace uptake::reports

#include "uptake/reports/forecast_report.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "uptake/reports/text_table.hpp"

namespace uptake::reports {
namespace {

using Align = TextTable::Align;

std::string local_time(const sim::Forecast& forecast, sim::Instant instant) {
  const auto offset = forecast.scenario->calendar.utc_offset;
  const std::chrono::sys_seconds local{std::chrono::seconds{static_cast<long long>(instant)} + offset};
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

}  // namespace

std::string render_forecast_text(const sim::Forecast& forecast) {
  const auto& scenario = *forecast.scenario;
  std::string out = fmt::format("Forecast of {} ({})\n", scenario.name, scenario.file);
  const int level = static_cast<int>(std::lround(scenario.growth.interval_level * 100));
  for (const auto& series : forecast.series) {
    const auto& fit = series.choice.chosen;
    out += fmt::format("\nSeries {}{}\n", series.series->name, series.series->unit.empty() ? "" : " — " + series.series->unit);
    out += fmt::format("  model       {}: {}\n", to_string(fit.kind), series.choice.reason);
    out += fmt::format("  parameters  {}{}\n", parameters_text(fit),
                       series.series->market_size ? fmt::format(" (K fixed by market_size)") : "");
    out += fmt::format("  fit         n = {}, free parameters = {}, log RMSE = {:.4f}, MAPE = {:.2f}%, R² (log) = {}, AICc = {}\n",
                       fit.observations, fit.free_parameters, fit.log_rmse, fit.mape * 100,
                       std::isfinite(fit.r_squared) ? fmt::format("{:.4f}", fit.r_squared) : "—",
                       fit.aicc ? fmt::format("{:.2f}", *fit.aicc) : "— (too few observations)");
    if (series.choice.candidates.size() > 1) {
      TextTable candidates({"candidate", "free params", "log RMSE", "AICc"}, {Align::left});
      for (const auto& candidate : series.choice.candidates) {
        candidates.add_row({to_string(candidate.kind), std::to_string(candidate.free_parameters), fmt::format("{:.4f}", candidate.log_rmse),
                            candidate.aicc ? fmt::format("{:.2f}", *candidate.aicc) : "—"});
      }
      out += "\n" + candidates.render(2);
    }
    TextTable years({"year", "measured", "model", fmt::format("{}% interval", level), "growth"}, {Align::left});
    double previous = NAN;
    for (const auto& year : series.projection) {
      const auto measured = series.series->measured_volume(year.year);
      const double volume = measured.value_or(year.volume);
      const std::string interval = measured ? "" : year.lower ? fmt::format("{} – {}", group_thousands(*year.lower), group_thousands(*year.upper)) : "— (exact fit)";
      years.add_row({std::to_string(year.year), measured ? group_thousands(*measured) : "", group_thousands(year.volume), interval,
                     std::isfinite(previous) ? signed_percent(volume / previous - 1.0) : ""});
      previous = volume;
    }
    out += "\n" + years.render(2);
  }

  const auto& model = *forecast.rate_model;
  out += fmt::format("\nDesign peaks (series {}; busiest local hour of each year; rates in requests per second)\n",
                     scenario.driving_series().name);
  std::vector<std::string> headers{"year", "peak hour (local)", "total mean", "total p99.9 s"};
  for (const auto& endpoint : model.endpoints()) {
    headers.push_back(endpoint + " mean");
    headers.push_back(endpoint + " p99.9 s");
  }
  TextTable peaks(headers, {Align::left, Align::left});
  for (const auto& peak : forecast.design_peaks) {
    std::vector<std::string> row{std::to_string(peak.year), local_time(forecast, peak.peak_hour_start), readable_number(peak.total_peak_hour_rate),
                                 group_thousands(peak.total_peak_second_rate)};
    for (std::size_t e = 0; e < model.endpoints().size(); ++e) {
      row.push_back(readable_number(peak.peak_hour_rate[e]));
      row.push_back(group_thousands(peak.peak_second_rate[e]));
    }
    peaks.add_row(row);
  }
  out += "\n" + peaks.render(2);
  out += "  (p99.9 s: requests in one second that a Poisson process at the peak-hour mean exceeds in only 0.1% of seconds)\n";
  return out;
}

std::string render_forecast_json(const sim::Forecast& forecast) {
  using nlohmann::ordered_json;
  const auto& scenario = *forecast.scenario;
  ordered_json root;
  root["schema"] = "uptake.forecast/v1";
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
      item["candidates"].push_back({{"model", to_string(candidate.kind)}, {"free_parameters", candidate.free_parameters}, {"log_rmse", candidate.log_rmse},
                                    {"aicc", candidate.aicc ? ordered_json(*candidate.aicc) : ordered_json(nullptr)}});
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
  root["design_peaks"] = ordered_json::array();
  for (const auto& peak : forecast.design_peaks) {
    ordered_json item{{"year", peak.year},
                      {"peak_hour_start", peak.peak_hour_start},
                      {"peak_hour_start_utc", format_rfc3339(std::chrono::sys_seconds{std::chrono::seconds{static_cast<long long>(peak.peak_hour_start)}})},
                      {"peak_hour_start_local", local_time(forecast, peak.peak_hour_start)},
                      {"total", {{"peak_hour_rps", peak.total_peak_hour_rate}, {"peak_second_p999", peak.total_peak_second_rate}}}};
    for (std::size_t e = 0; e < model.endpoints().size(); ++e) {
      item["endpoints"][model.endpoints()[e]] = {{"peak_hour_rps", peak.peak_hour_rate[e]}, {"peak_second_p999", peak.peak_second_rate[e]}};
    }
    root["design_peaks"].push_back(item);
  }
  return root.dump(2) + "\n";
}

}  // namespace uptake::reports

#include "uptake/sim/forecast.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace uptake::sim {

Forecast make_forecast(const Scenario& scenario, int from_year, int to_year) {
  Forecast forecast;
  forecast.scenario = &scenario;
  int first_history_year = scenario.series.front().first_year();
  for (const auto& series : scenario.series) first_history_year = std::min(first_history_year, series.first_year());
  forecast.from_year = from_year ? from_year : first_history_year;
  forecast.to_year = to_year ? to_year : scenario.growth.project_to_year;

  for (const auto& series : scenario.series) {
    SeriesForecast result;
    result.series = &series;
    result.observations = observations_of(series);
    try {
      result.choice = choose_growth_model(series.model, result.observations, constraints_of(series));
    } catch (const InputError& error) {
      // The fit knows the numbers; the series knows where it was written.
      const auto field = "history.series." + series.name + (error.field().empty() ? "" : "." + error.field());
      throw InputError(series.where, field, error.problem(), error.expected());
    }
    result.projection = project_growth(result.choice.chosen, result.observations, series.first_year(),
                                       std::max(forecast.to_year, series.last_year()), scenario.growth.interval_level,
                                       scenario.growth.bootstrap_samples, scenario.seed);
    if (&series == &scenario.driving_series()) {
      for (const auto& year : result.projection) {
        forecast.driving_volume[year.year] = series.measured_volume(year.year).value_or(year.volume);
      }
    }
    forecast.series.push_back(std::move(result));
  }
  forecast.rate_model = std::make_unique<RateModel>(scenario, forecast.driving_volume);
  for (int year = forecast.from_year; year <= forecast.to_year; ++year) {
    forecast.design_peaks.push_back(forecast.rate_model->design_peak(year));
  }
  return forecast;
}

}  // namespace uptake::sim

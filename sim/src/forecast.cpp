#include "uptake/sim/forecast.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace uptake::sim {

std::pair<int, int> forecast_years(const Scenario& scenario) {
  int first_history_year = scenario.series.front().first_year();
  for (const auto& series : scenario.series) first_history_year = std::min(first_history_year, series.first_year());
  return {first_history_year, scenario.growth.project_to_year};
}

Forecast make_forecast(const Scenario& scenario, int from_year, int to_year) {
  Forecast forecast;
  forecast.scenario = &scenario;
  const auto [first_forecast_year, last_forecast_year] = forecast_years(scenario);
  forecast.from_year = from_year ? from_year : first_forecast_year;
  forecast.to_year = to_year ? to_year : last_forecast_year;

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
    const int last_year = std::max(forecast.to_year, series.last_year());
    auto projection = project_series(result.choice, result.observations, series.ranges, series.first_year(), last_year,
                                     scenario.growth.interval_level, scenario.growth.bootstrap_samples, scenario.seed);
    result.projection = std::move(projection.years);
    result.draws = std::move(projection.draws);
    result.interval_note = std::move(projection.interval_note);

    const auto range = series.ranges.find("K");
    for (std::size_t i = 0; i < result.choice.candidates.size(); ++i) {
      if (result.choice.weights[i] <= 0) continue;
      const auto& candidate = result.choice.candidates[i];
      const auto evidence = check_market_size(candidate.kind, result.observations, candidate.constraints,
                                              range == series.ranges.end() ? std::nullopt : std::optional(range->second));
      if (!evidence) continue;
      result.market_size_evidence.push_back(*evidence);
      if (evidence->contradicted) {
        forecast.warnings.push_back(fmt::format("history.series.{}.market_size: {}", series.name, describe(*evidence)));
      }
    }

    if (&series == &scenario.driving_series()) {
      for (std::size_t y = 0; y < result.projection.size(); ++y) {
        const int year = result.projection[y].year;
        const auto measured = series.measured_volume(year);
        forecast.driving_volume[year] = measured.value_or(result.projection[y].volume);
        if (result.draws.empty()) continue;
        auto& volumes = forecast.driving_volume_draws[year];
        for (const auto& draw : result.draws) volumes.push_back(measured.value_or(draw[y]));
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

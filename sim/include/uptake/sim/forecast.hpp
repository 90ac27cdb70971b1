#pragma once
// The forecast of a scenario: each series' fitted growth and projection, and the design peaks
// per endpoint per year of the driving series. What `uptake forecast` shows and what the
// planning of later commands builds on.
#include <map>
#include <memory>
#include <vector>

#include "uptake/sim/growth.hpp"
#include "uptake/sim/rate.hpp"
#include "uptake/sim/scenario.hpp"

namespace uptake::sim {

struct SeriesForecast {
  const Series* series = nullptr;
  std::vector<Observation> observations;
  ModelChoice choice;
  std::vector<YearProjection> projection;  // every year from the first of history to the last projected
};

struct Forecast {
  const Scenario* scenario = nullptr;
  std::vector<SeriesForecast> series;       // in scenario order
  std::map<int, double> driving_volume;     // per year: measured where history has it, projected beyond
  std::unique_ptr<RateModel> rate_model;    // built on driving_volume
  std::vector<DesignPeak> design_peaks;     // per year in [from_year, to_year]
  int from_year = 0;
  int to_year = 0;
};

// Fits and projects every series and computes design peaks for the years [from_year, to_year]
// (0 for either: the first year of history / the last projected year). The scenario must
// outlive the forecast.
Forecast make_forecast(const Scenario& scenario, int from_year = 0, int to_year = 0);

}  // namespace uptake::sim

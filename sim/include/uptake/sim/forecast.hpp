#pragma once
// The forecast of a scenario: each series' fitted growth and projection, and the design peaks
// per endpoint per year of the driving series. What `uptake forecast` shows and what the
// planning of later commands builds on.
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "uptake/sim/growth.hpp"
#include "uptake/sim/projection.hpp"
#include "uptake/sim/rate.hpp"
#include "uptake/sim/scenario.hpp"

namespace uptake::sim {

struct SeriesForecast {
  const Series* series = nullptr;
  std::vector<Observation> observations;
  ModelChoice choice;
  std::vector<YearProjection> projection;  // every year from the first of history to the last projected
  std::vector<std::vector<double>> draws;  // draws[d][y]: volume of projection[y].year in draw d; empty with no interval
  std::string interval_note;               // empty, or why there is no interval
  std::vector<MarketSizeEvidence> market_size_evidence;  // per weighted candidate with an assumed K
};

struct Forecast {
  const Scenario* scenario = nullptr;
  std::vector<SeriesForecast> series;       // in scenario order
  std::map<int, double> driving_volume;     // per year: measured where history has it, projected beyond
  // Per year, the driving volume in each draw (measured years: the measured volume in every
  // draw); empty when the driving series has no interval.
  std::map<int, std::vector<double>> driving_volume_draws;
  std::unique_ptr<RateModel> rate_model;    // built on driving_volume
  std::vector<DesignPeak> design_peaks;     // per year in [from_year, to_year]
  int from_year = 0;
  int to_year = 0;
  std::vector<std::string> warnings;        // "history.series.ecert.market_size: the history contradicts ..."
};

// Fits and projects every series and computes design peaks for the years [from_year, to_year]
// (0 for either: the first year of history / the last projected year). The scenario must
// outlive the forecast.
Forecast make_forecast(const Scenario& scenario, int from_year = 0, int to_year = 0);

// The years a forecast of `scenario` covers: from the first year of any series' history to
// growth.project_to. Design peaks of years outside it have no demand to peak (a peak hour of
// 1970-01-01 was printed for them), so a command refuses them.
std::pair<int, int> forecast_years(const Scenario& scenario);

}  // namespace uptake::sim

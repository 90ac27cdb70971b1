#pragma once
// Renders a forecast for people (a terminal report) and for programs (JSON, schema
// "uptake.forecast/v1", documented in docs/forecast-json.md).
#include <string>
#include <vector>

#include "uptake/sim/forecast.hpp"

namespace uptake::reports {

std::string render_forecast_text(const sim::Forecast& forecast);
std::string render_forecast_json(const sim::Forecast& forecast);

// `uptake forecast --backtest`: every cut of each series' history, its projection of the points
// held back, the error, and whether the interval held them; with the coverage over all. JSON:
// schema "uptake.backtest/v1" (docs/forecast-json.md).
std::string render_backtest_text(const std::vector<sim::Backtest>& backtests, double interval_level);
std::string render_backtest_json(const std::vector<sim::Backtest>& backtests, double interval_level);

}  // namespace uptake::reports

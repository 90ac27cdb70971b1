#pragma once
// Renders a forecast for people (a terminal report) and for programs (JSON, schema
// "uptake.forecast/v1", documented in docs/forecast-json.md).
#include <string>

#include "uptake/sim/forecast.hpp"

namespace uptake::reports {

std::string render_forecast_text(const sim::Forecast& forecast);
std::string render_forecast_json(const sim::Forecast& forecast);

}  // namespace uptake::reports

#pragma once
// Scenarios for tests, written as YAML the way users write them, so that tests exercise the
// loader too. `body` is appended to a minimal valid header.
#include <string>

#include "uptake/sim/scenario_loader.hpp"

namespace uptake::test {

inline sim::Scenario scenario_from_yaml(const std::string& body, const std::string& file = "test.yaml") {
  return sim::parse_scenario(body, file);
}

// One series with a flat calendar: `volume` uses in 2023 (and 2022), one endpoint "issue".
inline std::string flat_scenario(double volume, const std::string& extra = "") {
  return "name: flat\nseed: 7\nhistory:\n  series:\n    demand:\n      yearly: { 2022: " + std::to_string(volume) +
         ", 2023: " + std::to_string(volume) + " }\ngrowth: { model: exponential, project_to: 2023 }\n" +
         "mix: { endpoints: { issue: 1.0 } }\n" + extra;
}

}  // namespace uptake::test

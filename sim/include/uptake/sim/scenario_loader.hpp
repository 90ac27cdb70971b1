#pragma once
// Loading a scenario file: YAML syntax, then every field's type, range and cross-reference.
// Each problem is reported as an uptake::InputError naming file, line, column and field.
#include <string>
#include <string_view>

#include "uptake/sim/scenario.hpp"

namespace uptake::sim {

// Reads and validates `path`. Throws InputError on the first problem found.
Scenario load_scenario(const std::string& path);

// The same from text already in memory; `file_name` is used in messages only.
Scenario parse_scenario(const std::string& text, const std::string& file_name);

// A scenario's name names its result folders (results/NAME-TIME) and `uptake new` its file, so
// it may hold no slash, backslash or control character, is not "." or "..", and is at most 100
// bytes: `../../x` would write outside results/. kUsableScenarioName says so for messages.
bool is_usable_scenario_name(std::string_view name);
inline constexpr const char* kUsableScenarioName =
    "a short name without slashes or control characters, such as wallet-2027: it names result folders";

// The annotated starting scenario that `uptake new NAME` writes (scenarios/template.yaml with
// its name filled in).
std::string scenario_template(const std::string& name);

}  // namespace uptake::sim

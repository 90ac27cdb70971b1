// Scenario files come from people: any bytes must end in a Scenario or an InputError naming the
// place, never in a crash or a YAML exception leaking out of the loader.
#include <string>

#include "entries.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/sim/scenario_loader.hpp"

namespace uptake::fuzz {

void scenario(std::string_view input) {
  try {
    // A folder that does not exist: relative feeder files are then refused, not read.
    const auto loaded = sim::parse_scenario(std::string(input), "/nonexistent-fuzz-folder/scenario.yaml");
    (void)loaded;
  } catch (const InputError& error) {
    fuzz_require(error.what() != nullptr && *error.what() != '\0', "an InputError says what is wrong");
  }
}

}  // namespace uptake::fuzz

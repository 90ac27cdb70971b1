// Threshold expressions come from scenario files and --threshold options.
#include <cmath>
#include <string>

#include "entries.hpp"
#include "uptake/sim/threshold.hpp"

namespace uptake::fuzz {

void threshold(std::string_view input) {
  std::string problem;
  const auto parsed = sim::parse_threshold(input, problem);
  if (!parsed) {
    fuzz_require(!problem.empty(), "a refused threshold says why");
    return;
  }
  fuzz_require(std::isfinite(parsed->bound), "an accepted bound is a finite number");
  if (parsed->metric == sim::ThresholdMetric::latency_percentile) {
    fuzz_require(parsed->percentile > 0 && parsed->percentile <= 100, "a percentile lies in (0, 100]");
  }
  // What was accepted reads back the same from its own text (reports print it).
  std::string again_problem;
  const auto again = sim::parse_threshold(parsed->text, again_problem);
  fuzz_require(again.has_value(), "an accepted threshold's text parses again");
  fuzz_require(again->metric == parsed->metric && again->comparison == parsed->comparison && again->bound == parsed->bound &&
                   again->endpoint == parsed->endpoint && again->percentile == parsed->percentile,
               "an accepted threshold's text parses to the same threshold");
  for (const double observed : {0.0, parsed->bound, -1.0, 1e300}) (void)parsed->holds(observed);
}

}  // namespace uptake::fuzz

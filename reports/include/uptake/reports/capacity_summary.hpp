#pragma once
// What `uptake capacity` found, for people and programs: summary.json's `capacity` block
// (docs/summary-json.md), and the terminal's capacity curve, model comparison and plan. The
// HTML and Markdown reports render the same block back from summary.json.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "uptake/loadgen/capacity_search.hpp"
#include "uptake/sim/planning.hpp"

namespace uptake::reports {

struct CapacityFindings {
  loadgen::CapacitySearchResult search;
  std::string mix;  // what each trial replays: "one endpoint (GET /healthz)", "the 2027 design peak hour's mix"
  std::optional<loadgen::CapacityPrediction> prediction;
  std::optional<sim::ScalabilityFit> scalability;  // fit_scalability_to_steps of the search's steps
  // With a scenario: its design peaks per planned year, and the plan against them.
  std::vector<sim::YearlyDesignPeak> peaks;
  sim::CapacityPlanOptions plan_options;
  std::optional<sim::CapacityPlan> plan;
  // The same plan with the forecast's and the capacity's uncertainty: exhaustion-date quantiles
  // and the instances needed at a risk.
  std::optional<sim::UncertainPlan> uncertain_plan;
};

// summary.json's `capacity` block.
nlohmann::ordered_json capacity_json(const CapacityFindings& findings);

// For the terminal, after the step lines: the outcome, the models beside the measurement, and
// the plan year by year with the exhaustion date.
std::string render_capacity_text(const CapacityFindings& findings);

// What the models' agreement with the measurement shows, in a sentence or two: with an estimated
// server count, nothing (Erlang C was fitted to it); with a given one, the measured / predicted
// ratio, and beyond 15% apart what may explain the gap.
std::string models_verdict(const loadgen::CapacityPrediction& prediction);

// The answer in one line, as the terminal and both reports lead with it: "1,650/s (90% interval
// 1,610/s to 1,690/s)", "at least 800/s (a lower bound: generator_limit)", "none: ...".
std::string capacity_headline(const loadgen::CapacitySearchResult& search);

// Headroom (capacity / peak - 1) for people: "+25%", "-40%", and beyond +900% as a multiple,
// "193x the peak", which reads better than "+19193%"; "no demand" when it is infinite.
std::string format_headroom(double fraction);

// The exit code of a search: 0 found (or the ceiling passed), 1 no rate met the SLO (none
// passed, or the target failed at any load on errors that load does not cause), 3 the search could not conclude (the generator fell
// behind, the budget ran out, or it was interrupted): its answer is a lower bound only. (The
// command also exits 3 when no trial completed a request: the target is unreachable.)
int capacity_exit_code(loadgen::CapacityOutcome outcome);

}  // namespace uptake::reports

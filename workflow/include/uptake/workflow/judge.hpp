#pragma once
// The end of every workflow that leaves a results folder (run, merge, capacity): its thresholds
// (the recorded SLO and `extra_thresholds`) and its trust judged as `uptake gate` judges them,
// recorded in summary.json (thresholds[], trust) and junit.xml.
#include <string>
#include <vector>

#include "uptake/reports/gate.hpp"

namespace uptake::workflow {

// Throws InputError for a results folder that cannot be read, or a threshold that does not
// parse or names no endpoint of the run. The exit code is the verdict's (GateResult::exit_code):
// partial results are untrusted unless `allow` says otherwise.
reports::GateResult judge_results_folder(const std::string& folder, const std::vector<std::string>& extra_thresholds, reports::PartialAllowance allow = {});

}  // namespace uptake::workflow

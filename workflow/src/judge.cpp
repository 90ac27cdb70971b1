#include "uptake/workflow/judge.hpp"

#include <filesystem>

#include "uptake/base/files.hpp"
#include "uptake/loadgen/results.hpp"
#include "uptake/reports/junit.hpp"
#include "uptake/reports/results_dir.hpp"
#include "uptake/reports/threshold_check.hpp"

namespace uptake::workflow {

reports::GateResult judge_results_folder(const std::string& folder, const std::vector<std::string>& extra_thresholds, reports::PartialAllowance allow) {
  const auto run = reports::read_results(folder);
  const auto thresholds = reports::thresholds_for(run, extra_thresholds);
  auto verdict = reports::evaluate_gate(run, thresholds, nullptr, {}, allow);
  reports::record_verdict(folder, verdict);
  // A CI system reads junit.xml: the run's own verdict is there too, an untrusted run as a
  // failing `run` testcase, without waiting for `uptake gate`.
  write_file_atomically((std::filesystem::path(folder) / loadgen::kJunitFile).string(), reports::junit_xml(verdict, reports::read_results(folder)));
  return verdict;
}

}  // namespace uptake::workflow

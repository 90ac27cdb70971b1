#pragma once
// report.md: a short summary of a run, fit for a pull-request comment or a CI step summary
// ($GITHUB_STEP_SUMMARY): the verdict line, a small table (requests, achieved against planned
// rate, p50/p99/p99.9, errors), errors by class when there are any, the thresholds with ✅/❌,
// and whether the generator kept to its schedule. Text from the data is escaped for Markdown.
#include <string>
#include <string_view>

#include "uptake/reports/results_dir.hpp"

namespace uptake::reports {

std::string render_markdown_report(const RunResults& results);

// Text that Markdown (GitHub's and GitLab's) shows as written, also inside a table cell.
std::string escape_markdown(std::string_view text);

}  // namespace uptake::reports

#pragma once
// report.html and report.md of a results folder, written together: what `uptake report` and
// the end of `uptake run` do.
#include <filesystem>

namespace uptake::reports {

struct ReportFiles {
  std::filesystem::path html;      // report.html
  std::filesystem::path markdown;  // report.md
};

// Reads `results_folder` (read_results), renders both reports, and writes them into
// `out_folder` (created if missing). Throws InputError naming the file when a results file is
// missing, truncated or corrupt; both reports are rendered before either is written, so bad
// input leaves nothing half-written, and each file is replaced whole (write_file_atomically).
ReportFiles write_reports(const std::filesystem::path& results_folder, const std::filesystem::path& out_folder);

}  // namespace uptake::reports

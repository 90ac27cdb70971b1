#include "uptake/reports/report_files.hpp"

#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/reports/html_report.hpp"
#include "uptake/reports/markdown_report.hpp"
#include "uptake/reports/results_dir.hpp"

namespace uptake::reports {

ReportFiles write_reports(const std::filesystem::path& results_folder, const std::filesystem::path& out_folder) {
  const auto results = read_results(results_folder);
  const auto html = render_html_report(results);
  const auto markdown = render_markdown_report(results);
  std::error_code error;
  std::filesystem::create_directories(out_folder, error);
  if (error) throw InputError({out_folder.string(), 0, 0}, "", "cannot be created: " + error.message(), "a folder that can be written");
  const ReportFiles files{out_folder / "report.html", out_folder / "report.md"};
  write_file_atomically(files.html.string(), html);
  write_file_atomically(files.markdown.string(), markdown);
  return files;
}

}  // namespace uptake::reports

// uptake report: render report.html and report.md again from a results folder.
#include <fmt/format.h>

#include "command.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/reports/report_files.hpp"

namespace uptake::cli {
namespace {

int run_report(const po::variables_map& values) {
  const std::filesystem::path folder = values["folder"].as<std::string>();
  const std::filesystem::path out = values.count("out") ? std::filesystem::path(values["out"].as<std::string>()) : folder;
  const auto files = reports::write_reports(folder, out);
  fmt::print("wrote {} (open it in a browser; it works offline) and {} (for a pull request or CI summary)\n", files.html.string(), files.markdown.string());
  return kExitOk;
}

}  // namespace

std::vector<Command> report_commands() {
  return {{"report", "Render report.html (charts) and report.md (summary) from a results folder", "uptake report DIR [--out DIR]",
           {"uptake report results/smoke                      # writes results/smoke/report.html and report.md",
            "uptake report results/smoke --out public/        # somewhere else, such as a CI artifact folder",
            "uptake report results/smoke && cat results/smoke/report.md >> \"$GITHUB_STEP_SUMMARY\""},
           [](po::options_description& options, po::positional_options_description& positional) {
             options.add_options()("folder", po::value<std::string>()->required(), "results folder of uptake run or uptake merge (positional)")(
                 "out,o", po::value<std::string>(), "folder to write the reports into (default: the results folder)");
             positional.add("folder", 1);
           },
           run_report}};
}

}  // namespace uptake::cli

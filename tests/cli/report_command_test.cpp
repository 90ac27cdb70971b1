// uptake report: both reports from a results folder, and exit code 2 naming the file for a
// missing, truncated or corrupt one, with nothing written.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "cli/cli_helpers.hpp"
#include "reports/synthetic_run.hpp"

namespace fs = std::filesystem;
using cli_test::check_refused;
using cli_test::read;

namespace {

fs::path results_folder(const fs::path& scratch) {
  const auto folder = scratch / "run";
  uptake::test::synthetic_run({{"issue", uptake::test::one_to(40)}, {"verify", uptake::test::one_to(20, 0.5), 2}}).write(folder.string());
  return folder;
}

void overwrite(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
}

}  // namespace

TEST_CASE("report writes report.html and report.md into the results folder, or --out") {
  const auto scratch = cli_test::scratch_folder("cli-report-scratch");
  const auto folder = results_folder(scratch);
  const auto written = cli_test::uptake("report " + folder.string());
  CHECK(written.exit_code == 0);
  CHECK_THAT(written.output, Catch::Contains("report.html"));
  CHECK_THAT(read(folder / "report.html"), Catch::StartsWith("<!doctype html>"));
  CHECK_THAT(read(folder / "report.md"), Catch::Contains("uptake run of synthetic"));

  const auto elsewhere = scratch / "published" / "reports";
  CHECK(cli_test::uptake("report " + folder.string() + " --out " + elsewhere.string()).exit_code == 0);
  CHECK(fs::exists(elsewhere / "report.html"));
  CHECK(fs::exists(elsewhere / "report.md"));

  const auto help = cli_test::uptake("report --help");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.output, Catch::Contains("Examples:"));
}

TEST_CASE("report refuses bad results with exit code 2, naming the file, and writes nothing") {
  const auto scratch = cli_test::scratch_folder("cli-report-scratch");
  check_refused("report", "folder");
  check_refused("report " + (scratch / "nowhere").string(), "nowhere: is not a folder");

  struct Damage {
    const char* name;
    const char* file;
    std::function<void(const fs::path&)> apply;
    const char* message;
  };
  const std::vector<Damage> damages{
      {"summary.json missing", "summary.json", [](const fs::path& file) { fs::remove(file); }, "summary.json: is missing"},
      {"summary.json truncated", "summary.json", [](const fs::path& file) { overwrite(file, read(file).substr(0, 200)); }, "summary.json:"},
      {"timeseries.csv missing", "timeseries.csv", [](const fs::path& file) { fs::remove(file); }, "timeseries.csv: is missing"},
      {"latency.hlog corrupt", "latency.hlog", [](const fs::path& file) { overwrite(file, "#[Histogram log format version 1.3]\nnot,a,histogram\n"); }, "latency.hlog"},
      {"forecast.json corrupt", "forecast.json", [](const fs::path& file) { overwrite(file, "{\"schema\": \"uptake.forecast/v1\", \"series\": [tru"); }, "forecast.json:1:"},
      {"forecast.json of another schema", "forecast.json", [](const fs::path& file) { overwrite(file, "{\"schema\": \"uptake.forecast/v9\", \"series\": []}"); }, "forecast.json: field 'schema'"},
  };
  for (const auto& damage : damages) {
    SECTION(damage.name) {
      const auto folder = results_folder(scratch);
      damage.apply(folder / damage.file);
      check_refused("report " + folder.string(), damage.message);
      CHECK_FALSE(fs::exists(folder / "report.html"));
      CHECK_FALSE(fs::exists(folder / "report.md"));
    }
  }
}

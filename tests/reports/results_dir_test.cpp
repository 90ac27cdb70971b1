// Reading a results folder back: what the writer wrote comes back whole, and a missing,
// truncated, corrupt or wrong-schema file is refused with an error that names it.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "reports/synthetic_run.hpp"
#include "temporary_directory.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/reports/results_dir.hpp"

using namespace uptake;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::binary | std::ios::trunc) << text; }

// Refused with an InputError whose message holds each of `parts`.
void check_refused(const fs::path& folder, const std::vector<std::string>& parts) {
  try {
    reports::read_results(folder);
    FAIL("read_results accepted the folder");
  } catch (const InputError& error) {
    INFO(error.what());
    for (const auto& part : parts) CHECK_THAT(error.what(), Catch::Contains(part));
  }
}

test::SyntheticRun two_endpoints() {
  return test::synthetic_run({{"issue", test::one_to(200), 3}, {"verify", test::one_to(100, 0.5), 0}});
}

}  // namespace

TEST_CASE("a written folder reads back whole") {
  test::TemporaryDirectory folder("results-dir");
  const auto run = two_endpoints();
  run.write(folder.path().string());
  const auto results = reports::read_results(folder.path());

  CHECK(results.endpoint_names() == std::vector<std::string>{"issue", "verify"});
  CHECK(results.started_at_ns() == 1'790'000'000'000'000'000LL);
  // The whole-run histograms are the recorded ones, bucket for bucket.
  CHECK(results.response_time_of("issue").has_same_counts(run.result.endpoints[0].response_time));
  CHECK(results.response_time_of("verify").has_same_counts(run.result.endpoints[1].response_time));
  CHECK(results.response_time_of("total").total_count() == 300);
  CHECK(results.service_time_of("issue").has_same_counts(run.result.endpoints[0].service_time));
  CHECK(results.service_time_of("total").total_count() == 300);
  CHECK(results.schedule_lag.has_same_counts(run.result.schedule_lag));
  // Per second, as the writer split them.
  REQUIRE(results.response_time_by_second.at("verify").size() == 3);
  CHECK(loadgen::decode_compressed(results.response_time_by_second.at("verify").at(1)).total_count() == 33);

  const auto issue = results.counters_of("issue");
  CHECK(issue.planned == 203);
  CHECK(issue.completed == 200);
  CHECK(issue.errors == 3);
  REQUIRE(results.timeseries.size() == 9);  // 3 seconds x (total, issue, verify)
  CHECK(results.timeseries[0].endpoint == "total");
  CHECK(results.timeseries[1].endpoint == "issue");
  CHECK(results.timeseries[1].planned == 68);
  REQUIRE(results.timeseries[1].p99_ms);
  CHECK(results.timeseries[2].second == 0);
}

TEST_CASE("endpoint names with commas, spaces and percent signs survive the tags and the CSV") {
  test::TemporaryDirectory folder("results-dir-names");
  test::synthetic_run({{"issue, fast", test::one_to(10), 0}, {"verify 100%", test::one_to(10), 0}}).write(folder.path().string());
  CHECK_THAT(read(folder.path() / "latency.hlog"), Catch::Contains("Tag=response_time.issue%2C%20fast,"));
  CHECK_THAT(read(folder.path() / "timeseries.csv"), Catch::Contains("\"issue, fast\""));
  const auto results = reports::read_results(folder.path());
  CHECK(results.response_time_of("issue, fast").total_count() == 10);
  CHECK(results.response_time_of("verify 100%").total_count() == 10);
}

TEST_CASE("the log's untagged intervals are the whole run's response time, as HdrHistogram's readers see it") {
  test::TemporaryDirectory folder("results-dir-untagged");
  two_endpoints().write(folder.path().string());
  const auto log = loadgen::read_histogram_log_file((folder.path() / "latency.hlog").string());
  std::int64_t untagged = 0;
  for (const auto& interval : log.intervals) {
    if (interval.tag.empty()) untagged += interval.histogram.total_count();
    else CHECK(interval.tag.find_first_of(", ") == std::string::npos);
  }
  CHECK(untagged == 300);
}

TEST_CASE("missing files and folders are named") {
  test::TemporaryDirectory folder("results-dir-missing");
  check_refused(folder.path() / "nowhere", {"nowhere", "is not a folder"});
  two_endpoints().write(folder.path().string());
  for (const char* file : {"summary.json", "timeseries.csv", "latency.hlog"}) {
    test::TemporaryDirectory copy("results-dir-missing-one");
    fs::create_directories(copy.path());
    for (const char* other : {"summary.json", "timeseries.csv", "latency.hlog"}) {
      if (std::string(other) != file) fs::copy_file(folder.path() / other, copy.path() / other);
    }
    check_refused(copy.path(), {(copy.path() / file).string(), "is missing"});
  }
}

TEST_CASE("a truncated or corrupt summary.json is refused, naming the file and field") {
  test::TemporaryDirectory folder("results-dir-summary");
  two_endpoints().write(folder.path().string());
  const auto summary_file = folder.path() / "summary.json";
  const auto summary = read(summary_file);

  write(summary_file, summary.substr(0, summary.size() / 2));
  check_refused(folder.path(), {summary_file.string() + ":", "is not valid JSON"});

  write(summary_file, "[1, 2]");
  check_refused(folder.path(), {summary_file.string(), "is not a JSON object"});

  auto json = nlohmann::ordered_json::parse(summary);
  json["schema"] = "uptake.summary/v0";
  write(summary_file, json.dump());
  check_refused(folder.path(), {summary_file.string(), "field 'schema'", "uptake.summary/v1"});

  json = nlohmann::ordered_json::parse(summary);
  json["requests"].erase("completed");
  write(summary_file, json.dump());
  check_refused(folder.path(), {"field 'requests.completed': is missing"});

  json = nlohmann::ordered_json::parse(summary);
  json["endpoints"]["verify"]["requests"]["sent"] = -4;
  write(summary_file, json.dump());
  check_refused(folder.path(), {"field 'endpoints.verify.requests.sent': is -4", "a whole number"});

  // The saturation verdict depends on the pacing, so an unknown one is refused, not guessed.
  json = nlohmann::ordered_json::parse(summary);
  json["generator"]["pacing"] = "nap";
  write(summary_file, json.dump());
  check_refused(folder.path(), {"field 'generator.pacing': is \"nap\"", "\"sleep\" or \"spin\""});

  // Durations size the readers' per-second grids: an edited one must not make them huge.
  for (const char* field : {"duration_s", "schedule_s"}) {
    for (const double value : {-5.0, 1e308, 40.0 * 86400}) {
      json = nlohmann::ordered_json::parse(summary);
      json[field] = value;
      write(summary_file, json.dump());
      check_refused(folder.path(), {fmt::format("field '{}'", field), "seconds from 0 to 2678400 (31 days)"});
    }
  }
  // The two start times are one instant; an edit of one shows.
  json = nlohmann::ordered_json::parse(summary);
  json["started_at"] = json["started_at"].get<double>() + 86400;
  write(summary_file, json.dump());
  check_refused(folder.path(), {"field 'started_at'", "started_at_ns"});
  json = nlohmann::ordered_json::parse(summary);
  json["started_at_ns"] = -1;
  write(summary_file, json.dump());
  check_refused(folder.path(), {"field 'started_at_ns'"});
}

TEST_CASE("a truncated or corrupt timeseries.csv is refused, naming the file and line") {
  test::TemporaryDirectory folder("results-dir-csv");
  two_endpoints().write(folder.path().string());
  const auto file = folder.path() / "timeseries.csv";
  const auto csv = read(file);

  write(file, csv.substr(0, csv.size() - 5));  // cut mid-line
  check_refused(folder.path(), {file.string(), "cut short"});

  const auto without_last_line = csv.substr(0, csv.rfind('\n', csv.size() - 2) + 1);  // cut at a line break
  write(file, without_last_line);
  check_refused(folder.path(), {file.string(), "rows add up to", "summary.json says"});

  auto damaged = csv;
  damaged.replace(damaged.find("\n0,issue,") + 9, 2, "x7");
  write(file, damaged);
  check_refused(folder.path(), {file.string() + ":3", "field 'planned'", "a whole number"});

  // A second far beyond the run (which would otherwise size a series by it) is bad input too.
  auto far = csv;
  far.replace(far.find("\n0,issue,") + 1, 1, "99999999999");
  write(file, far);
  check_refused(folder.path(), {file.string() + ":3", "field 'second'", "at most"});

  write(file, "second;endpoint\n");
  check_refused(folder.path(), {file.string(), "columns"});
}

TEST_CASE("a truncated or corrupt latency.hlog is refused, naming the file") {
  test::TemporaryDirectory folder("results-dir-hlog");
  two_endpoints().write(folder.path().string());
  const auto file = folder.path() / "latency.hlog";
  const auto log = read(file);

  write(file, log.substr(0, log.rfind('\n', log.size() - 2) + 1));  // the last interval is gone
  check_refused(folder.path(), {file.string(), "but summary.json says"});

  auto damaged = log;
  const auto at = damaged.find("HISTF");
  damaged.replace(at, 8, "!!!!!!!!");
  write(file, damaged);
  check_refused(folder.path(), {file.string() + ":", "Interval_Compressed_Histogram"});

  auto other_tag = log;
  other_tag.replace(other_tag.find("Tag=service_time.issue"), 22, "Tag=service_time.sign");
  write(file, other_tag);
  check_refused(folder.path(), {file.string() + ":", "field 'Tag'", "names no endpoint"});

  auto other_start = log;
  other_start.replace(other_start.find("#[StartTime: 1790000000"), 23, "#[StartTime: 1790000099");
  write(file, other_start);
  check_refused(folder.path(), {file.string(), "field 'StartTime'"});
}

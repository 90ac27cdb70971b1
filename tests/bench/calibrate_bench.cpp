// Access log lines parsed and aggregated per second on one core (uptake calibrate), for the
// combined format: from memory (the parser and the aggregation alone) and from a file (with
// zlib's reading). The memory the calibration holds is reported for logs of 0.25, 1 and 4
// million lines of the same traffic (more days of it): it should stay flat as lines grow, since
// it grows with endpoints, open sessions and days, never with lines.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "uptake/base/random.hpp"
#include "uptake/calibrate/calibration.hpp"

namespace {

using namespace uptake;
using namespace uptake::calibrate;

// Requests of `days` days from 2024-03-04 at +09:00, `lines` in all, one combined line at a
// time: 20,000 clients, a dozen endpoints (with identifiers), browser-like user agents.
class CombinedLines {
 public:
  CombinedLines(std::size_t lines, int days) : lines_(lines), step_(static_cast<double>(days) * 86400 / static_cast<double>(lines)) {}
  // Appends the next line (with its line break) to `text`; false when all are written.
  bool next(std::string& text) {
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static constexpr const char* kPaths[] = {"/v1/certificates", "/v1/verify", "/v1/certificates/{}", "/v1/certificates/{}/revoke", "/",
                                             "/login", "/v1/documents/{}", "/static/app.{}.js", "/api/v2/users/{}/profile", "/healthz",
                                             "/v1/wallet/items?page={}", "/v1/applications/{}/submit"};
    static constexpr const char* kMethods[] = {"POST", "POST", "GET", "POST", "GET", "POST", "GET", "GET", "GET", "GET", "GET", "POST"};
    static constexpr const char* kAgents[] = {
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0", "ecert-app/3.2.1 (Android 14; SM-S918N)"};
    if (written_ == lines_) return false;
    const auto local = start_ + static_cast<std::int64_t>(static_cast<double>(written_++) * step_);
    const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{local / 86400}}};
    const auto seconds = local % 86400;
    const auto endpoint = random_() % 12;
    const auto client = random_() % 20000;
    const auto path = fmt::format(fmt::runtime(kPaths[endpoint]), 1000 + random_() % 900000);
    fmt::format_to(std::back_inserter(text), "10.{}.{}.{} - - [{:02}/{}/{}:{:02}:{:02}:{:02} +0900] \"{} {} HTTP/1.1\" {} {} \"https://example.org/\" \"{}\"\n",
                   client >> 16, (client >> 8) & 255, client & 255, static_cast<unsigned>(ymd.day()), kMonths[static_cast<unsigned>(ymd.month()) - 1],
                   static_cast<int>(ymd.year()), seconds / 3600, seconds % 3600 / 60, seconds % 60, kMethods[endpoint], path, random_() % 20 == 0 ? 404 : 200,
                   random_() % 20000, kAgents[client % 4]);
    return true;
  }

 private:
  std::size_t lines_;
  double step_;
  std::size_t written_ = 0;
  std::int64_t start_ = days_from_civil(2024, 3, 4) * 86400;
  Random random_{42};
};

std::string combined_log(std::size_t lines, int days) {
  std::string text;
  text.reserve(lines * 200);
  CombinedLines generator(lines, days);
  while (generator.next(text)) {
  }
  return text;
}

// Parse and aggregate lines held in memory: no I/O in the figure.
void parse_and_aggregate(benchmark::State& state) {
  const auto lines = static_cast<std::size_t>(state.range(0));
  const int days = static_cast<int>(lines / 250'000);  // the same traffic: 250,000 requests a day
  const auto text = combined_log(lines, days);
  std::int64_t parsed = 0;
  for (auto _ : state) {
    Calibrator calibrator(CalibrationOptions{});
    LineParser parser(LogFormat::automatic, {}, "");
    LogRecord record;
    std::size_t at = 0;
    std::uint64_t number = 0;
    while (at < text.size()) {
      const auto end = text.find('\n', at);
      const std::string_view line(text.data() + at, end - at);
      at = end + 1;
      ++number;
      calibrator.add_line();
      if (parser.parse(line, record) == Malformed::none) {
        calibrator.add(record);
      } else {
        calibrator.add_malformed(Malformed::bad_request_line, "memory", number);
      }
    }
    const auto calibration = calibrator.finish({"memory"});
    benchmark::DoNotOptimize(calibration.requests);
    parsed += static_cast<std::int64_t>(number);
  }
  state.SetItemsProcessed(parsed);
  state.counters["lines_per_s"] = benchmark::Counter(static_cast<double>(parsed), benchmark::Counter::kIsRate);
}
BENCHMARK(parse_and_aggregate)->Arg(250'000)->Arg(1'000'000)->Arg(4'000'000)->Unit(benchmark::kMillisecond)->Iterations(1);

// The whole command's reading: a plain file through zlib's reader, files sorted, everything fitted.
void calibrate_file(benchmark::State& state) {
  const auto path = std::filesystem::temp_directory_path() / fmt::format("uptake-calibrate-bench-{}.log", ::getpid());
  {
    std::ofstream out(path, std::ios::binary);
    out << combined_log(1'000'000, 4);
  }
  std::int64_t lines = 0;
  for (auto _ : state) {
    const auto calibration = calibrate_logs({path.string()}, CalibrationOptions{});
    lines += static_cast<std::int64_t>(calibration.lines);
  }
  std::filesystem::remove(path);
  state.SetItemsProcessed(lines);
  state.counters["lines_per_s"] = benchmark::Counter(static_cast<double>(lines), benchmark::Counter::kIsRate);
}
BENCHMARK(calibrate_file)->Unit(benchmark::kMillisecond)->Iterations(2);

// Peak memory of a calibration of `lines` lines streamed from a generator (never held), in a
// child process of its own so that each size starts from nothing: the kernel's count of its
// largest resident set. Flat in lines means the same figure for 0.25, 1 and 4 million.
void memory_by_lines(benchmark::State& state) {
  const auto lines = static_cast<std::size_t>(state.range(0));
  long peak_kib = 0;
  for (auto _ : state) {
    const pid_t child = ::fork();
    if (child == 0) {
      Calibrator calibrator(CalibrationOptions{});
      LineParser parser(LogFormat::automatic, {}, "");
      LogRecord record;
      CombinedLines generator(lines, static_cast<int>(lines / 250'000));
      std::string line;
      while (generator.next(line)) {
        calibrator.add_line();
        if (parser.parse(std::string_view(line).substr(0, line.size() - 1), record) == Malformed::none) calibrator.add(record);
        line.clear();
      }
      const auto calibration = calibrator.finish({"generated"});
      ::_exit(calibration.requests == lines ? 0 : 1);
    }
    int status = 0;
    rusage usage{};
    ::wait4(child, &status, 0, &usage);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) state.SkipWithError("the calibration in the child failed");
    peak_kib = usage.ru_maxrss;
  }
  state.counters["peak_rss_MiB"] = static_cast<double>(peak_kib) / 1024;
}
BENCHMARK(memory_by_lines)->Arg(250'000)->Arg(1'000'000)->Arg(4'000'000)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();

// The live metrics exposition without a network: names and TYPE lines in both formats,
// cumulative histogram buckets in seconds, label values escaped, threads' figures summed.
#include <catch2/catch.hpp>

#include <string>

#include "uptake/loadgen/live_metrics.hpp"

using namespace uptake::loadgen;

namespace {

LiveFigures figures_of(const std::string& endpoint, std::initializer_list<std::int64_t> response_ns) {
  LiveFigures figures;
  figures.endpoints.emplace_back();
  auto& result = figures.endpoints.back();
  result.name = endpoint;
  result.planned = result.sent = result.completed = response_ns.size();
  result.ok = response_ns.size() - 1;
  for (const auto ns : response_ns) result.response_time.record(ns);
  figures.errors.emplace_back();
  figures.errors.back()[static_cast<std::size_t>(ErrorClass::http_5xx)] = 1;
  figures.schedule_lag.record(20'000);
  return figures;
}

bool has_line(const std::string& text, const std::string& line) { return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n"); }

}  // namespace

TEST_CASE("the Prometheus text format: counters named with _total, buckets cumulative in seconds") {
  const auto figures = figures_of("verify", {50'000, 800'000, 3'000'000, 20'000'000'000});  // 50 µs, 0.8 ms, 3 ms, 20 s
  const auto text = render_metrics(figures, {"smoke", "http://127.0.0.1:8080", "open_loop", "0/1", std::nullopt, 0}, MetricsFormat::prometheus);
  CHECK(has_line(text, "# TYPE uptake_requests_completed_total counter"));
  CHECK(has_line(text, "uptake_requests_completed_total{endpoint=\"verify\"} 4"));
  CHECK(has_line(text, "uptake_requests_ok_total{endpoint=\"verify\"} 3"));
  CHECK(has_line(text, "uptake_request_errors_total{endpoint=\"verify\",class=\"http_5xx\"} 1"));
  CHECK(has_line(text, "uptake_request_errors_total{endpoint=\"verify\",class=\"timeout\"} 0"));
  CHECK(has_line(text, "# TYPE uptake_response_time_seconds histogram"));
  CHECK(has_line(text, "uptake_response_time_seconds_bucket{endpoint=\"verify\",le=\"0.0001\"} 1"));
  CHECK(has_line(text, "uptake_response_time_seconds_bucket{endpoint=\"verify\",le=\"0.001\"} 2"));
  CHECK(has_line(text, "uptake_response_time_seconds_bucket{endpoint=\"verify\",le=\"0.0025\"} 2"));
  CHECK(has_line(text, "uptake_response_time_seconds_bucket{endpoint=\"verify\",le=\"0.005\"} 3"));
  CHECK(has_line(text, "uptake_response_time_seconds_bucket{endpoint=\"verify\",le=\"10\"} 3"));
  CHECK(has_line(text, "uptake_response_time_seconds_bucket{endpoint=\"verify\",le=\"+Inf\"} 4"));
  CHECK(has_line(text, "uptake_response_time_seconds_count{endpoint=\"verify\"} 4"));
  CHECK(has_line(text, "uptake_schedule_lag_seconds_bucket{le=\"0.0001\"} 1"));
  CHECK(has_line(text, "uptake_run_finished 0"));
  CHECK(text.find("uptake_capacity_trial") == std::string::npos);  // a run, not a capacity search
  CHECK(text.find("# EOF") == std::string::npos);
  // The sum, from the histogram: 20.0038 s to its 3 significant digits.
  const auto sum_at = text.find("uptake_response_time_seconds_sum{endpoint=\"verify\"} ");
  REQUIRE(sum_at != std::string::npos);
  CHECK(std::stod(text.substr(text.find(' ', sum_at) + 1)) == Approx(20.0038).epsilon(0.002));
}

TEST_CASE("OpenMetrics: counter families without _total, an EOF marker, and capacity's trial") {
  const auto figures = figures_of("issue", {1'000'000});
  const auto text = render_metrics(figures, {"smoke", "http://127.0.0.1:8080", "capacity", "0/1", 250.0, 3}, MetricsFormat::openmetrics);
  CHECK(has_line(text, "# TYPE uptake_requests_planned counter"));
  CHECK(has_line(text, "uptake_requests_planned_total{endpoint=\"issue\"} 1"));
  CHECK(has_line(text, "uptake_capacity_trial 3"));
  CHECK(has_line(text, "uptake_capacity_trial_rate_rps 250"));
  CHECK(text.ends_with("# EOF\n"));
  CHECK(format_for_accept("application/openmetrics-text; version=1.0.0,text/plain;q=0.5") == MetricsFormat::openmetrics);
  CHECK(format_for_accept("text/plain") == MetricsFormat::prometheus);
  CHECK(format_for_accept("") == MetricsFormat::prometheus);
}

TEST_CASE("label values are escaped, and threads' figures add up") {
  auto one = figures_of("a\"b\\c\nd", {1'000});
  const auto text = render_metrics(one, {"say \"hi\"", "t", "open_loop", "0/1", std::nullopt, 0}, MetricsFormat::prometheus);
  CHECK(text.find("endpoint=\"a\\\"b\\\\c\\nd\"") != std::string::npos);
  CHECK(text.find("scenario=\"say \\\"hi\\\"\"") != std::string::npos);

  LiveFigures sum;
  auto other = figures_of("a\"b\\c\nd", {2'000, 3'000});
  one.in_flight = 2;
  other.in_flight = 3;
  one.busiest_thread_fraction = 0.4;
  other.busiest_thread_fraction = 0.7;
  sum.add(one);
  sum.add(other);
  CHECK(sum.endpoints[0].completed == 3);
  CHECK(sum.endpoints[0].response_time.total_count() == 3);
  CHECK(sum.errors[0][static_cast<std::size_t>(ErrorClass::http_5xx)] == 2);
  CHECK(sum.schedule_lag.total_count() == 2);
  CHECK(sum.in_flight == 5);
  CHECK(sum.busiest_thread_fraction == 0.7);
}

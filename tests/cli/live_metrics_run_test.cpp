// Live metrics, end to end: `uptake run --metrics-listen` against a loopback server, scraped
// while it runs and after it ends. Mid-run scrapes show counters that only grow; the final
// figures equal summary.json's; the Prometheus text passes `promtool check metrics` (Debian's
// prometheus package, when installed), and the OpenMetrics form has its own TYPE lines and EOF.
#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <thread>

#include "cli/cli_helpers.hpp"
#include "cli/loopback_http_server.hpp"

namespace fs = std::filesystem;
namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

std::uint16_t free_port() {
  net::io_context io;
  net::ip::tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

// GET /metrics on 127.0.0.1:port; std::nullopt when nothing listens yet.
std::optional<std::string> scrape(std::uint16_t port, bool openmetrics = false) {
  net::io_context io;
  net::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect({net::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return std::nullopt;
  const std::string request = std::string("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n") +
                              (openmetrics ? "Accept: application/openmetrics-text; version=1.0.0\r\n" : "") + "\r\n";
  net::write(socket, net::buffer(request), ec);
  std::string answer;
  std::array<char, 65536> buffer{};
  for (;;) {
    const auto read = socket.read_some(net::buffer(buffer), ec);
    answer.append(buffer.data(), read);
    if (ec) break;
  }
  return answer;
}

// The samples of an exposition by name and labels ("uptake_requests_planned_total{endpoint=\"request\"}").
std::map<std::string, double> samples(const std::string& answer) {
  std::map<std::string, double> values;
  std::istringstream lines(answer.substr(answer.find("\r\n\r\n") + 4));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() == '#') continue;
    const auto space = line.rfind(' ');
    values[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return values;
}

// promtool's verdict on an exposition, or std::nullopt when promtool is not installed.
std::optional<std::string> promtool_problems(const std::string& answer, const fs::path& folder) {
  if (std::system("command -v promtool > /dev/null 2>&1") != 0) return std::nullopt;
  const auto file = folder / "scrape.txt";
  std::ofstream(file) << answer.substr(answer.find("\r\n\r\n") + 4);
  const auto report = folder / "promtool.txt";
  const int status = std::system(("promtool check metrics < " + file.string() + " > " + report.string() + " 2>&1").c_str());
  return status == 0 ? std::string() : cli_test::read(report) + " (exit " + std::to_string(status) + ")";
}

}  // namespace

TEST_CASE("live metrics are scraped while a run goes, and end equal to summary.json") {
  const auto folder = cli_test::scratch_folder("live-metrics");
  cli_test::LoopbackHttpServer server([](cli_test::HttpExchange& exchange) {
    if (exchange.target.find("missing") != std::string::npos) exchange.status = "404 Not Found";
  });
  const auto port = free_port();
  const auto results = folder / "results";
  cli_test::Outcome run;
  std::thread running([&] {
    run = cli_test::uptake("run --url " + server.url() + "/ok --rate 200 --duration 4s --metrics-listen 127.0.0.1:" + std::to_string(port) +
                           " --metrics-linger 6s --out " + results.string());
  });

  // Scrapes about twice a second until the final figures are served after summary.json.
  std::vector<std::map<std::string, double>> during;
  std::optional<std::string> final_answer;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto answer = scrape(port);
    if (answer) {
      REQUIRE(answer->starts_with("HTTP/1.1 200 OK"));
      CHECK(answer->find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
      auto values = samples(*answer);
      if (values["uptake_run_finished"] == 1 && fs::exists(results / "summary.json")) {
        final_answer = answer;
        break;
      }
      if (values["uptake_run_finished"] == 0) during.push_back(std::move(values));
    }
    std::this_thread::sleep_for(400ms);
  }
  REQUIRE(final_answer);

  // Mid-run: the run is labelled, and its counters grow scrape by scrape.
  const std::string planned = "uptake_requests_planned_total{endpoint=\"request\"}";
  const std::string completed = "uptake_requests_completed_total{endpoint=\"request\"}";
  REQUIRE(during.size() >= 3);
  std::size_t growing = 0;
  for (std::size_t i = 1; i < during.size(); ++i) {
    CHECK(during[i][planned] >= during[i - 1][planned]);
    CHECK(during[i][completed] >= during[i - 1][completed]);
    growing += during[i][completed] > during[i - 1][completed] ? 1 : 0;
  }
  CHECK(growing >= 2);

  // The end: the same figures as the results.
  const auto last = samples(*final_answer);
  const auto summary = nlohmann::json::parse(cli_test::read(results / "summary.json"));
  const auto& counts = summary["endpoints"]["request"]["requests"];
  CHECK(last.at(planned) == counts["planned"].get<double>());
  CHECK(last.at("uptake_requests_sent_total{endpoint=\"request\"}") == counts["sent"].get<double>());
  CHECK(last.at(completed) == counts["completed"].get<double>());
  CHECK(last.at("uptake_requests_ok_total{endpoint=\"request\"}") == counts["ok"].get<double>());
  CHECK(last.at("uptake_response_time_seconds_count{endpoint=\"request\"}") == counts["completed"].get<double>());
  CHECK(last.at("uptake_response_time_seconds_bucket{endpoint=\"request\",le=\"+Inf\"}") == counts["completed"].get<double>());
  CHECK(last.at("uptake_schedule_lag_seconds_count") == summary["requests"]["planned"].get<double>());
  for (const auto& [error_class, count] : summary["errors"].items()) {
    INFO(error_class);
    CHECK(last.at("uptake_request_errors_total{endpoint=\"request\",class=\"" + error_class + "\"}") == count.get<double>());
  }
  CHECK(counts["completed"].get<double>() > 600);
  CHECK(last.count("uptake_run_info{scenario=\"ad hoc\",target=\"" + server.url() + "/ok\",mode=\"open_loop\",shard=\"0/1\"}") == 1);

  // OpenMetrics when asked: counter families without _total, and its EOF marker; the Prometheus
  // text passes promtool's checks.
  const auto openmetrics = scrape(port, true);
  REQUIRE(openmetrics);
  CHECK(openmetrics->find("Content-Type: application/openmetrics-text; version=1.0.0") != std::string::npos);
  CHECK(openmetrics->ends_with("# EOF\n"));
  CHECK(openmetrics->find("# TYPE uptake_requests_planned counter") != std::string::npos);
  if (const auto problems = promtool_problems(*final_answer, folder)) {
    INFO(*problems);
    CHECK(problems->empty());
  } else {
    WARN("promtool is not installed (Debian's prometheus package): the exposition's lint is not checked");
  }
  running.join();
  INFO(run.output);
  CHECK(run.exit_code == 0);
  CHECK(run.output.find("live metrics at http://127.0.0.1:" + std::to_string(port) + "/metrics") != std::string::npos);
}

TEST_CASE("live metrics options are checked before any load") {
  cli_test::check_refused("run --url http://127.0.0.1:9/ --rate 10 --duration 1s --metrics-listen 127.0.0.1", "--metrics-listen");
  cli_test::check_refused("run --url http://127.0.0.1:9/ --rate 10 --duration 1s --metrics-listen 127.0.0.1:99999", "has no valid port");
  cli_test::check_refused("run --url http://127.0.0.1:9/ --rate 10 --duration 1s --metrics-listen localhost:9464", "is not an IP address");
  cli_test::check_refused("run --url http://127.0.0.1:9/ --rate 10 --duration 1s --metrics-linger 5s", "without --metrics-listen");
}

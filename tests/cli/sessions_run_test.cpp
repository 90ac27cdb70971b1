// Journeys run as sessions, end to end: the uptake command against a loopback server that
// records, for every request, the session it says it belongs to. No verify comes before its
// credential's issuance, every verify carries the credential its own session was issued, and the
// pauses between a session's answer and its next request follow the journey's think time.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include "cli/cli_helpers.hpp"
#include "cli/loopback_http_server.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Records, for each request, the session it names and the pause since its session's last answer.
class SessionServer {
 public:
  SessionServer() : server_([this](cli_test::HttpExchange& exchange) { answer(exchange); }) {}
  std::string url() const { return server_.url(); }

  struct Tally {
    std::uint64_t issued = 0, verified = 0;
    std::uint64_t unknown_credential = 0;  // a verify before (or without) its issuance
    std::uint64_t foreign_credential = 0;  // a verify of another session's credential
    std::vector<double> pauses;            // seconds from a session's last answer to its next request
  };
  Tally tally() const {
    const std::lock_guard lock(mutex_);
    return tally_;
  }

 private:
  void answer(cli_test::HttpExchange& exchange) {
    std::smatch match;
    std::string session, credential;
    if (std::regex_search(exchange.body, match, std::regex(R"re("session":"([0-9]+)")re"))) session = match[1];
    if (std::regex_search(exchange.body, match, std::regex(R"re("credential":"([^"]*)")re"))) credential = match[1];
    const std::lock_guard lock(mutex_);
    if (const auto last = last_answer_.find(session); last != last_answer_.end()) {
      tally_.pauses.push_back(std::chrono::duration<double>(exchange.arrived - last->second).count());
    }
    if (exchange.target == "/v1/issue") {
      const auto name = "c" + std::to_string(tally_.issued++);
      credential_session_[name] = session;
      exchange.status = "201 Created";
      exchange.answer_body = R"({"credential":")" + name + R"("})";
    } else if (exchange.target == "/v1/verify") {
      ++tally_.verified;
      const auto owner = credential_session_.find(credential);
      if (owner == credential_session_.end()) ++tally_.unknown_credential;
      else if (owner->second != session) ++tally_.foreign_credential;
    } else {
      exchange.status = "404 Not Found";
    }
    last_answer_[session] = Clock::now();
  }

  mutable std::mutex mutex_;
  Tally tally_;
  std::map<std::string, std::string> credential_session_;
  std::map<std::string, Clock::time_point> last_answer_;
  cli_test::LoopbackHttpServer server_;  // last: it stops before what its answers use goes
};

// 50 sessions a second for 3 s: issue, then verify (80%), verified again (30%), with
// exponential pauses of mean 100 ms.
fs::path write_scenario(const fs::path& folder) {
  const auto file = folder / "sessions.yaml";
  std::ofstream(file) << R"(name: sessions
seed: 11
history:
  series:
    flat:
      yearly: { 2023: 1576800000, 2024: 1576800000 }
      model: exponential
growth: { project_to: 2024 }
journeys:
  start: issue
  think_time: exp:100ms
  steps:
    issue:  { endpoint: issue, next: { verify: 0.8, exit: 0.2 } }
    verify: { endpoint: verify, next: { verify: 0.3, exit: 0.7 } }
flows:
  issue:
    method: POST
    path: /v1/issue
    headers: { Content-Type: application/json }
    body: '{"session":"{{session_id}}"}'
    capture: { credential: /credential }
  verify:
    method: POST
    path: /v1/verify
    headers: { Content-Type: application/json }
    body: '{"credential":"{{credential}}","session":"{{session_id}}"}'
replay: { window: interval, from: 2024-03-04T10:00, to: 2024-03-04T10:00:03, scale: 1 }
)";
  return file;
}

}  // namespace

TEST_CASE("journeys run as sessions: their own credentials, in order, after their pauses") {
  const auto folder = cli_test::scratch_folder("sessions");
  const auto scenario = write_scenario(folder);
  SessionServer server;
  const auto results = folder / "results";
  const auto run = cli_test::uptake("run " + scenario.string() + " --target " + server.url() + " --out " + results.string() + " --warmup 0");
  INFO(run.output);
  REQUIRE(fs::exists(results / "summary.json"));
  const auto summary = nlohmann::json::parse(cli_test::read(results / "summary.json"));
  const auto tally = server.tally();

  // About 150 sessions arrived (Poisson: within 5 standard deviations).
  const auto& sessions = summary["sessions"];
  REQUIRE(sessions.is_object());
  const auto started = sessions["started"].get<double>();
  CHECK(std::abs(started - 150) < 5 * std::sqrt(150.0));
  CHECK(sessions["started"] == sessions["completed"].get<std::uint64_t>() + sessions["abandoned"].get<std::uint64_t>() + sessions["unfinished"].get<std::uint64_t>());
  CHECK(sessions["abandoned"] == 0);
  // Each session issued once; a session still pausing when the 3 s ended is unfinished, not lost.
  CHECK(tally.issued == static_cast<std::uint64_t>(started));
  CHECK(summary["endpoints"]["issue"]["requests"]["completed"] == tally.issued);
  CHECK(summary["endpoints"]["verify"]["requests"]["completed"] == tally.verified);
  CHECK(summary["errors"]["missing_capture"] == 0);
  // Verifies per session: 0.8 / 0.7 = 1.14 expected of a whole session; those cut at the end
  // send fewer.
  CHECK(static_cast<double>(tally.verified) > 0.6 * started);
  CHECK(static_cast<double>(tally.verified) < 1.6 * started);

  // Every verify carried a credential issued before it, to its own session.
  CHECK(tally.unknown_credential == 0);
  CHECK(tally.foreign_credential == 0);

  // The pauses between a session's answer and its next request are exponential with mean
  // 100 ms (plus loopback time): a Kolmogorov-Smirnov test at the 1% level.
  auto pauses = tally.pauses;
  REQUIRE(pauses.size() > 60);
  std::sort(pauses.begin(), pauses.end());
  double largest_gap = 0;
  const double n = static_cast<double>(pauses.size());
  for (std::size_t i = 0; i < pauses.size(); ++i) {
    const double f = 1 - std::exp(-pauses[i] / 0.1);
    largest_gap = std::max({largest_gap, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  INFO("KS statistic " << largest_gap << " over " << pauses.size() << " pauses");
  CHECK(largest_gap < 1.63 / std::sqrt(n));
  CHECK(run.output.find("sessions: ") != std::string::npos);
}

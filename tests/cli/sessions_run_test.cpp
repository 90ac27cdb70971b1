// Journeys run as sessions, end to end: the uptake command against a loopback server that
// records, for every request, the session it says it belongs to. No verify comes before its
// credential's issuance, every verify carries the credential its own session was issued, and the
// pauses between a session's answer and its next request follow the journey's think time.
#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli_helpers.hpp"

namespace fs = std::filesystem;
namespace net = boost::asio;
using net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// One thread per connection, blocking: enough for a few hundred requests on loopback.
class SessionServer {
 public:
  SessionServer() : acceptor_(io_, {net::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { accept(); });
  }
  ~SessionServer() {
    stopping_ = true;
    boost::system::error_code ignored;
    tcp::socket wake(io_);
    wake.connect(acceptor_.local_endpoint(), ignored);
    thread_.join();
    for (auto& connection : connections_) connection.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }

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
  void accept() {
    while (!stopping_) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      connections_.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
    }
  }
  void serve(tcp::socket socket) {
    net::streambuf buffer;
    for (int requests = 0; requests < 100000; ++requests) {
      boost::system::error_code ec;
      const auto head_size = net::read_until(socket, buffer, "\r\n\r\n", ec);
      if (ec) return;
      const auto arrived = Clock::now();
      const std::string head(net::buffers_begin(buffer.data()), net::buffers_begin(buffer.data()) + static_cast<long>(head_size));
      buffer.consume(head_size);
      std::smatch match;
      std::size_t length = 0;
      if (std::regex_search(head, match, std::regex("\r\nContent-Length: ([0-9]+)\r\n", std::regex::icase))) length = std::stoul(match[1]);
      if (buffer.size() < length) net::read(socket, buffer, net::transfer_exactly(length - buffer.size()), ec);
      if (ec) return;
      const std::string body(net::buffers_begin(buffer.data()), net::buffers_begin(buffer.data()) + static_cast<long>(length));
      buffer.consume(length);
      std::string session, credential;
      if (std::regex_search(body, match, std::regex(R"re("session":"([0-9]+)")re"))) session = match[1];
      if (std::regex_search(body, match, std::regex(R"re("credential":"([^"]*)")re"))) credential = match[1];
      const auto target = head.substr(head.find(' ') + 1, head.find(" HTTP/1.1") - head.find(' ') - 1);
      std::string status = "200 OK", answer_body = "{}";
      {
        const std::lock_guard lock(mutex_);
        if (const auto last = last_answer_.find(session); last != last_answer_.end()) {
          tally_.pauses.push_back(std::chrono::duration<double>(arrived - last->second).count());
        }
        if (target == "/v1/issue") {
          const auto name = "c" + std::to_string(tally_.issued++);
          credential_session_[name] = session;
          status = "201 Created";
          answer_body = R"({"credential":")" + name + R"("})";
        } else if (target == "/v1/verify") {
          ++tally_.verified;
          const auto owner = credential_session_.find(credential);
          if (owner == credential_session_.end()) ++tally_.unknown_credential;
          else if (owner->second != session) ++tally_.foreign_credential;
        } else {
          status = "404 Not Found";
        }
        last_answer_[session] = Clock::now();
      }
      const auto answer = "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(answer_body.size()) + "\r\n\r\n" + answer_body;
      net::write(socket, net::buffer(answer), ec);
      if (ec) return;
    }
  }

  net::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::vector<std::thread> connections_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  Tally tally_;
  std::map<std::string, std::string> credential_session_;
  std::map<std::string, Clock::time_point> last_answer_;
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

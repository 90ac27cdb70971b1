// Cookies and redirects, end to end: the uptake command runs a login journey against a loopback
// server. The login answers 302 with a session cookie; the redirect is followed as a GET that
// carries it; later steps carry it too, but not a cookie scoped to another path or one the
// server removed. A redirect to another origin is never followed (a second loopback server
// counts what reaches it: nothing), and a redirect loop stops at the flow's limit.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <string>

#include "cli/cli_helpers.hpp"
#include "cli/loopback_http_server.hpp"

namespace fs = std::filesystem;

namespace {

std::string header_of(const std::string& head, const std::string& name) {
  std::smatch match;
  if (std::regex_search(head, match, std::regex("\r\n" + name + ": ([^\r]*)\r\n", std::regex::icase))) return match[1];
  return {};
}

class LoginServer {
 public:
  explicit LoginServer(std::string elsewhere) : elsewhere_(std::move(elsewhere)), server_([this](cli_test::HttpExchange& exchange) { answer(exchange); }) {}
  std::string url() const { return server_.url(); }

  struct Tally {
    std::uint64_t logins = 0;
    std::uint64_t welcomes = 0, welcomes_as_get_without_body = 0;
    std::uint64_t homes = 0;
    std::uint64_t own_cookie = 0;       // a request after the login that carried its session's sid
    std::uint64_t wrong_cookie = 0;     // one that carried none, or another session's
    std::uint64_t leaked_cookie = 0;    // admin (path /admin) or gone (removed) sent where it must not be
    std::uint64_t loops = 0, aways = 0;
  };
  Tally tally() const {
    const std::lock_guard lock(mutex_);
    return tally_;
  }

 private:
  void answer(cli_test::HttpExchange& exchange) {
    const auto session = header_of(exchange.head, "X-Session");
    const auto cookie = header_of(exchange.head, "Cookie");
    const std::lock_guard lock(mutex_);
    const auto path = exchange.target.substr(0, exchange.target.find('?'));
    if (path == "/login") {
      const auto sid = "s" + std::to_string(tally_.logins++);
      sid_of_[session] = sid;
      exchange.status = "302 Found";
      exchange.headers = "Location: /welcome?from=login\r\nSet-Cookie: sid=" + sid + "; Path=/; HttpOnly\r\n"
                         "Set-Cookie: admin=1; Path=/admin\r\nSet-Cookie: gone=1; Path=/\r\n";
      exchange.answer_body = "";
      return;
    }
    // Every later request: the session's own sid, and neither the /admin cookie nor one removed.
    const auto sid = sid_of_.find(session);
    if (sid != sid_of_.end() && cookie.find("sid=" + sid->second) != std::string::npos) ++tally_.own_cookie;
    else ++tally_.wrong_cookie;
    if (cookie.find("admin=") != std::string::npos) ++tally_.leaked_cookie;
    if (path == "/welcome") {
      ++tally_.welcomes;
      if (exchange.head.starts_with("GET ") && exchange.body.empty() && header_of(exchange.head, "Content-Length").empty()) ++tally_.welcomes_as_get_without_body;
      exchange.headers = "Set-Cookie: gone=; Max-Age=0; Path=/\r\n";
      exchange.answer_body = R"({"welcome":true})";
    } else if (path == "/home") {
      ++tally_.homes;
      if (cookie.find("gone=") != std::string::npos) ++tally_.leaked_cookie;
      exchange.answer_body = R"({"home":true})";
    } else if (path == "/away") {
      ++tally_.aways;
      exchange.status = "302 Found";
      exchange.headers = "Location: " + elsewhere_ + "/stolen\r\n";
    } else if (path == "/loop") {
      ++tally_.loops;
      exchange.status = "307 Temporary Redirect";
      exchange.headers = "Location: /loop\r\n";
    } else {
      exchange.status = "404 Not Found";
    }
  }

  std::string elsewhere_;
  mutable std::mutex mutex_;
  Tally tally_;
  std::map<std::string, std::string> sid_of_;  // session -> the sid its login set
  cli_test::LoopbackHttpServer server_;        // last: it stops before what its answers use goes
};

// 20 sessions a second for 2 s: login (its redirect followed), home, away, loop.
fs::path write_scenario(const fs::path& folder) {
  const auto file = folder / "login.yaml";
  std::ofstream(file) << R"(name: login
seed: 5
history:
  series:
    flat:
      yearly: { 2023: 630720000, 2024: 630720000 }
      model: exponential
growth: { project_to: 2024 }
journeys:
  start: login
  think_time: const:10ms
  steps:
    login: { endpoint: login, next: { home: 1 } }
    home:  { endpoint: home, next: { away: 1 } }
    away:  { endpoint: away, next: { loop: 1 } }
    loop:  { endpoint: loop, next: { exit: 1 } }
flows:
  login:
    method: POST
    path: /login
    headers: { Content-Type: application/json, X-Session: '{{session_id}}' }
    body: '{"user":"u{{session_id}}"}'
    redirects: 1
    check: { status: 200 }
  home:
    method: GET
    path: /home
    headers: { X-Session: '{{session_id}}' }
  away:
    method: GET
    path: /away
    headers: { X-Session: '{{session_id}}' }
    redirects: 5
  loop:
    method: GET
    path: /loop
    headers: { X-Session: '{{session_id}}' }
    redirects: 3
replay: { window: interval, from: 2024-03-04T10:00, to: 2024-03-04T10:00:02, scale: 1 }
)";
  return file;
}

}  // namespace

TEST_CASE("a session's cookies round-trip, and redirects are followed within the target and the limit") {
  const auto folder = cli_test::scratch_folder("cookies-redirects");
  const auto scenario = write_scenario(folder);
  std::atomic<int> elsewhere_hits{0};
  cli_test::LoopbackHttpServer elsewhere([&](cli_test::HttpExchange&) { ++elsewhere_hits; });
  LoginServer server(elsewhere.url());
  const auto results = folder / "results";
  const auto run = cli_test::uptake("run " + scenario.string() + " --target " + server.url() + " --out " + results.string() + " --warmup 0");
  INFO(run.output);
  REQUIRE(fs::exists(results / "summary.json"));
  const auto summary = nlohmann::json::parse(cli_test::read(results / "summary.json"));
  const auto tally = server.tally();
  const auto& endpoints = summary["endpoints"];

  // About 40 sessions (Poisson: within 5 standard deviations), each logged in once.
  const auto started = summary["sessions"]["started"].get<std::uint64_t>();
  CHECK(std::abs(static_cast<double>(started) - 40) < 5 * std::sqrt(40.0));
  CHECK(tally.logins == started);

  // The login's 302 was followed: one request counted, one redirect, a GET without the POST's
  // body, carrying the cookie the 302 set; its check saw the last answer (200).
  CHECK(endpoints["login"]["requests"]["completed"] == tally.logins);
  CHECK(endpoints["login"]["requests"]["ok"] == tally.logins);
  CHECK(endpoints["login"]["redirects"] == tally.logins);
  CHECK(tally.welcomes == tally.logins);
  CHECK(tally.welcomes_as_get_without_body == tally.welcomes);

  // Every later request carried its own session's cookie, none a cookie scoped to /admin or
  // one the server removed.
  CHECK(tally.homes > 0);
  CHECK(tally.wrong_cookie == 0);
  CHECK(tally.own_cookie == tally.welcomes + tally.homes + tally.aways + tally.loops);
  CHECK(tally.leaked_cookie == 0);
  CHECK(endpoints["home"]["requests"]["ok"] == tally.homes);

  // A redirect to another origin is an error, and nothing reached that origin.
  CHECK(elsewhere_hits == 0);
  CHECK(endpoints["away"]["requests"]["errors"] == tally.aways);
  CHECK(endpoints["away"]["redirects"] == 0);
  // A loop stops after the flow's 3 redirects: 4 requests on the wire, one counted, an error.
  const auto loops = endpoints["loop"]["requests"]["completed"].get<std::uint64_t>();
  CHECK(loops > 0);
  CHECK(tally.loops == 4 * loops);
  CHECK(endpoints["loop"]["redirects"] == 3 * loops);
  CHECK(endpoints["loop"]["requests"]["errors"] == loops);
  CHECK(summary["errors"]["redirect"] == tally.aways + loops);
  CHECK(run.output.find("redirect") != std::string::npos);
}

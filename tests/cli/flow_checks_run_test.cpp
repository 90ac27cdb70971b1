// Flows with checks, header and regex captures and an environment secret, run by the uptake
// command against a loopback server that answers with chosen heads and bodies: failed checks are
// counted and sampled, a negative path that expects 401 is ok, captured values feed later
// requests, and the secret reaches the target but no file of the results.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli_helpers.hpp"
#include "cli/loopback_http_server.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kSecret = "s3cr3t-Zq9/x+y";

// Every fourth issuance answers without a credential and echoes the Authorization header it
// got, as a careless target might.
class FlowServer {
 public:
  FlowServer() : server_([this](cli_test::HttpExchange& exchange) { answer(exchange); }) {}
  std::string url() const { return server_.url(); }
  std::uint64_t authorized() const { return authorized_; }
  std::uint64_t status_requests() const { return status_requests_; }
  std::uint64_t malformed_status_requests() const { return malformed_status_requests_; }

 private:
  void answer(cli_test::HttpExchange& exchange) {
    std::smatch match;
    std::string authorization;
    if (std::regex_search(exchange.head, match, std::regex("\r\nAuthorization: ([^\r]*)\r\n"))) authorization = match[1];
    if (authorization == "Bearer " + kSecret) ++authorized_;
    const auto& target = exchange.target;
    if (target == "/v1/issue") {
      const auto n = issued_++;
      exchange.status = "201 Created";
      if (n % 4 == 3) {
        exchange.answer_body = R"({"state":"revoked","seen":")" + authorization + R"("})";
      } else {
        exchange.headers = "Location: /v1/items/it-" + std::to_string(n) + "\r\n";
        exchange.answer_body = R"({"credential":"c)" + std::to_string(n) + R"(","state":"active","note":"ticket=T)" + std::to_string(n) + R"( issued"})";
      }
    } else if (target.starts_with("/v1/status/")) {
      // The ticket from the body's text and the location from the Location header, escaped.
      ++status_requests_;
      if (!std::regex_match(target, std::regex(R"(/v1/status/T[0-9]+\?from=%2Fv1%2Fitems%2Fit-[0-9]+)"))) {
        ++malformed_status_requests_;
        exchange.status = "404 Not Found";
      }
    } else if (target == "/v1/deny") {
      exchange.status = "401 Unauthorized";
      exchange.answer_body = R"({"error":"unauthorized"})";
    } else {
      exchange.status = "404 Not Found";
    }
  }

  std::atomic<std::uint64_t> issued_{0};
  std::atomic<std::uint64_t> authorized_{0};
  std::atomic<std::uint64_t> status_requests_{0};
  std::atomic<std::uint64_t> malformed_status_requests_{0};
  cli_test::LoopbackHttpServer server_;  // last: it stops before the counters go
};

fs::path write_scenario(const fs::path& folder) {
  const auto file = folder / "flows.yaml";
  std::ofstream(file) << R"(name: flow checks
seed: 5
history:
  series:
    flat:
      yearly: { 2023: 1576800000, 2024: 1576800000 }
      model: exponential
growth: { project_to: 2024 }
mix: { endpoints: { issue: 0.5, status: 0.3, deny: 0.2 } }
flows:
  issue:
    method: POST
    path: /v1/issue
    headers: { Content-Type: application/json, Authorization: 'Bearer {{env.UPTAKE_FLOW_SECRET}}' }
    body: '{"holder":"{{citizen_id}}"}'
    capture:
      location: { header: Location }
      ticket: { regex: 'ticket=([A-Za-z0-9]+)' }
    check: { status: 201, json: { /credential: exists, /state: active } }
  status:
    method: GET
    path: '/v1/status/{{ticket}}?from={{location}}'
    check: { status: [200] }
  deny:
    method: POST
    path: /v1/deny
    body: '{"token":"{{env.UPTAKE_FLOW_SECRET}}"}'
    check: { status: [401], json: { /error: unauthorized } }
replay: { window: interval, from: 2024-03-04T10:00, to: 2024-03-04T10:00:03, scale: 1 }
)";
  return file;
}

}  // namespace

TEST_CASE("checks, header and regex captures and an env secret, end to end") {
  const auto folder = cli_test::scratch_folder("flow-checks");
  const auto scenario = write_scenario(folder);
  FlowServer server;

  ::unsetenv("UPTAKE_FLOW_SECRET");
  // A missing variable: refused by check and by run, before any load and with no results.
  const auto checked = cli_test::uptake("check " + scenario.string());
  CHECK(checked.exit_code == 2);
  CHECK_THAT(checked.output, Catch::Contains("flows.yaml:14:") && Catch::Contains("UPTAKE_FLOW_SECRET is not set"));
  const auto refused = cli_test::uptake("run " + scenario.string() + " --target " + server.url() + " --out " + (folder / "missing").string());
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.output, Catch::Contains("UPTAKE_FLOW_SECRET"));
  CHECK_FALSE(fs::exists(folder / "missing"));
  CHECK(server.authorized() == 0);

  ::setenv("UPTAKE_FLOW_SECRET", kSecret.c_str(), 1);
  CHECK(cli_test::uptake("check " + scenario.string()).exit_code == 0);
  const auto results = folder / "results";
  const auto run = cli_test::uptake("run " + scenario.string() + " --target " + server.url() + " --out " + results.string());
  ::unsetenv("UPTAKE_FLOW_SECRET");
  INFO(run.output);
  REQUIRE(fs::exists(results / "summary.json"));
  const auto summary = nlohmann::json::parse(cli_test::read(results / "summary.json"));

  // The secret was sent, and the target echoed it in the answers whose checks failed.
  CHECK(server.authorized() > 0);
  const auto& errors = summary["errors"];
  CHECK(errors["check_failed"].get<std::uint64_t>() > 0);
  CHECK(errors["check_failed"] == summary["endpoints"]["issue"]["requests"]["errors"]);
  CHECK(errors["http_4xx"] == 0);
  CHECK(errors["missing_capture"] == 0);
  CHECK(errors["unsafe_value"] == 0);
  const auto& failure = summary["check_failure"];
  REQUIRE(failure.is_object());
  CHECK(failure["flow"] == "issue");
  CHECK(failure["check"] == "json /credential exists");
  CHECK(failure["status"] == 201);
  CHECK_THAT(failure["body"].get<std::string>(), Catch::Contains(R"("seen":"Bearer {{env.UPTAKE_FLOW_SECRET}}")"));

  // 401 is what deny expects: ok, not an error.
  const auto& deny = summary["endpoints"]["deny"]["requests"];
  CHECK(deny["completed"].get<std::uint64_t>() > 0);
  CHECK(deny["ok"] == deny["completed"]);
  CHECK(deny["errors"] == 0);
  // Every status request carried a ticket captured by regex and a location captured from a
  // header, percent-encoded in the query.
  CHECK(server.status_requests() > 0);
  CHECK(server.malformed_status_requests() == 0);
  CHECK(summary["endpoints"]["status"]["requests"]["errors"] == 0);

  // No file of the results holds the secret, as written or escaped.
  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(results)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    const auto text = cli_test::read(entry.path());
    INFO(entry.path().string());
    CHECK(text.find("s3cr3t") == std::string::npos);
    CHECK(text.find("Zq9") == std::string::npos);
  }
  CHECK(files >= 3);
  CHECK(run.output.find("s3cr3t") == std::string::npos);
}

// Flows with checks, header and regex captures and an environment secret, run by the uptake
// command against a loopback server that answers with chosen heads and bodies: failed checks are
// counted and sampled, a negative path that expects 401 is ok, captured values feed later
// requests, and the secret reaches the target but no file of the results.
#include <catch2/catch.hpp>

#include <boost/asio.hpp>
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

namespace fs = std::filesystem;
namespace net = boost::asio;
using net::ip::tcp;

namespace {

const std::string kSecret = "s3cr3t-Zq9/x+y";

// One thread per connection, blocking: enough for a few hundred requests on loopback. Every
// fourth issuance answers without a credential and echoes the Authorization header it got, as a
// careless target might.
class FlowServer {
 public:
  FlowServer() : acceptor_(io_, {net::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { accept(); });
  }
  ~FlowServer() {
    stopping_ = true;
    boost::system::error_code ignored;
    tcp::socket wake(io_);
    wake.connect(acceptor_.local_endpoint(), ignored);
    thread_.join();
    for (auto& connection : connections_) connection.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }
  std::uint64_t authorized() const { return authorized_; }
  std::uint64_t status_requests() const { return status_requests_; }
  std::uint64_t malformed_status_requests() const { return malformed_status_requests_; }

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
      const std::string head(net::buffers_begin(buffer.data()), net::buffers_begin(buffer.data()) + static_cast<long>(head_size));
      buffer.consume(head_size);
      std::smatch match;
      std::size_t length = 0;
      if (std::regex_search(head, match, std::regex("\r\nContent-Length: ([0-9]+)\r\n", std::regex::icase))) length = std::stoul(match[1]);
      if (buffer.size() < length) net::read(socket, buffer, net::transfer_exactly(length - buffer.size()), ec);
      if (ec) return;
      buffer.consume(length);
      std::string authorization;
      if (std::regex_search(head, match, std::regex("\r\nAuthorization: ([^\r]*)\r\n"))) authorization = match[1];
      if (authorization == "Bearer " + kSecret) ++authorized_;
      const auto target = head.substr(head.find(' ') + 1, head.find(" HTTP/1.1") - head.find(' ') - 1);
      std::string status = "200 OK", headers, body = "{}";
      if (target == "/v1/issue") {
        const auto n = issued_++;
        status = "201 Created";
        if (n % 4 == 3) {
          body = R"({"state":"revoked","seen":")" + authorization + R"("})";
        } else {
          headers = "Location: /v1/items/it-" + std::to_string(n) + "\r\n";
          body = R"({"credential":"c)" + std::to_string(n) + R"(","state":"active","note":"ticket=T)" + std::to_string(n) + R"( issued"})";
        }
      } else if (target.starts_with("/v1/status/")) {
        // The ticket from the body's text and the location from the Location header, escaped.
        ++status_requests_;
        if (!std::regex_match(target, std::regex(R"(/v1/status/T[0-9]+\?from=%2Fv1%2Fitems%2Fit-[0-9]+)"))) {
          ++malformed_status_requests_;
          status = "404 Not Found";
        }
      } else if (target == "/v1/deny") {
        status = "401 Unauthorized";
        body = R"({"error":"unauthorized"})";
      } else {
        status = "404 Not Found";
      }
      const auto answer = "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\n" + headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      net::write(socket, net::buffer(answer), ec);
      if (ec) return;
    }
  }

  net::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::vector<std::thread> connections_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> issued_{0};
  std::atomic<std::uint64_t> authorized_{0};
  std::atomic<std::uint64_t> status_requests_{0};
  std::atomic<std::uint64_t> malformed_status_requests_{0};
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

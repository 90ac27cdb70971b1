// The reference service over real HTTP on loopback: behaviour, bad input, timeouts, restarts,
// and the synthetic queueing mode.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <random>
#include <thread>

#include <openssl/ssl.h>

#include "http_client.hpp"
#include "running_server.hpp"
#include "temporary_directory.hpp"

using namespace uptake;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST_CASE("issue, verify, tamper, revoke, expire") {
  test::TemporaryDirectory data("server-test-lifecycle");
  const auto& dir = data.path();
  test::RunningServer server(dir);
  test::Connection client(server.port());
  REQUIRE(client.connected());

  const auto issued = client.request("POST", "/v1/certificates", R"({"holder":"900101-1234567","type":"vaccination"})");
  REQUIRE(issued);
  CHECK(issued->status == 201);
  const auto credential = test::json_string(issued->body, "credential");
  const auto id = test::json_string(issued->body, "id");
  REQUIRE(std::count(credential.begin(), credential.end(), '.') == 2);
  CHECK_THAT(issued->headers, Catch::Contains("Location: /v1/certificates/" + id));

  auto verify = [&](const std::string& text) {
    const auto reply = client.request("POST", "/v1/verify", R"({"credential":")" + text + R"("})");
    REQUIRE(reply);
    CHECK(reply->status == 200);
    return reply->body;
  };
  CHECK_THAT(verify(credential), Catch::Contains(R"("reason":"valid","valid":true)"));

  // One character of the signature changed.
  auto tampered = credential;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  CHECK_THAT(verify(tampered), Catch::Contains(R"("reason":"bad_signature","valid":false)"));
  // The payload changed (another holder), signature kept.
  auto forged = credential;
  const auto first_dot = forged.find('.');
  forged[first_dot + 10] = forged[first_dot + 10] == 'a' ? 'b' : 'a';
  CHECK_THAT(verify(forged), Catch::Contains(R"("valid":false)"));
  CHECK_THAT(verify(credential.substr(0, credential.size() / 2)), Catch::Contains(R"("reason":"malformed","valid":false)"));

  const auto record = client.request("GET", "/v1/certificates/" + id);
  REQUIRE(record);
  CHECK(record->status == 200);
  CHECK_THAT(record->body, Catch::Contains(R"("holder":"900101-1234567")"));

  const auto revoked = client.request("POST", "/v1/certificates/" + id + "/revoke");
  REQUIRE(revoked);
  CHECK(revoked->status == 200);
  CHECK_THAT(verify(credential), Catch::Contains(R"("reason":"revoked","valid":false)"));
  const auto again = client.request("POST", "/v1/certificates/" + id + "/revoke");
  CHECK(again->status == 409);
  CHECK(client.request("POST", "/v1/certificates/0123456789abcdef/revoke")->status == 404);
  CHECK(client.request("GET", "/v1/certificates/0123456789abcdef")->status == 404);

  const auto short_lived = client.request("POST", "/v1/certificates", R"({"holder":"h","type":"t","valid_seconds":1})");
  REQUIRE(short_lived);
  REQUIRE(short_lived->status == 201);
  std::this_thread::sleep_for(2100ms);
  CHECK_THAT(verify(test::json_string(short_lived->body, "credential")), Catch::Contains(R"("reason":"expired","valid":false)"));

  const auto metrics = client.request("GET", "/metrics");
  REQUIRE(metrics);
  CHECK_THAT(metrics->body, Catch::Contains(R"(uptake_ecert_responses_total{endpoint="issue",code="201"} 2)"));
  CHECK_THAT(metrics->body, Catch::Contains("uptake_ecert_request_duration_seconds_bucket{endpoint=\"verify\",le=\"+Inf\"}"));
  CHECK_THAT(metrics->body, Catch::Contains("uptake_ecert_commit_batches_total"));
  CHECK(client.request("GET", "/healthz")->status == 200);
}

TEST_CASE("every class of bad input gets its status and a JSON error") {
  test::TemporaryDirectory data("server-test-bad-input");
  const auto& dir = data.path();
  test::RunningServer server(dir);
  struct Case {
    const char* what;
    std::string method, target, body;
    int status;
    const char* error;
  };
  const std::vector<Case> cases{
      {"malformed JSON", "POST", "/v1/certificates", "{\"holder\":", 400, "malformed_json"},
      {"not an object", "POST", "/v1/verify", "[1,2]", 400, "wrong_type"},
      {"missing field", "POST", "/v1/certificates", R"({"holder":"h"})", 400, "missing_field"},
      {"wrong type", "POST", "/v1/certificates", R"({"holder":12,"type":"t"})", 400, "wrong_type"},
      {"empty field", "POST", "/v1/verify", R"({"credential":""})", 400, "invalid_field"},
      {"bad validity", "POST", "/v1/certificates", R"({"holder":"h","type":"t","valid_seconds":-5})", 400, "invalid_field"},
      {"unknown path", "GET", "/v2/anything", "", 404, "not_found"},
      {"wrong method", "GET", "/v1/certificates", "", 405, "method_not_allowed"},
      {"wrong method on revoke", "GET", "/v1/certificates/abc/revoke", "", 405, "method_not_allowed"},
      {"body too large", "POST", "/v1/verify", std::string(70 * 1024, 'x'), 413, "body_too_large"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    test::Connection client(server.port());
    const auto reply = client.request(c.method, c.target, c.body);
    REQUIRE(reply);
    CHECK(reply->status == c.status);
    CHECK_THAT(reply->body, Catch::Contains(std::string(R"("error":")") + c.error + "\""));
  }
  {
    test::Connection client(server.port());
    const auto reply = client.request("GET", "/healthz", "", "X-Padding: " + std::string(9000, 'p') + "\r\n");
    REQUIRE(reply);
    CHECK(reply->status == 431);
  }
  {
    test::Connection client(server.port());
    REQUIRE(client.send_raw("HELLO THERE\r\n\r\n"));
    const auto reply = client.read_reply();
    REQUIRE(reply);
    CHECK(reply->status == 400);
    CHECK_THAT(reply->body, Catch::Contains("bad_request"));
  }
  // The service is still well after all of it.
  test::Connection client(server.port());
  CHECK(client.request("GET", "/healthz")->status == 200);
}

TEST_CASE("slow or stuck clients time out; others are served") {
  test::TemporaryDirectory data("server-test-timeouts");
  const auto& dir = data.path();
  ecert::ServerOptions options;
  options.request_timeout = 1s;
  options.idle_timeout = 1s;
  test::RunningServer server(dir, options);
  test::Connection stuck(server.port());
  REQUIRE(stuck.send_raw("POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"cred"));
  test::Connection idle(server.port());
  test::Connection other(server.port());
  CHECK(other.request("GET", "/healthz")->status == 200);
  CHECK(stuck.closed_by_peer(4s));
  CHECK(idle.closed_by_peer(4s));
}

TEST_CASE("keep-alive serves many requests on one connection") {
  test::TemporaryDirectory data("server-test-keepalive");
  const auto& dir = data.path();
  test::RunningServer server(dir);
  test::Connection client(server.port());
  for (int i = 0; i < 50; ++i) REQUIRE(client.request("GET", "/healthz")->status == 200);
}

TEST_CASE("a restart with the same data keeps issuances and verifies old credentials") {
  test::TemporaryDirectory data("server-test-restart");
  const auto& dir = data.path();
  std::vector<std::pair<std::string, std::string>> issued;  // id, credential
  {
    test::RunningServer server(dir);
    test::Connection client(server.port());
    for (int i = 0; i < 20; ++i) {
      const auto reply = client.request("POST", "/v1/certificates", R"({"holder":"holder-)" + std::to_string(i) + R"(","type":"resident-registration"})");
      REQUIRE(reply->status == 201);
      issued.emplace_back(test::json_string(reply->body, "id"), test::json_string(reply->body, "credential"));
    }
  }
  test::RunningServer server(dir);
  test::Connection client(server.port());
  for (const auto& [id, credential] : issued) {
    const auto record = client.request("GET", "/v1/certificates/" + id);
    REQUIRE(record->status == 200);
    CHECK(test::json_string(record->body, "credential") == credential);
    CHECK_THAT(client.request("POST", "/v1/verify", R"({"credential":")" + credential + R"("})")->body, Catch::Contains(R"("valid":true)"));
  }
}

TEST_CASE("synthetic mode: at low load, response times follow the configured service time") {
  test::TemporaryDirectory data("server-test-synthetic");
  const auto& dir = data.path();
  std::string problem;
  const auto constant = ecert::ServiceTimeDistribution::parse("const:5ms", problem);
  const auto exponential = ecert::ServiceTimeDistribution::parse("exp:4ms", problem);
  REQUIRE(constant);
  REQUIRE(exponential);
  test::RunningServer server(dir, {}, {{"verify", *constant}, {"issue", *exponential}}, 2);
  test::Connection client(server.port());
  auto measure = [&](const char* target, int count) {
    std::vector<double> seconds;
    for (int i = 0; i < count; ++i) {
      const auto start = std::chrono::steady_clock::now();
      const auto reply = client.request("POST", target, R"({"credential":"x","holder":"h","type":"t"})");
      REQUIRE(reply);
      REQUIRE(reply->status / 100 == 2);
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      // The service's own time, for clients to tell it from the network's: never more than
      // the whole round trip.
      const auto timing = reply->headers.find("Server-Timing: app;dur=");
      REQUIRE(timing != std::string::npos);
      CHECK(std::stod(reply->headers.substr(timing + 23)) / 1e3 <= seconds.back());
    }
    std::sort(seconds.begin(), seconds.end());
    return seconds;
  };
  // Constant 5 ms: never faster, and the median close to it (loopback and timers add a little).
  const auto constant_times = measure("/v1/verify", 60);
  const auto said = client.request("POST", "/v1/verify", R"({"credential":"x"})");
  REQUIRE(said);
  const auto at = said->headers.find("Server-Timing: app;dur=");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(said->headers.substr(at + 23)) >= 5.0);  // the 5 ms wait is the service's
  CHECK(constant_times.front() >= 0.005);
  CHECK(constant_times[constant_times.size() / 2] < 0.005 + 0.003);
  // Exponential, mean 4 ms: the sample mean of 300 has a standard error of 0.23 ms; the
  // median of an exponential is ln 2 times its mean.
  const auto exponential_times = measure("/v1/certificates", 300);
  double mean = 0;
  for (double s : exponential_times) mean += s / static_cast<double>(exponential_times.size());
  CHECK(mean > 0.004 - 0.0008);
  CHECK(mean < 0.004 + 0.0015);
  const double median = exponential_times[exponential_times.size() / 2];
  CHECK(median > 0.004 * std::log(2.0) * 0.75);
  CHECK(median < 0.004 * std::log(2.0) * 1.35 + 0.0005);
}

TEST_CASE("service-time distributions parse and reject bad text") {
  std::string problem;
  const auto lognormal = ecert::ServiceTimeDistribution::parse("lognormal:2ms,1ms", problem);
  REQUIRE(lognormal);
  CHECK(lognormal->mean_seconds == Approx(0.002));
  CHECK(lognormal->sd_seconds == Approx(0.001));
  CHECK_FALSE(ecert::ServiceTimeDistribution::parse("gamma:2ms", problem));
  CHECK_THAT(problem, Catch::Contains("names no distribution"));
  CHECK_FALSE(ecert::ServiceTimeDistribution::parse("exp:fast", problem));
  CHECK_FALSE(ecert::ServiceTimeDistribution::parse("lognormal:2ms", problem));
  CHECK_THAT(problem, Catch::Contains("standard deviation"));
  // 1e308 s overflowed the conversion to nanoseconds and answered at once: beyond an hour is refused.
  CHECK_FALSE(ecert::ServiceTimeDistribution::parse("const:1e308s", problem));  // no exponents in durations
  CHECK_FALSE(ecert::ServiceTimeDistribution::parse("const:99999999999999999999s", problem));
  CHECK_THAT(problem, Catch::Contains("at most 1h"));
  CHECK_FALSE(ecert::ServiceTimeDistribution::parse("lognormal:2ms,2h", problem));
  CHECK_THAT(problem, Catch::Contains("at most 1h"));
  CHECK(ecert::ServiceTimeDistribution::parse("const:1h", problem));
}

TEST_CASE("TLS with a generated self-signed pair; a failed handshake ends only its connection") {
  test::TemporaryDirectory data("server-test-tls");
  const auto& dir = data.path();
  ecert::ServerOptions options;
  options.tls = true;
  test::RunningServer server(dir, options);
  {
    // Plain HTTP to the TLS port: the handshake fails and that connection closes.
    test::Connection plain(server.port());
    REQUIRE(plain.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(plain.closed_by_peer(std::chrono::seconds(4)));
  }
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  REQUIRE(context != nullptr);
  SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);  // self-signed: nothing to verify against
  test::Connection socket(server.port());
  REQUIRE(socket.connected());
  SSL* tls = SSL_new(context);
  SSL_set_fd(tls, socket.native_handle());
  REQUIRE(SSL_connect(tls) == 1);
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  REQUIRE(SSL_write(tls, request.data(), static_cast<int>(request.size())) > 0);
  std::string reply;
  char buffer[4096];
  for (int n; (n = SSL_read(tls, buffer, sizeof buffer)) > 0;) reply.append(buffer, static_cast<std::size_t>(n));
  CHECK_THAT(reply, Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(reply, Catch::Contains(R"({"status":"ok"})"));
  SSL_free(tls);
  SSL_CTX_free(context);
}

// The reference service against hostile clients: request smuggling, request parts without end,
// slow clients, descriptor exhaustion; and the corners of HTTP/1.1 that real clients rely on.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "ecert/service_process.hpp"
#include "http_client.hpp"
#include "running_server.hpp"
#include "temporary_directory.hpp"
#include "uptake/ecert/service.hpp"

using namespace uptake;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// The sanitizers' runtime opens a pipe to check that memory is readable (for its vptr check,
// before a report): with every descriptor spent it cannot, and reports errors that are not there.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
constexpr const char* kSanitizedSkip = "skipped under the sanitizers: spending every descriptor makes them report false errors";

// Sends `head`, then `piece` over and over until `total` bytes went out or the service stopped
// taking them (it refused the request and closed, or stopped reading: each send gives up
// after 2 s). Returns the bytes sent.
std::size_t flood(test::Connection& client, const std::string& head, const std::string& piece, std::size_t total) {
  const timeval patience{2, 0};
  ::setsockopt(client.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &patience, sizeof patience);
  if (!client.send_raw(head)) return 0;
  std::string block;
  while (block.size() < (1u << 20)) block += piece;
  std::size_t sent = head.size();
  while (sent < total && client.send_raw(block)) sent += block.size();
  return sent;
}

std::string verify_body() { return R"({"credential":"x"})"; }

std::string hex(std::size_t value) {
  char text[32];
  std::snprintf(text, sizeof text, "%zx", value);
  return text;
}

// Whether the service ever answered an issuance with 201, from its own metrics.
bool issued_anything(std::uint16_t port) {
  test::Connection client(port);
  const auto metrics = client.request("GET", "/metrics");
  REQUIRE(metrics);
  return metrics->body.find(R"(endpoint="issue",code="201")") != std::string::npos;
}

}  // namespace

TEST_CASE("a body that could run as the next request is refused with the connection (RFC 9112 6.3)") {
  test::TemporaryDirectory data("hostile-smuggling");
  test::RunningServer server(data.path());
  const std::string issue_body = R"({"holder":"h","type":"t"})";
  const std::string hidden = "POST /v1/certificates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(issue_body.size()) + "\r\n\r\n" + issue_body;
  struct Case {
    const char* what;
    std::string head;
    int status;
  };
  const std::vector<Case> cases{
      {"a final coding other than chunked", "POST /v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400},
      {"a coding that only resembles chunked", "POST /v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", 400},
      {"identity with a length", "POST /v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Length: 0\r\n\r\n", 400},
      {"chunked and a length", "POST /v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
      {"a length and chunked", "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"chunked in HTTP/1.0", "POST /v1/verify HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"a coding the service does not know", "POST /v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    test::Connection client(server.port());
    REQUIRE(client.send_raw(c.head + hidden));
    const auto reply = client.read_reply(5s);
    REQUIRE(reply);
    CHECK(reply->status == c.status);
    CHECK_THAT(reply->headers, Catch::Contains("Connection: close"));
    // Nothing after the refused request is read as a request: the connection ends.
    CHECK(!client.read_reply(500ms));
    CHECK(client.closed_by_peer(2s));
  }
  CHECK(!issued_anything(server.port()));
  // A well-formed chunked request is still served.
  test::Connection client(server.port());
  const auto body = verify_body();
  REQUIRE(client.send_raw("POST /v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + hex(body.size()) + "\r\n" + body +
                          "\r\n0\r\n\r\n"));
  const auto reply = client.read_reply(5s);
  REQUIRE(reply);
  CHECK(reply->status == 200);
}

TEST_CASE("a request head, chunk line or trailer without end is refused with memory bounded") {
  test::TemporaryDirectory data("hostile-memory");
  test::ServiceProcess service(data.path());
  const auto at_start = service.peak_memory_bytes();
  const std::string chunked = "POST /v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  struct Case {
    const char* what;
    std::string head, piece;
  };
  const std::vector<Case> cases{
      {"an endless chunk extension", chunked + "1;", "x"},
      {"endless trailer lines", chunked + "0\r\n", "X-Trailer: y\r\n"},
      {"an endless chunk size", chunked, "0"},
      {"an endless header line", "GET /healthz HTTP/1.1\r\nX-Long: ", "x"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    test::Connection client(service.port());
    // First a little more than any limit, then read the refusal...
    flood(client, c.head, c.piece, 64 * 1024);
    const auto reply = client.read_reply(5s);
    REQUIRE(reply);
    CHECK((reply->status == 431 || reply->status == 400));
    // ...then what a hostile client would go on sending: 200 MB.
    flood(client, "", c.piece, 200u << 20);
  }
  // Measured from the service's own start, which a sanitizer's runtime makes several times larger.
  const auto peak = service.peak_memory_bytes();
  INFO("peak resident memory of the service: " << peak / (1 << 20) << " MiB, " << at_start / (1 << 20) << " MiB at its start");
  CHECK(peak - at_start < 64u << 20);
  test::Connection client(service.port());
  const auto health = client.request("GET", "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
}

TEST_CASE("a slow client has the request deadline from its first byte, not the idle timeout") {
  test::TemporaryDirectory data("hostile-slow");
  ecert::ServerOptions options;
  options.request_timeout = 1s;
  options.idle_timeout = 6s;
  test::RunningServer server(data.path(), options);
  test::Connection slow(server.port());
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  const auto start = std::chrono::steady_clock::now();
  // One byte every 200 ms, for at most 5 s: the service must close within about 1 s.
  bool closed = false;
  for (std::size_t i = 0; i < 25 && !closed; ++i) {
    if (!slow.send_raw(std::string(1, i < head.size() ? head[i] : 'x'))) break;
    closed = slow.closed_by_peer(200ms);
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("closed after " << took << " s");
  CHECK(closed);
  CHECK(took < 3.5);
  // An idle keep-alive connection still has its longer idle timeout.
  test::Connection idle(server.port());
  REQUIRE(idle.request("GET", "/healthz")->status == 200);
  std::this_thread::sleep_for(1500ms);
  const auto again = idle.request("GET", "/healthz");
  REQUIRE(again);
  CHECK(again->status == 200);
}

TEST_CASE("out of descriptors, fresh clients are served: the longest waiting connection makes room") {
  if (kSanitized) {
    WARN(kSanitizedSkip);
    return;
  }
  test::TemporaryDirectory data("hostile-descriptors");
  test::ServiceProcess service(data.path(), 64);
  // More slow clients than descriptors, each part-way through a request head.
  std::vector<std::unique_ptr<test::Connection>> slow;
  for (int i = 0; i < 100; ++i) {
    slow.push_back(std::make_unique<test::Connection>(service.port()));
    slow.back()->send_raw("GET /healthz HTTP/1.1\r\n");
  }
  std::this_thread::sleep_for(300ms);
  // The request deadline is 10 s: a fresh client must not wait for it.
  test::Connection fresh(service.port());
  REQUIRE(fresh.connected());
  const auto start = std::chrono::steady_clock::now();
  const auto reply = fresh.request("GET", "/healthz");
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("answered after " << took << " s");
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(took < 5);
  CHECK(service.terminate() == 0);
}

TEST_CASE("a read the store cannot serve for want of descriptors is a 503, and the service lives") {
  if (kSanitized) {
    WARN(kSanitizedSkip);
    return;
  }
  test::TemporaryDirectory data("hostile-store-descriptors");
  // In a child process, since it spends every descriptor it has; it writes the two statuses.
  const auto statuses_file = data.path() / "statuses";
  const auto outcome = test::run_in_child(
      [&] {
        ecert::ServiceConfig config;
        config.data_dir = data.path() / "store";
        ecert::Service service(config, [](std::chrono::nanoseconds, std::function<void()> task) { task(); });
        // The answer to an issuance comes from the store's commit thread.
        std::promise<std::string> issued;
        service.handle({"POST", "/v1/certificates", R"({"holder":"h","type":"t"})"}, [&](ecert::HttpResponse response) {
          const auto at = response.body.find(R"("credential":")");
          issued.set_value(at == std::string::npos ? "" : response.body.substr(at + 14, response.body.find('"', at + 14) - at - 14));
        });
        const auto credential = issued.get_future().get();
        const int out = ::open(statuses_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const rlimit limit{64, 64};
        ::setrlimit(RLIMIT_NOFILE, &limit);
        while (::open("/dev/null", O_RDONLY) >= 0) {
        }
        std::string statuses;
        service.handle({"GET", "/v1/certificates/0123456789abcdef", ""},
                       [&](ecert::HttpResponse response) { statuses += std::to_string(response.status) + " "; });
        service.handle({"POST", "/v1/verify", R"({"credential":")" + credential + R"("})"},
                       [&](ecert::HttpResponse response) { statuses += std::to_string(response.status) + " "; });
        return ::write(out, statuses.data(), statuses.size()) == static_cast<ssize_t>(statuses.size()) ? 0 : 4;
      },
      30s);
  INFO("the child " << (outcome.signal ? "died of signal " + std::to_string(outcome.signal) : "exited with " + std::to_string(outcome.exit_code)));
  CHECK(outcome.exit_code == 0);
  std::ifstream written(statuses_file);
  const std::string statuses((std::istreambuf_iterator<char>(written)), {});
  CHECK(statuses == "503 503 ");
}

TEST_CASE("HTTP/1.1 corners: absolute-form targets, Host, 100-continue") {
  test::TemporaryDirectory data("hostile-corners");
  test::RunningServer server(data.path());
  {
    INFO("an absolute-form target (RFC 9112 3.2.2)");
    test::Connection client(server.port());
    REQUIRE(client.send_raw("GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    const auto reply = client.read_reply(5s);
    REQUIRE(reply);
    CHECK(reply->status == 200);
    REQUIRE(client.send_raw("GET HTTP://127.0.0.1:8080 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    const auto root = client.read_reply(5s);
    REQUIRE(root);
    CHECK(root->status == 404);
    CHECK_THAT(root->body, Catch::Contains("no resource at '/'"));
  }
  {
    INFO("HTTP/1.1 without Host, or with two");
    test::Connection client(server.port());
    REQUIRE(client.send_raw("GET /healthz HTTP/1.1\r\n\r\n"));
    const auto reply = client.read_reply(5s);
    REQUIRE(reply);
    CHECK(reply->status == 400);
    CHECK_THAT(reply->body, Catch::Contains("Host"));
    test::Connection twice(server.port());
    REQUIRE(twice.send_raw("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"));
    const auto second = twice.read_reply(5s);
    REQUIRE(second);
    CHECK(second->status == 400);
    test::Connection old(server.port());
    REQUIRE(old.send_raw("GET /healthz HTTP/1.0\r\n\r\n"));
    const auto without = old.read_reply(5s);
    REQUIRE(without);
    CHECK(without->status == 200);  // HTTP/1.0 has no Host requirement
  }
  {
    INFO("Expect: 100-continue gets 100 Continue before the body is sent");
    test::Connection client(server.port());
    const auto body = verify_body();
    REQUIRE(client.send_raw("POST /v1/verify HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: application/json\r\n"
                            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
    const auto interim = client.read_reply(2s);
    REQUIRE(interim);
    CHECK(interim->status == 100);
    REQUIRE(client.send_raw(body));
    const auto reply = client.read_reply(5s);
    REQUIRE(reply);
    CHECK(reply->status == 200);
  }
}

TEST_CASE("the holder's length is counted in characters, as stated") {
  test::TemporaryDirectory data("hostile-holder");
  test::RunningServer server(data.path());
  std::string holder;
  for (int i = 0; i < 128; ++i) holder += "\xed\x99\x8d";  // U+D64D, three bytes in UTF-8
  test::Connection client(server.port());
  const auto accepted = client.request("POST", "/v1/certificates", R"({"holder":")" + holder + R"(","type":"t"})");
  REQUIRE(accepted);
  CHECK(accepted->status == 201);
  const auto refused = client.request("POST", "/v1/certificates", R"({"holder":")" + holder + R"(x","type":"t"})");
  REQUIRE(refused);
  CHECK(refused->status == 400);
  CHECK_THAT(refused->body, Catch::Contains("1 to 128 characters"));
}

TEST_CASE("a data directory the service cannot write to is named in the message") {
  test::TemporaryDirectory data("hostile-read-only");
  const fs::path store = data.path() / "store";
  {
    test::ServiceProcess first(store);  // creates the key and the database
    CHECK(first.terminate() == 0);
  }
  // The files stay writable: it is the directory (where SQLite makes its journal) that is not.
  // Root ignores permissions, so the service runs as nobody when the test runs as root.
  const uid_t user = ::geteuid() == 0 ? 65534 : ::geteuid();
  for (const auto& entry : fs::directory_iterator(store)) REQUIRE(::chown(entry.path().c_str(), user, static_cast<gid_t>(-1)) == 0);
  for (const auto& entry : fs::directory_iterator(store)) {
    if (entry.path().filename().string().find("-wal") != std::string::npos || entry.path().filename().string().find("-shm") != std::string::npos) {
      fs::remove(entry.path());
    }
  }
  REQUIRE(::chmod(store.c_str(), 0555) == 0);
  const auto output = data.path() / "output";
  const auto outcome = test::run_in_child(
      [&] {
        const int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(out, STDERR_FILENO);
        if (::geteuid() == 0 && ::setuid(user) != 0) return 126;
        const std::string binary = std::string(UPTAKE_BINARY_DIR) + "/cli/uptake";
        ::execl(binary.c_str(), binary.c_str(), "serve", "--listen", "127.0.0.1:0", "--data", store.c_str(), nullptr);
        return 127;
      },
      30s);
  std::ifstream written(output);
  const std::string message((std::istreambuf_iterator<char>(written)), {});
  ::chmod(store.c_str(), 0755);
  INFO(message);
  CHECK(outcome.exit_code == 2);
  CHECK_THAT(message, Catch::StartsWith("error: " + store.string() + ": "));
  CHECK_THAT(message, Catch::Contains("not writable"));
}

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

#include "ecert/service_process.hpp"
#include "http_client.hpp"
#include "running_server.hpp"
#include "temporary_directory.hpp"
#include "uptake/ecert/service.hpp"

using namespace uptake;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

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

TEST_CASE("a read the store cannot serve for want of descriptors is a 503, and the service lives") {
  test::TemporaryDirectory data("hostile-store-descriptors");
  // In a child process, since it spends every descriptor it has.
  int answer[2];
  REQUIRE(::pipe(answer) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(answer[0]);
    // Whatever escapes ends the child here, not in this test's runner.
    try {
      ecert::ServiceConfig config;
      config.data_dir = data.path();
      ecert::Service service(config, [](std::chrono::nanoseconds, std::function<void()> task) { task(); });
      // The answer to an issuance comes from the store's commit thread.
      std::promise<std::string> issued;
      service.handle({"POST", "/v1/certificates", R"({"holder":"h","type":"t"})"}, [&](ecert::HttpResponse response) {
        const auto at = response.body.find(R"("credential":")");
        issued.set_value(at == std::string::npos ? "" : response.body.substr(at + 14, response.body.find('"', at + 14) - at - 14));
      });
      const auto credential = issued.get_future().get();
      const rlimit limit{64, 64};
      ::setrlimit(RLIMIT_NOFILE, &limit);
      while (::open("/dev/null", O_RDONLY) >= 0) {
      }
      std::string statuses;
      service.handle({"GET", "/v1/certificates/0123456789abcdef", ""},
                     [&](ecert::HttpResponse response) { statuses += std::to_string(response.status) + " "; });
      service.handle({"POST", "/v1/verify", R"({"credential":")" + credential + R"("})"},
                     [&](ecert::HttpResponse response) { statuses += std::to_string(response.status) + " "; });
      ::write(answer[1], statuses.data(), statuses.size());
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(0);
  }
  ::close(answer[1]);
  std::string statuses;
  char buffer[64];
  for (ssize_t n; (n = ::read(answer[0], buffer, sizeof buffer)) > 0;) statuses.append(buffer, static_cast<std::size_t>(n));
  ::close(answer[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  INFO("the child " << (WIFSIGNALED(status) ? "died of signal " + std::to_string(WTERMSIG(status)) : "exited with " + std::to_string(WEXITSTATUS(status))));
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  CHECK(statuses == "503 503 ");
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
  int err[2];
  REQUIRE(::pipe(err) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(err[1], STDERR_FILENO);
    ::close(err[0]);
    if (::geteuid() == 0 && ::setuid(user) != 0) ::_exit(126);
    const std::string binary = std::string(UPTAKE_BINARY_DIR) + "/cli/uptake";
    ::execl(binary.c_str(), binary.c_str(), "serve", "--listen", "127.0.0.1:0", "--data", store.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(err[1]);
  std::string message;
  char buffer[512];
  for (ssize_t n; (n = ::read(err[0], buffer, sizeof buffer)) > 0;) message.append(buffer, static_cast<std::size_t>(n));
  ::close(err[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::chmod(store.c_str(), 0755);
  INFO(message);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 2);
  CHECK_THAT(message, Catch::StartsWith("error: " + store.string() + ": "));
  CHECK_THAT(message, Catch::Contains("not writable"));
}

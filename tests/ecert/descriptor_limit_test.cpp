// The service out of file descriptors: with its limit lowered and more clients connected than
// it can accept, it must neither crash nor spin on the listener that stays readable (the
// connections wait in the backlog), and must serve again once clients go away.
#include <catch2/catch.hpp>

#include <fstream>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "ecert/service_process.hpp"
#include "http_client.hpp"
#include "temporary_directory.hpp"

using namespace uptake;
using namespace std::chrono_literals;

namespace {

// User plus system CPU seconds of a process so far, from /proc/PID/stat.
double cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  std::istringstream fields(text.substr(text.rfind(')') + 2));  // past "pid (name) "
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
    if (i == 15) break;
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

TEST_CASE("out of descriptors, the service waits instead of spinning, and serves again after") {
  test::TemporaryDirectory data("descriptor-limit");
  // 64 descriptors: the store, the key, the event loop and a few dozen sessions.
  test::ServiceProcess service(data.path(), 64);
  {
    test::Connection probe(service.port());
    REQUIRE(probe.connected());
    const auto health = probe.request("GET", "/healthz");
    REQUIRE(health);
    CHECK(health->status == 200);
  }

  // Twice as many clients as it has descriptors: the kernel completes their handshakes into the
  // backlog whether or not the service can accept them.
  std::vector<std::unique_ptr<test::Connection>> clients;
  for (int i = 0; i < 128; ++i) clients.push_back(std::make_unique<test::Connection>(service.port()));
  std::this_thread::sleep_for(300ms);
  const double before = cpu_seconds(service.pid());
  std::this_thread::sleep_for(1500ms);
  const double busy = cpu_seconds(service.pid()) - before;
  INFO("the service used " << busy << " s of CPU in 1.5 s while out of descriptors");
  CHECK(busy < 0.5);  // a spinning accept loop burns the whole 1.5 s

  clients.clear();  // the service's sessions see the closes and free their descriptors
  std::optional<test::Reply> answer;
  for (int attempt = 0; attempt < 50 && !answer; ++attempt) {
    test::Connection again(service.port());
    if (again.connected()) answer = again.request("GET", "/healthz");
    if (!answer) std::this_thread::sleep_for(100ms);
  }
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK(service.terminate() == 0);  // and it still shuts down cleanly
}

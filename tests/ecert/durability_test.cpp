// kill -9 during a burst of concurrent issuances loses none that were acknowledged: the test
// records every id the service answered 201 for, kills the process without warning, restarts
// it on the same data, and finds each of them, with a credential that still verifies.
//
// Three cycles by default; UPTAKE_DURABILITY_CYCLES=N runs N (at most 1000) for a longer soak
// (tests/soak/durability). Kill points are drawn from a fixed seed (UPTAKE_DURABILITY_SEED).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "ecert/service_process.hpp"
#include "http_client.hpp"
#include "temporary_directory.hpp"

using namespace uptake;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using test::ServiceProcess;

TEST_CASE("kill -9 during concurrent issuance loses no acknowledged certificate") {
  test::TemporaryDirectory data("durability-test");
  const auto& dir = data.path();
  std::vector<std::pair<std::string, std::string>> acknowledged;  // id, credential
  std::size_t attempted_total = 0;
  const auto from_environment = [](const char* name, long fallback, long low, long high) {
    const char* text = std::getenv(name);
    return text ? std::clamp(std::strtol(text, nullptr, 10), low, high) : fallback;
  };
  const int cycles = static_cast<int>(from_environment("UPTAKE_DURABILITY_CYCLES", 3, 1, 1000));
  std::mt19937 random(static_cast<std::uint32_t>(from_environment("UPTAKE_DURABILITY_SEED", 7, 0, 1L << 30)));
  // Anywhere from just after start-up (the store barely opened) to well into a sustained run.
  std::uniform_int_distribution<int> kill_after_ms(100, 2500);
  for (int cycle = 0; cycle < cycles; ++cycle) {
    ServiceProcess service(dir);
    std::mutex mutex;
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> attempted{0};
    std::vector<std::thread> clients;
    for (int client_index = 0; client_index < 8; ++client_index) {
      clients.emplace_back([&, client_index] {
        test::Connection connection(service.port());
        // Bounded: at most 5000 requests per client, and the kill ends it well before.
        for (int i = 0; i < 5000 && !stop; ++i) {
          ++attempted;
          const auto reply = connection.request("POST", "/v1/certificates",
                                                R"({"holder":"c)" + std::to_string(client_index) + "-" + std::to_string(i) + R"(","type":"vaccination"})");
          if (!reply) return;  // the service died mid-request: not acknowledged
          if (reply->status != 201) continue;
          std::lock_guard lock(mutex);
          acknowledged.emplace_back(test::json_string(reply->body, "id"), test::json_string(reply->body, "credential"));
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms(random)));
    service.kill_hard();
    stop = true;
    for (auto& client : clients) client.join();
    attempted_total += attempted;
  }
  INFO(acknowledged.size() << " acknowledged of " << attempted_total << " attempted over " << cycles << " kill -9 cycles");
  REQUIRE(acknowledged.size() > 100);

  ServiceProcess service(dir);
  test::Connection client(service.port());
  std::size_t missing = 0, invalid = 0;
  for (const auto& [id, credential] : acknowledged) {
    const auto record = client.request("GET", "/v1/certificates/" + id);
    REQUIRE(record);
    if (record->status != 200) {
      ++missing;
      continue;
    }
    const auto verdict = client.request("POST", "/v1/verify", R"({"credential":")" + credential + R"("})");
    if (!verdict || verdict->body.find(R"("valid":true)") == std::string::npos) ++invalid;
  }
  std::cout << "durability: " << cycles << " kill -9 cycles, " << attempted_total << " issuances attempted, " << acknowledged.size()
            << " acknowledged, " << missing << " missing after restart, " << invalid << " no longer verifying\n";
  CHECK(missing == 0);
  CHECK(invalid == 0);
  // A graceful stop exits 0.
  CHECK(service.terminate() == 0);
}

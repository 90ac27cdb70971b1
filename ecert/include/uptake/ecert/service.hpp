#pragma once
// The reference e-certificate service's behaviour, apart from any transport: routing, request
// validation, issuance (signed and durable before the answer), verification, revocation,
// metrics, and the synthetic queueing mode. The HTTP server (server.hpp) feeds it requests and
// writes back what it answers; tests drive it directly.
//
// Thread-safety: handle() and metrics_text() may be called from any thread at once.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptake/base/duration_distribution.hpp"

namespace uptake::ecert {

struct HttpRequest {
  std::string method;   // "GET", "POST", ...
  std::string target;   // path and query, as received
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Location, Allow)
};

// Called exactly once per request, from any thread (a commit thread, a timer thread): the
// server moves the response back onto its connection's own thread.
using Respond = std::function<void(HttpResponse)>;

// Runs `task` once after `delay`; the synthetic mode's wait. Provided by the server (an Asio
// timer) or by tests (simulated time).
using ScheduleAfter = std::function<void(std::chrono::nanoseconds delay, std::function<void()> task)>;

// A service-time distribution of the synthetic mode: "exp:2ms", "const:1ms", "lognormal:2ms,1ms"
// (mean and standard deviation of the service time itself).
using ServiceTimeDistribution = DurationDistribution;

struct SyntheticEndpoint {
  std::string endpoint;  // "issue", "verify", "get", "revoke"
  ServiceTimeDistribution distribution;
};

struct ServiceConfig {
  std::filesystem::path data_dir;                 // signing key and certificate store
  std::vector<SyntheticEndpoint> synthetic;       // endpoints whose work is replaced by a wait
  unsigned workers = 1;                           // servers per synthetic endpoint (the c of M/G/c)
  std::chrono::seconds default_validity{std::chrono::hours{24 * 365}};
  std::function<std::int64_t()> now_unix_seconds; // empty: the system clock
  std::uint64_t seed = 0;                         // synthetic draws; 0: from the system
};

// The endpoints, as metrics and synthetic mode name them.
inline constexpr const char* kEndpointNames[] = {"issue", "verify", "get", "revoke", "healthz", "metrics", "other"};

class Service {
 public:
  // Opens (or creates) the key and store under config.data_dir. Throws InputError when the
  // data directory cannot be used.
  Service(ServiceConfig config, ScheduleAfter schedule_after);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  void handle(HttpRequest request, Respond respond);

  // An answer for a request the server refused before it reached handle() (oversize, bad
  // framing), counted in the metrics like any other.
  static HttpResponse error_response(int status, std::string_view code, std::string_view message);
  void count_refused(int status);

  std::string metrics_text() const;
  std::int64_t in_flight() const { return in_flight_.load(); }

  // Finishes in-flight work (queued synthetic requests, pending commits) and closes the store.
  void close();

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::atomic<std::int64_t> in_flight_{0};
};

}  // namespace uptake::ecert

#pragma once
// The endpoint live metrics are scraped from (--metrics-listen HOST:PORT): GET /metrics answers
// the latest figures in the Prometheus text format, or OpenMetrics when the scraper's Accept
// asks for it. One thread of its own, one scrape at a time, each bounded in size and time: a
// scraper cannot slow the run it watches.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "uptake/loadgen/live_metrics.hpp"

namespace uptake::loadgen {

struct ListenAddress {
  std::string host;  // an address (IPv6 without brackets)
  std::uint16_t port = 0;
};

// "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464" (every interface, as a pod's scraper needs), or
// ":9464" (the same). Throws InputError naming `field` when it is none of these.
ListenAddress parse_listen_address(std::string_view text, const char* field);

class MetricsServer {
 public:
  // Listens at once (throws InputError when the address cannot be listened on), and serves
  // until destroyed.
  explicit MetricsServer(const ListenAddress& address);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The port it listens on (the one asked for, or the one the system chose for port 0).
  std::uint16_t port() const;
  // What the next scrapes answer.
  void update(const LiveFigures& figures);
  void update(const LiveContext& context);

 private:
  struct State;
  void serve();
  std::unique_ptr<State> state_;
  std::mutex mutex_;
  LiveFigures figures_;
  LiveContext context_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace uptake::loadgen
